/**
 * The page's rendering: the legend, and a card per metric key whose chart exists only while the card
 * is on screen (1,000 keys stay fast); a zoom asks for its range at full detail.
 */
import { el } from '../common/dom';
import { type ChartInput, ChartView, RebuildNeeded } from './chart';
import { stepRange, xValues } from './data';
import { renderLegend } from './legend';
import { plotWidth, requestKey } from './loading';
import { chartNotice } from './notice';
import { chartPng } from './png';
import { answered, type Card, cards, model, pointsOf, shownKeys, vscode, zooms } from './store';

const root = document.getElementById('root')!;
const hint = el(
  'div',
  'muted hint',
  'Drag across a chart to zoom (loads full detail) · Shift+drag to pan · double-click to reset.',
);
const legend = el('div', 'legend');
const notes = el('div', 'notes');
export const grid = el('div', 'grid');
const empty = el('div', 'empty');
let summary: HTMLElement | undefined;

/** Lays the page out: the toolbar (with its `summary` line), hint, legend, notes, grid. */
export function mountPage(toolbar: HTMLElement, toolbarSummary: HTMLElement): void {
  summary = toolbarSummary;
  root.replaceChildren(toolbar, hint, legend, notes, empty, grid);
}

/** What the page says before the host's first message. */
export function showLoading(): void {
  renderEmptyState(0);
  empty.textContent = 'Loading…';
}

export function requestZoom(key: string, xMin: number, xMax: number): void {
  const points = pointsOf(key);
  const range = stepRange(
    model.runs
      .filter((r) => points.has(r.id))
      .map((r) => ({ points: points.get(r.id)!, x: xValues(points.get(r.id)!, model.state.xMode, r.startedAt) })),
    xMin,
    xMax,
  );
  if (!range) {
    return;
  }
  const requestId = model.nextRequestId++;
  zooms.set(key, { ...range, requestId, points: zooms.get(key)?.points });
  const card = cards.get(key);
  vscode.postMessage({
    type: 'requestRange',
    key,
    runIds: model.runs.filter((r) => r.status !== 'deleted' && points.has(r.id)).map((r) => r.id),
    from: range.from,
    to: range.to,
    pixels: card?.plot.clientWidth || plotWidth(),
    requestId,
  });
  updateNotice(key);
}

export function resetZoom(key: string): void {
  zooms.delete(key);
  renderCard(key, true);
}

function chartInput(key: string): ChartInput {
  return { key, runs: model.runs, points: pointsOf(key), theme: model.theme, ...model.state };
}

let drawnTimer: ReturnType<typeof setTimeout> | undefined;
let painted = false;

/** Counts a drawn chart, and tells the host which charts show how many points once drawing settles. */
function markDrawn(): void {
  model.drawn++;
  if (!painted) {
    painted = true;
    // after the frame that shows it: the host measures from the command to here
    requestAnimationFrame(() => setTimeout(() => vscode.postMessage({ type: 'painted' }), 0));
  }
  root.dataset.chartsDrawn = String(model.drawn); // read by the browser test and the benchmark
  clearTimeout(drawnTimer);
  drawnTimer = setTimeout(() => {
    const charts = [...cards.values()]
      .filter((card) => card.view)
      .map((card) => ({ key: card.key, points: card.view!.pointCount }));
    vscode.postMessage({ type: 'drawn', charts });
  }, 100);
}

/** Draws (or updates) a visible card's chart; `resetScale` = show the whole x range again. */
export function renderCard(key: string, resetScale: boolean): void {
  const card = cards.get(key);
  if (!card || !card.visible || card.root.hidden) {
    return;
  }
  requestKey(key);
  const points = pointsOf(key);
  const hasPoints = [...points.values()].some((p) => p.steps.length > 0);
  if (!hasPoints) {
    card.view?.destroy();
    card.view = undefined;
    const text = answered.has(key) ? 'No points: none of the runs shown logged this metric.' : 'Loading…';
    card.plot.replaceChildren(el('div', 'placeholder muted', text));
    updateNotice(key);
    return;
  }
  const input = chartInput(key);
  if (card.view) {
    try {
      card.view.setData(input, resetScale && !zooms.has(key));
      markDrawn();
      updateNotice(key);
      return;
    } catch (e) {
      if (!(e instanceof RebuildNeeded)) {
        throw e;
      }
      card.view.destroy();
    }
  }
  card.plot.replaceChildren();
  card.view = new ChartView(card.plot, input, card.plot.clientWidth || plotWidth(), {
    zoom: (xMin, xMax) => requestZoom(key, xMin, xMax),
    reset: () => resetZoom(key),
  });
  markDrawn();
  updateNotice(key);
}

/** The line under a chart: downsampling, zoom, NaN periods, values a log scale hides. */
export function updateNotice(key: string): void {
  const card = cards.get(key);
  const zoom = zooms.get(key);
  if (card) {
    const shownZoom = zoom && { from: zoom.from, to: zoom.to, loaded: zoom.points !== undefined };
    card.notice.textContent = chartNotice(model.runs, pointsOf(key), shownZoom, card.view?.hiddenForLog ?? 0);
  }
}

export function rebuildVisibleCharts(): void {
  for (const card of cards.values()) {
    card.view?.destroy();
    card.view = undefined;
    renderCard(card.key, true);
  }
}

const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      const card = cards.get((entry.target as HTMLElement).dataset.key!);
      if (!card) {
        continue;
      }
      const was = card.visible;
      card.visible = entry.isIntersecting;
      if (card.visible && !(was && card.view)) {
        renderCard(card.key, false);
      } else if (!card.visible && card.view) {
        // off screen: free the chart, its data stays
        card.view.destroy();
        card.view = undefined;
      }
    }
  },
  { rootMargin: '400px 0px' },
);

function makeCard(key: string): Card {
  const cardRoot = el('section', 'card');
  cardRoot.dataset.key = key;
  const header = el('div', 'card-header');
  const title = el('h2', 'card-title', key);
  title.title = key;
  const png = el('button', 'small', 'PNG');
  png.title = 'Save this chart as a PNG image';
  png.addEventListener('click', () => exportPng(key));
  const csv = el('button', 'small', 'CSV');
  csv.title = 'Save every point of this metric as CSV';
  csv.addEventListener('click', () => vscode.postMessage({ type: 'exportCsv', keys: [key] }));
  header.append(title, png, csv);
  const plot = el('div', 'plot');
  const notice = el('div', 'notice muted');
  cardRoot.append(header, plot, notice);
  return { key, root: cardRoot, plot, notice, visible: false };
}

function exportPng(key: string): void {
  const view = cards.get(key)?.view;
  if (view) {
    vscode.postMessage({ type: 'exportPng', key, dataUrl: chartPng(view.plot, key, model.runs, model.theme) });
  }
}

/** Cards for every key (hidden when filtered out); charts are drawn when cards come into view. */
export function buildGrid(): void {
  observer.disconnect();
  for (const card of cards.values()) {
    card.view?.destroy();
  }
  cards.clear();
  const fragment = document.createDocumentFragment();
  for (const key of model.keys) {
    const card = makeCard(key);
    cards.set(key, card);
    fragment.append(card.root);
  }
  grid.replaceChildren(fragment);
  applyFilter();
  for (const card of cards.values()) {
    observer.observe(card.root);
  }
  renderOnScreenNow();
}

/** Draws the cards already on screen at once, without waiting for the observer's first callback. */
export function renderOnScreenNow(): void {
  const bottom = window.innerHeight + 400;
  for (const card of cards.values()) {
    if (card.root.hidden) {
      continue;
    }
    const top = card.root.getBoundingClientRect().top;
    if (top > bottom) {
      break;
    }
    card.visible = true;
    renderCard(card.key, false);
  }
}

export function applyFilter(): void {
  const shown = new Set(shownKeys());
  for (const card of cards.values()) {
    card.root.hidden = !shown.has(card.key);
    if (card.root.hidden && card.view) {
      card.view.destroy();
      card.view = undefined;
    }
  }
  renderEmptyState(shown.size);
}

export function renderEmptyState(shownCount: number): void {
  let text = '';
  if (model.runs.length === 0) {
    text = 'No runs selected. Select one or more experiments in the Experiments view and choose "Show Metric Charts".';
  } else if (model.keys.length === 0) {
    text = model.runs.some((r) => r.status === 'running')
      ? 'The selected runs have logged no metrics yet: charts appear as soon as they do.'
      : 'The selected runs logged no metrics (log_metric in the run\u2019s code records them).';
  } else if (shownCount === 0) {
    text = `No metric matches "${model.state.filter}".`;
  }
  empty.textContent = text;
  empty.hidden = text === '';
  const r = model.runs.length;
  if (summary) {
    summary.textContent =
      r === 0 ? '' : `${shownCount} of ${model.keys.length} metrics · ${r} run${r === 1 ? '' : 's'}`;
  }
}

export function showRuns(): void {
  renderLegend(legend, notes, model.runs, model.theme);
}

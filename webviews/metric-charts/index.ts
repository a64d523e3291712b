/**
 * The metric charts webview: one chart per metric key, every selected run overlaid. Charts are
 * created only while their card is on screen (1,000 keys stay fast) and their series are asked for
 * when they first scroll into view, downsampled to about two points per pixel by the backend; a zoom
 * asks for the visible range at full detail. Controls and their state (x axis, smoothing, log scale,
 * key filter) survive the panel being hidden through getState/setState.
 */
import type {
  ChartRun,
  ChartSeries,
  HostToWebviewMessage,
  MetricChartsState,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/metric-charts';
import { el } from '../common/dom';
import { vscodeApi } from '../common/vscode-api';
import { type ChartInput, ChartView, RebuildNeeded } from './chart';
import { createControls } from './controls';
import { type RunPoints, mergeRange, stepRange, xValues } from './data';
import { renderLegend } from './legend';
import { chartNotice } from './notice';
import { chartPng } from './png';
import { readTheme, type Theme, watchTheme } from './theme';

const vscode = vscodeApi<WebviewToHostMessage, MetricChartsState>();
const root = document.getElementById('root')!;

let state: MetricChartsState = { xMode: 'step', smoothing: 0, logScale: false, filter: '', ...vscode.getState() };
let theme: Theme = readTheme();
let runs: ChartRun[] = [];
let keys: string[] = [];
/** key -> run id -> points of the whole series (downsampled) */
const overview = new Map<string, Map<string, RunPoints>>();
/** key -> a zoom: its step range and the overview with that range at full detail */
const zooms = new Map<string, { from: number; to: number; requestId: number; points?: Map<string, RunPoints> }>();
/** keys asked for, and keys answered */
const requested = new Set<string>();
const answered = new Set<string>();
let nextRequestId = 1;
let drawn = 0;

interface Card {
  readonly key: string;
  readonly root: HTMLElement;
  readonly plot: HTMLElement;
  readonly notice: HTMLElement;
  visible: boolean;
  view?: ChartView;
}
const cards = new Map<string, Card>();

// ---- the page skeleton: toolbar, legend, notes, grid -------------------------------------------

let smoothingFrame = 0;
const { toolbar, summary } = createControls(state, {
  filter: (text) => {
    saveState({ filter: text });
    applyFilter();
    renderOnScreenNow();
  },
  xMode: (mode) => {
    if (mode !== state.xMode) {
      saveState({ xMode: mode });
      zooms.clear(); // a zoom's x range means nothing on another axis
      rebuildVisibleCharts();
    }
  },
  smoothing: (weight) => {
    saveState({ smoothing: weight });
    cancelAnimationFrame(smoothingFrame);
    smoothingFrame = requestAnimationFrame(rebuildVisibleCharts);
  },
  logScale: (on) => {
    saveState({ logScale: on });
    rebuildVisibleCharts();
  },
  exportCsv: () => vscode.postMessage({ type: 'exportCsv', keys: shownKeys() }),
});

const hint = el(
  'div',
  'muted hint',
  'Drag across a chart to zoom (loads full detail) · Shift+drag to pan · double-click to reset.',
);
const legend = el('div', 'legend');
const notes = el('div', 'notes');
const grid = el('div', 'grid');
const empty = el('div', 'empty');
root.replaceChildren(toolbar, hint, legend, notes, empty, grid);

// ---- state ---------------------------------------------------------------------------------------

function saveState(change: Partial<MetricChartsState>): void {
  state = { ...state, ...change };
  vscode.setState(state);
}

function shownKeys(): string[] {
  const f = state.filter.trim().toLowerCase();
  return f ? keys.filter((k) => k.toLowerCase().includes(f)) : keys;
}

function toPoints(s: ChartSeries): RunPoints {
  return { steps: s.steps, times: s.times, values: s.values, total: s.total };
}

function pointsOf(key: string): Map<string, RunPoints> {
  return zooms.get(key)?.points ?? overview.get(key) ?? new Map();
}

function plotWidth(): number {
  for (const card of cards.values()) {
    if (!card.root.hidden && card.plot.clientWidth > 0) {
      return card.plot.clientWidth;
    }
  }
  return Math.max(300, (root.clientWidth || window.innerWidth) - 40);
}

// ---- loading -------------------------------------------------------------------------------------

let pendingLoad: string[] = [];
let loadTimer: ReturnType<typeof setTimeout> | undefined;

/** Asks for the series of keys that came into view, in one message per burst of scrolling. */
function requestKey(key: string): void {
  if (requested.has(key)) {
    return;
  }
  requested.add(key);
  pendingLoad.push(key);
  loadTimer ??= setTimeout(() => {
    loadTimer = undefined;
    const batch = pendingLoad;
    pendingLoad = [];
    vscode.postMessage({ type: 'load', keys: batch, pixels: plotWidth() });
  }, 16);
}

function requestZoom(key: string, xMin: number, xMax: number): void {
  const points = pointsOf(key);
  const range = stepRange(
    runs
      .filter((r) => points.has(r.id))
      .map((r) => ({ points: points.get(r.id)!, x: xValues(points.get(r.id)!, state.xMode, r.startedAt) })),
    xMin,
    xMax,
  );
  if (!range) {
    return;
  }
  const requestId = nextRequestId++;
  zooms.set(key, { ...range, requestId, points: zooms.get(key)?.points });
  const card = cards.get(key);
  vscode.postMessage({
    type: 'requestRange',
    key,
    runIds: runs.filter((r) => r.status !== 'deleted' && points.has(r.id)).map((r) => r.id),
    from: range.from,
    to: range.to,
    pixels: card?.plot.clientWidth || plotWidth(),
    requestId,
  });
  updateNotice(key);
}

function resetZoom(key: string): void {
  zooms.delete(key);
  renderCard(key, true);
}

// ---- rendering -----------------------------------------------------------------------------------

function chartInput(key: string): ChartInput {
  return { key, runs, points: pointsOf(key), theme, ...state };
}

let drawnTimer: ReturnType<typeof setTimeout> | undefined;
let painted = false;

/** Counts a drawn chart, and tells the host which charts show how many points once drawing settles. */
function markDrawn(): void {
  drawn++;
  if (!painted) {
    painted = true;
    // after the frame that shows it: the host measures from the command to here
    requestAnimationFrame(() => setTimeout(() => vscode.postMessage({ type: 'painted' }), 0));
  }
  root.dataset.chartsDrawn = String(drawn); // read by the browser test and the benchmark
  clearTimeout(drawnTimer);
  drawnTimer = setTimeout(() => {
    const charts = [...cards.values()]
      .filter((card) => card.view)
      .map((card) => ({ key: card.key, points: card.view!.pointCount }));
    vscode.postMessage({ type: 'drawn', charts });
  }, 100);
}

/** Draws (or updates) a visible card's chart; `resetScale` = show the whole x range again. */
function renderCard(key: string, resetScale: boolean): void {
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
function updateNotice(key: string): void {
  const card = cards.get(key);
  const zoom = zooms.get(key);
  if (card) {
    const shownZoom = zoom && { from: zoom.from, to: zoom.to, loaded: zoom.points !== undefined };
    card.notice.textContent = chartNotice(runs, pointsOf(key), shownZoom, card.view?.hiddenForLog ?? 0);
  }
}

function rebuildVisibleCharts(): void {
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
    vscode.postMessage({ type: 'exportPng', key, dataUrl: chartPng(view.plot, key, runs, theme) });
  }
}

/** Cards for every key (hidden when filtered out); charts are drawn when cards come into view. */
function buildGrid(): void {
  observer.disconnect();
  for (const card of cards.values()) {
    card.view?.destroy();
  }
  cards.clear();
  const fragment = document.createDocumentFragment();
  for (const key of keys) {
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
function renderOnScreenNow(): void {
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

function applyFilter(): void {
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

function renderEmptyState(shownCount: number): void {
  let text = '';
  if (runs.length === 0) {
    text = 'No runs selected. Select one or more experiments in the Experiments view and choose "Show Metric Charts".';
  } else if (keys.length === 0) {
    text = runs.some((r) => r.status === 'running')
      ? 'The selected runs have logged no metrics yet: charts appear as soon as they do.'
      : 'The selected runs logged no metrics (log_metric in the run\u2019s code records them).';
  } else if (shownCount === 0) {
    text = `No metric matches "${state.filter}".`;
  }
  empty.textContent = text;
  empty.hidden = text === '';
  const r = runs.length;
  summary.textContent = r === 0 ? '' : `${shownCount} of ${keys.length} metrics · ${r} run${r === 1 ? '' : 's'}`;
}

function showRuns(): void {
  renderLegend(legend, notes, runs, theme);
}

// ---- messages ------------------------------------------------------------------------------------

function addSeries(series: readonly ChartSeries[]): void {
  for (const s of series) {
    let byRun = overview.get(s.key);
    if (!byRun) {
      byRun = new Map();
      overview.set(s.key, byRun);
    }
    byRun.set(s.runId, toPoints(s));
  }
}

function onInit(m: Extract<HostToWebviewMessage, { type: 'init' }>): void {
  runs = [...m.runs];
  keys = [...m.keys];
  overview.clear();
  zooms.clear();
  requested.clear();
  answered.clear();
  addSeries(m.series);
  for (const s of m.series) {
    requested.add(s.key);
    answered.add(s.key);
  }
  showRuns();
  buildGrid();
}

function onSeries(m: Extract<HostToWebviewMessage, { type: 'series' }>): void {
  if (m.range) {
    const zoom = zooms.get(m.range.key);
    if (!zoom || zoom.requestId !== m.range.requestId) {
      return; // another zoom (or a reset) came after it
    }
    const base = overview.get(m.range.key) ?? new Map<string, RunPoints>();
    const merged = new Map(base);
    for (const s of m.series) {
      merged.set(s.runId, mergeRange(base.get(s.runId), toPoints(s), m.range.from, m.range.to));
    }
    zoom.points = merged;
    renderCard(m.range.key, false);
    return;
  }
  addSeries(m.series);
  for (const key of m.keys) {
    answered.add(key);
    renderCard(key, false);
  }
}

function concat(a: ArrayLike<number> | undefined, b: Float64Array): Float64Array {
  const out = new Float64Array((a?.length ?? 0) + b.length);
  if (a) {
    out.set(a);
  }
  out.set(b, a?.length ?? 0);
  return out;
}

function onAppend(m: Extract<HostToWebviewMessage, { type: 'append' }>): void {
  if (m.newKeys.length > 0) {
    keys = [...new Set([...keys, ...m.newKeys])].sort();
    buildGrid();
  }
  const touched = new Set<string>();
  for (const p of m.points) {
    const byRun = overview.get(p.key);
    if (!byRun && !answered.has(p.key)) {
      continue; // not loaded yet: it is fetched whole when it comes into view
    }
    const map = byRun ?? new Map<string, RunPoints>();
    overview.set(p.key, map);
    const old = map.get(p.runId);
    map.set(p.runId, {
      steps: concat(old?.steps, p.steps),
      times: concat(old?.times, p.times),
      values: concat(old?.values, p.values),
      total: (old?.total ?? 0) + p.steps.length,
    });
    touched.add(p.key);
  }
  for (const key of touched) {
    if (!zooms.has(key)) {
      renderCard(key, true);
    }
  }
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  const m = event.data;
  switch (m.type) {
    case 'init':
      onInit(m);
      break;
    case 'series':
      onSeries(m);
      break;
    case 'append':
      onAppend(m);
      break;
    case 'runs':
      runs = [...m.runs];
      showRuns();
      rebuildVisibleCharts();
      break;
  }
});

// ---- size and theme ------------------------------------------------------------------------------

let resizeFrame = 0;
new ResizeObserver(() => {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => {
    for (const card of cards.values()) {
      card.view?.setWidth(card.plot.clientWidth);
    }
  });
}).observe(grid);

watchTheme(() => {
  theme = readTheme();
  showRuns();
  rebuildVisibleCharts();
});

renderEmptyState(0);
empty.textContent = 'Loading…';
vscode.postMessage({ type: 'ready' });

/**
 * The sweep page webview: what the host posts about one sweep (its state and progress, the best
 * trial with its params and run, the optimization history and parameter importances as charts, every
 * trial, the definition), redrawn in place at each `show` so the charts keep their canvas while the
 * sweep runs. Every text is set with textContent, never as HTML: params and reasons can contain anything.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type {
  HostToWebviewMessage,
  SweepPageAction,
  SweepPageShow,
  SweepPageState,
  SweepPageTrial,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/sweep-page';
import { readTheme, watchTheme, type Theme } from '../common/chart-theme';
import { el } from '../common/dom';
import { deletedBanner, emptyNote, fieldList, recordTable, sectionNode } from '../common/record-page';
import { vscodeApi } from '../common/vscode-api';
import { historyData, historyOptions, importanceData, importanceOptions, PageChart } from './charts';

const vscode = vscodeApi<WebviewToHostMessage, SweepPageState>();
const root = document.getElementById('root')!;

const LABELS: Record<SweepPageAction, { label: string; title: string }> = {
  rerunBest: { label: 'Re-run Best', title: "Run the best trial's command again with its params, in a terminal" },
  registerBest: { label: 'Register Best Model', title: "Register the model file of the best trial's run" },
  pause: { label: 'Pause', title: 'Start no new trial; the running ones go on' },
  resume: { label: 'Resume', title: 'Start trials again, up to the number of trials' },
  stop: { label: 'Stop', title: 'Stop the sweep and its running trials' },
  addTrials: { label: 'Add Trials…', title: 'Run more trials' },
  compare: { label: 'Compare Trials', title: "The sweep's trials in the compare table" },
  parallel: { label: 'Parallel Coordinates', title: "The sweep's trials as parallel coordinates of its metric" },
};

let shown: SweepPageShow | undefined;
let theme: Theme = readTheme();

// the parts of the page, made once: the charts keep their canvas across updates
const header = el('header');
const bestSection = el('section');
const historyBox = el('div', 'chart');
const historyCaption = el('p', 'caption');
const historyChart = new PageChart(el('div'));
const importanceBox = el('div', 'chart');
const importanceCaption = el('p', 'caption');
const importanceChart = new PageChart(el('div'));
historyBox.append(el('h3', undefined, 'Optimization history'), historyCaption, historyChart.element);
historyBox.setAttribute('aria-label', 'Optimization history chart');
importanceBox.append(el('h3', undefined, 'Parameter importances'), importanceCaption, importanceChart.element);
importanceBox.setAttribute('aria-label', 'Parameter importances chart');
const charts = el('div', 'charts');
charts.append(historyBox, importanceBox);
const trialsSection = el('section');
const detailsSection = el('section');
root.append(header, bestSection, sectionNode('Charts', 'charts', charts), trialsSection, detailsSection);

function button(action: SweepPageAction, primary: boolean): VscodeButton {
  const b = document.createElement('vscode-button');
  b.textContent = LABELS[action].label;
  b.title = LABELS[action].title;
  b.secondary = !primary;
  b.dataset.action = action;
  b.addEventListener('click', () => {
    if (shown) {
      vscode.postMessage({ type: 'action', id: shown.id, action });
    }
  });
  return b;
}

function runLink(runId: string, text: string): HTMLElement {
  const link = el('button', 'link', text);
  link.title = `Show the run ${runId}`;
  link.dataset.run = runId;
  link.addEventListener('click', () => vscode.postMessage({ type: 'openRun', runId }));
  return link;
}

function renderHeader(show: SweepPageShow): void {
  const title = el('div', 'title');
  title.append(el('h1', undefined, show.title), el('span', `state ${show.state}`, show.state));
  const actions = el('div', 'actions');
  show.actions.forEach((a, i) => actions.append(button(a, i === 0)));
  header.replaceChildren(
    title,
    el('p', 'progress', show.progress),
    ...(show.message ? [deletedBanner(show.message)] : []),
    ...show.warnings.map((w) => el('p', 'muted warning', w)),
    actions,
  );
}

function renderBest(show: SweepPageShow): void {
  const best = show.best;
  if (!best) {
    bestSection.replaceChildren(el('h2', undefined, 'Best trial'), emptyNote('No trial completed yet.'));
    return;
  }
  const line = el('p', 'best');
  line.append(el('strong', undefined, `${best.label}: ${best.value}`));
  if (best.runId) {
    line.append(' · ', runLink(best.runId, 'Open its run'));
  }
  bestSection.replaceChildren(el('h2', undefined, 'Best trial'), line, recordTable(best.params));
}

function chartWidth(box: HTMLElement): number {
  return Math.max(240, Math.floor(box.clientWidth || 420));
}

function renderCharts(show: SweepPageShow): void {
  const h = show.history;
  if (h) {
    historyCaption.textContent = `${h.metric} of each completed trial, and the best so far (${h.goal})`;
    historyChart.element.hidden = false;
    historyChart.draw(
      `${h.metric} ${h.goal} ${theme.kind}`,
      () => historyOptions(h, theme, chartWidth(historyBox)),
      historyData(h),
    );
  } else {
    historyCaption.textContent = 'Drawn once a trial completed.';
    historyChart.clear();
    historyChart.element.hidden = true;
  }
  const imp = show.importances;
  if (imp) {
    importanceCaption.textContent = imp.caption;
    importanceChart.element.hidden = false;
    importanceChart.draw(
      `${imp.params.join('\n')} ${theme.kind}`,
      () => importanceOptions(imp, theme, chartWidth(importanceBox)),
      importanceData(imp),
    );
  } else {
    importanceCaption.textContent = show.importanceNote;
    importanceChart.clear();
    importanceChart.element.hidden = true;
  }
}

function trialRow(t: SweepPageTrial): HTMLElement {
  const tr = el('tr', t.best ? 'best' : undefined);
  const run = el('td');
  if (t.runId) {
    run.append(runLink(t.runId, 'Open'));
  }
  tr.append(
    el('td', 'num', String(t.number)),
    el('td', undefined, t.best ? `${t.state} ★` : t.state),
    el('td', 'num', t.value),
    el('td', 'mono', t.params),
    el('td', undefined, t.note),
    run,
  );
  return tr;
}

function renderTrials(show: SweepPageShow): void {
  if (show.trials.length === 0) {
    trialsSection.replaceChildren(el('h2', undefined, 'Trials'), emptyNote('No trial started yet.'));
    return;
  }
  const head = el('tr');
  ['#', 'State', 'Value', 'Params', 'Note', 'Run'].forEach((c, i) =>
    head.append(el('th', i === 0 || i === 2 ? 'num' : undefined, c)),
  );
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  show.trials.forEach((t) => body.append(trialRow(t)));
  const table = el('table');
  table.setAttribute('aria-label', 'Trials');
  table.append(thead, body);
  const scroll = el('div', 'scroll');
  scroll.tabIndex = 0;
  scroll.append(table);
  trialsSection.replaceChildren(el('h2', undefined, `Trials (${show.trials.length})`), scroll);
}

function render(show: SweepPageShow): void {
  shown = show;
  renderHeader(show);
  renderBest(show);
  renderCharts(show);
  renderTrials(show);
  detailsSection.replaceChildren(el('h2', undefined, 'Definition'), fieldList(show.fields));
  // after the frame that shows it: the host's tests wait for this
  requestAnimationFrame(() =>
    setTimeout(() => vscode.postMessage({ type: 'painted', id: show.id, trials: show.trials.length }), 0),
  );
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  if (event.data.type === 'show') {
    vscode.setState({ show: event.data });
    render(event.data);
  }
});

let resizeFrame = 0;
new ResizeObserver(() => {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => {
    historyChart.resize(chartWidth(historyBox));
    importanceChart.resize(chartWidth(importanceBox));
  });
}).observe(charts);

watchTheme(() => {
  theme = readTheme();
  historyChart.clear();
  importanceChart.clear();
  if (shown) {
    renderCharts(shown);
  }
});

// a panel shown again draws what it showed at once; the host's `show` follows the `ready`
const saved = vscode.getState();
if (saved?.show) {
  render(saved.show);
}
vscode.postMessage({ type: 'ready' });

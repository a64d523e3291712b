/**
 * The prediction playground webview: choose one or two deployed model services, write a JSON body
 * (or build it from rows of a CSV dataset), send it, and see each service's status, latency and
 * answer side by side. The page never talks HTTP itself (its CSP forbids it): the host does, on
 * 127.0.0.1. Every value is set with textContent, never as HTML.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-multi-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type { VscodeCheckbox } from '@vscode-elements/elements/dist/vscode-checkbox/vscode-checkbox.js';
import type { VscodeMultiSelect } from '@vscode-elements/elements/dist/vscode-multi-select/vscode-multi-select.js';
import type { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/vscode-single-select.js';
import {
  INPUT_FORMATS,
  type HostToWebviewMessage,
  type InfoMessage,
  type InputFormat,
  type PlaygroundTarget,
  type PredictionPlaygroundState,
  type PredictionResult,
  type PredictRoute,
  type TargetsMessage,
  type WebviewToHostMessage,
} from '../../src/protocol/webviews/prediction-playground';
import { el } from '../common/dom';
import { vscodeApi } from '../common/vscode-api';

const vscode = vscodeApi<WebviewToHostMessage, PredictionPlaygroundState>();
const root = document.getElementById('root')!;

const saved = vscode.getState();
const state = {
  services: [...(saved?.services ?? [])],
  route: saved?.route ?? ('/predict' as PredictRoute),
  format: saved?.format ?? ('inputs' as InputFormat),
  body: saved?.body ?? '',
  dataset: saved?.dataset ?? '',
  from: saved?.from ?? 1,
  to: saved?.to ?? 5,
  columns: [...(saved?.columns ?? [])],
  results: [...(saved?.results ?? [])],
};
let targets: readonly PlaygroundTarget[] = [];
const infos = new Map<string, InfoMessage>();
/** the example last put into the body: replaced by the next example only while the person did not edit it */
let lastExample: string | undefined;
let requestId = 0;
let pending: number | undefined;

function save(): void {
  vscode.setState({ ...state, results: state.results });
}

function vbutton(label: string, onClick: () => void, primary = false): VscodeButton {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.secondary = !primary;
  b.addEventListener('click', onClick);
  return b;
}

function options(
  select: VscodeSingleSelect | VscodeMultiSelect,
  choices: { value: string; label: string }[],
  chosen: string[],
): void {
  select.replaceChildren(
    ...choices.map((c) => {
      const o = document.createElement('vscode-option');
      o.value = c.value;
      o.textContent = c.label;
      o.selected = chosen.includes(c.value);
      return o;
    }),
  );
}

function tone(status: string): string {
  return status === 'healthy' || status === 'running'
    ? 'ok'
    : status === 'starting'
      ? 'warn'
      : status === 'unhealthy' || status === 'exited'
        ? 'bad'
        : 'idle';
}

// --- the skeleton, built once --------------------------------------------------------------------

const header = el('header');
header.append(el('h1', undefined, 'Prediction Playground'));
const intro = el(
  'p',
  'note',
  'Choose one model service, or two to compare them on the same input (A/B). Requests go to 127.0.0.1 from the editor.',
);
header.append(intro);

const servicesBox = el('fieldset');
servicesBox.append(el('legend', undefined, 'Services'));
const targetList = el('div', 'targets');
targetList.setAttribute('role', 'group');
targetList.setAttribute('aria-label', 'Model services');
const targetsNote = el('p', 'note');
const refresh = vbutton('Refresh', () => vscode.postMessage({ type: 'refresh' }));
refresh.title = 'Reload the deployed model services and datasets';
servicesBox.append(targetList, targetsNote, refresh);

const inputBox = el('fieldset');
inputBox.append(el('legend', undefined, 'Input'));
const datasetRow = el('div', 'row');
const datasetSelect = document.createElement('vscode-single-select');
datasetSelect.setAttribute('aria-label', 'CSV dataset');
datasetSelect.id = 'dataset';
const fromInput = numberInput('from', 'First row', state.from);
const toInput = numberInput('to', 'Last row', state.to);
const columnsSelect = document.createElement('vscode-multi-select');
columnsSelect.setAttribute('aria-label', 'Columns to send');
columnsSelect.id = 'columns';
const formatSelect = document.createElement('vscode-single-select');
formatSelect.setAttribute('aria-label', 'Input format');
formatSelect.id = 'format';
options(
  formatSelect,
  INPUT_FORMATS.map((f) => ({ value: f, label: f })),
  [state.format],
);
const useRows = vbutton('Use Rows', () => {
  if (!state.dataset) {
    payloadNote.textContent = 'Choose a CSV dataset first.';
    return;
  }
  vscode.postMessage({
    type: 'buildPayload',
    dataset: state.dataset,
    from: Number(fromInput.value),
    to: Number(toInput.value),
    columns: state.columns,
    format: state.format,
  });
});
useRows.title = 'Put the chosen rows and columns of the dataset into the body';
useRows.id = 'use-rows';
datasetRow.append(
  label('Dataset', datasetSelect),
  datasetSelect,
  label('Rows', fromInput),
  fromInput,
  el('span', undefined, '–'),
  toInput,
  label('Format', formatSelect),
  formatSelect,
);
const columnsRow = el('div', 'row');
columnsRow.append(label('Columns', columnsSelect), columnsSelect, useRows);
const payloadNote = el('p', 'note');
payloadNote.setAttribute('role', 'status');

const bodyArea = el('textarea');
bodyArea.id = 'body';
bodyArea.spellcheck = false;
bodyArea.value = state.body;
bodyArea.setAttribute('aria-label', 'Request body (JSON); Ctrl+Enter sends');
bodyArea.placeholder = '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}';

const sendRow = el('div', 'row');
const routeSelect = document.createElement('vscode-single-select');
routeSelect.setAttribute('aria-label', 'Route');
routeSelect.id = 'route';
options(
  routeSelect,
  [
    { value: '/predict', label: 'POST /predict' },
    { value: '/invocations', label: 'POST /invocations (MLflow)' },
  ],
  [state.route],
);
const sendButton = vbutton('Send', () => send(), true);
sendButton.id = 'send';
const exampleButton = vbutton('Insert Example', () => {
  const example = state.services.map((s) => infos.get(s)?.example).find((e) => e);
  if (example) {
    bodyArea.value = example;
    lastExample = example;
    state.body = example;
    save();
    sendNote.textContent = '';
  } else {
    sendNote.textContent = 'The chosen services do not declare their features: write the body by hand.';
  }
});
exampleButton.id = 'example';
exampleButton.title = "An example body from the chosen service's GET /info";
const sendNote = el('span', 'note');
sendNote.setAttribute('role', 'status');
sendRow.append(routeSelect, sendButton, exampleButton, sendNote);
inputBox.append(datasetRow, columnsRow, payloadNote, bodyArea, sendRow);

const resultsBox = el('section');
resultsBox.setAttribute('aria-label', 'Answers');
const resultsTitle = el('h2', undefined, 'Answers');
const results = el('div', 'results');
resultsBox.append(resultsTitle, results);

root.replaceChildren(header, servicesBox, inputBox, resultsBox);

function label(text: string, target: HTMLElement): HTMLLabelElement {
  const l = el('label', undefined, text);
  l.htmlFor = target.id;
  return l;
}

function numberInput(id: string, name: string, value: number): HTMLInputElement {
  const input = el('input');
  input.type = 'number';
  input.id = id;
  input.min = '1';
  input.step = '1';
  input.value = String(value);
  input.setAttribute('aria-label', name);
  input.addEventListener('change', () => {
    state.from = Number(fromInput.value);
    state.to = Number(toInput.value);
    save();
  });
  return input;
}

// --- behaviour -----------------------------------------------------------------------------------

datasetSelect.addEventListener('change', () => {
  state.dataset = datasetSelect.value;
  state.columns = [];
  save();
  if (state.dataset) {
    vscode.postMessage({ type: 'columns', dataset: state.dataset, service: state.services[0] });
  }
});
columnsSelect.addEventListener('change', () => {
  state.columns = [...columnsSelect.value];
  save();
});
formatSelect.addEventListener('change', () => {
  state.format = formatSelect.value as InputFormat;
  save();
});
routeSelect.addEventListener('change', () => {
  state.route = routeSelect.value as PredictRoute;
  save();
});
bodyArea.addEventListener('input', () => {
  state.body = bodyArea.value;
  save();
});
bodyArea.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    send();
  }
});

function send(): void {
  if (state.services.length === 0) {
    sendNote.textContent = 'Choose a service first.';
    return;
  }
  if (!bodyArea.value.trim()) {
    sendNote.textContent = 'Write a JSON body first.';
    return;
  }
  pending = ++requestId;
  sendNote.textContent = `Sending to ${state.services.join(' and ')}…`;
  vscode.postMessage({
    type: 'send',
    requestId: pending,
    services: [...state.services],
    route: state.route,
    body: bodyArea.value,
  });
}

function toggle(service: string, on: boolean): void {
  state.services = state.services.filter((s) => s !== service);
  if (on) {
    state.services.push(service);
    if (state.services.length > 2) {
      state.services.shift(); // A/B: two at most; the oldest choice gives way
    }
    if (!infos.has(service)) {
      vscode.postMessage({ type: 'info', service });
    }
  }
  save();
  renderTargets();
}

function renderTargets(): void {
  const known = new Set(targets.map((t) => t.service));
  targetList.replaceChildren(
    ...targets.map((t) => {
      const row = el('div', 'target');
      const box: VscodeCheckbox = document.createElement('vscode-checkbox');
      box.label = `${t.service} · ${t.model}`;
      box.checked = state.services.includes(t.service);
      box.dataset.service = t.service;
      box.addEventListener('change', () => toggle(t.service, box.checked));
      row.append(box, el('span', `status ${tone(t.status)}`, t.status));
      row.append(el('span', 'note mono', t.url ?? 'no published port'));
      const info = infos.get(t.service);
      if (info && state.services.includes(t.service)) {
        row.append(el('span', 'note', info.summary));
      }
      return row;
    }),
  );
  const gone = state.services.filter((s) => !known.has(s));
  targetsNote.textContent = gone.length > 0 ? `Not deployed any more: ${gone.join(', ')}.` : '';
}

function onTargets(m: TargetsMessage): void {
  targets = m.targets;
  if (m.selected.length > 0) {
    state.services = [...m.selected];
  }
  state.services = state.services.filter((s) => targets.some((t) => t.service === s) || m.selected.length === 0);
  for (const s of state.services) {
    if (!infos.has(s)) {
      vscode.postMessage({ type: 'info', service: s });
    }
  }
  renderTargets();
  if (m.note) {
    targetsNote.textContent = m.note;
  }
  const datasets = [
    { value: '', label: m.datasets.length > 0 ? '(none: type the body)' : '(no CSV dataset in the project)' },
  ];
  options(datasetSelect, [...datasets, ...m.datasets.map((d) => ({ value: d.ref, label: d.label }))], [state.dataset]);
  if (state.dataset && !m.datasets.some((d) => d.ref === state.dataset)) {
    state.dataset = '';
  }
  if (state.dataset && columnsSelect.childElementCount === 0) {
    vscode.postMessage({ type: 'columns', dataset: state.dataset, service: state.services[0] });
  }
  save();
}

function onInfo(m: InfoMessage): void {
  infos.set(m.service, m);
  renderTargets();
  // a fresh example replaces the body only while it is empty or still the previous example
  if (m.example && (!bodyArea.value.trim() || bodyArea.value === lastExample)) {
    bodyArea.value = m.example;
    lastExample = m.example;
    state.body = m.example;
    save();
  }
}

function renderResults(list: readonly PredictionResult[]): void {
  resultsTitle.textContent = list.length === 2 ? 'Answers (A/B)' : 'Answers';
  if (list.length === 0) {
    results.replaceChildren(el('p', 'note', 'Nothing sent yet.'));
    return;
  }
  results.replaceChildren(
    ...list.map((r, i) => {
      const card = el('article', 'result');
      card.setAttribute('aria-label', `Answer of ${r.service}`);
      const prefix = list.length === 2 ? `${i === 0 ? 'A' : 'B'}: ` : '';
      card.append(el('h3', undefined, `${prefix}${r.service} · ${r.model}`));
      const meta = el('div', 'meta');
      meta.append(
        el('span', r.ok ? 'ok status-code' : 'bad status-code', r.status === null ? 'no answer' : `HTTP ${r.status}`),
        el('span', 'latency', r.latencyMs === null ? '' : `${r.latencyMs} ms`),
      );
      card.append(meta);
      if (r.error) {
        const error = el('div', 'error', r.error);
        error.setAttribute('role', 'alert');
        card.append(error);
      }
      if (r.body) {
        const pre = el('pre', undefined, r.body);
        pre.tabIndex = 0;
        card.append(pre);
      }
      return card;
    }),
  );
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  const m = event.data;
  switch (m.type) {
    case 'targets':
      onTargets(m);
      break;
    case 'info':
      onInfo(m);
      break;
    case 'columns':
      if (m.dataset === state.dataset) {
        state.columns = state.columns.length > 0 ? state.columns.filter((c) => m.columns.includes(c)) : [...m.selected];
        options(
          columnsSelect,
          m.columns.map((c) => ({ value: c, label: c })),
          state.columns,
        );
        payloadNote.textContent = m.note;
        save();
      }
      break;
    case 'payload':
      payloadNote.textContent = m.note;
      if (m.payload !== null) {
        bodyArea.value = m.payload;
        state.body = m.payload;
        lastExample = undefined;
        save();
      }
      break;
    case 'results':
      if (m.requestId === pending) {
        pending = undefined;
        sendNote.textContent = '';
        state.results = [...m.results];
        renderResults(state.results);
        save();
      }
      break;
  }
});

renderResults(state.results);
vscode.postMessage({ type: 'ready' });

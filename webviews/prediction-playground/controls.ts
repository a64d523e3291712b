/** What the person does: choose services, rows, format and route, edit the body, send. */
import type { InputFormat, PredictRoute } from '../../src/protocol/webviews/prediction-playground';
import {
  bodyArea,
  columnsSelect,
  datasetSelect,
  exampleButton,
  formatSelect,
  fromInput,
  payloadNote,
  routeSelect,
  sendButton,
  sendNote,
  toInput,
  useRows,
} from './page';
import { renderTargets } from './rendering';
import { save, session, state, vscode } from './state';

/** Adds the listeners of the page's controls (once, at start). */
export function wireControls(): void {
  useRows.addEventListener('click', () => {
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
  sendButton.addEventListener('click', () => send());
  exampleButton.addEventListener('click', () => {
    const example = state.services.map((s) => session.infos.get(s)?.example).find((e) => e);
    if (example) {
      bodyArea.value = example;
      session.lastExample = example;
      state.body = example;
      save();
      sendNote.textContent = '';
    } else {
      sendNote.textContent = 'The chosen services do not declare their features: write the body by hand.';
    }
  });
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
}

export function send(): void {
  if (state.services.length === 0) {
    sendNote.textContent = 'Choose a service first.';
    return;
  }
  if (!bodyArea.value.trim()) {
    sendNote.textContent = 'Write a JSON body first.';
    return;
  }
  session.pending = ++session.requestId;
  sendNote.textContent = `Sending to ${state.services.join(' and ')}…`;
  vscode.postMessage({
    type: 'send',
    requestId: session.pending,
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
    if (!session.infos.has(service)) {
      vscode.postMessage({ type: 'info', service });
    }
  }
  save();
  showTargets();
}

/** Renders the services with the current choice; a checkbox toggles its service. */
export function showTargets(): void {
  renderTargets(toggle);
}

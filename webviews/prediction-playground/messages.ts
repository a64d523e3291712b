/** What the host posts: the services and datasets, a service's /info, columns, a body built from rows, answers. */
import type {
  HostToWebviewMessage,
  InfoMessage,
  TargetsMessage,
} from '../../src/protocol/webviews/prediction-playground';
import { showTargets } from './controls';
import { options } from './elements';
import { bodyArea, columnsSelect, datasetSelect, payloadNote, sendNote, targetsNote } from './page';
import { renderResults } from './rendering';
import { save, session, state, vscode } from './state';

export function onTargets(m: TargetsMessage): void {
  session.targets = m.targets;
  if (m.selected.length > 0) {
    state.services = [...m.selected];
  }
  state.services = state.services.filter(
    (s) => session.targets.some((t) => t.service === s) || m.selected.length === 0,
  );
  for (const s of state.services) {
    if (!session.infos.has(s)) {
      vscode.postMessage({ type: 'info', service: s });
    }
  }
  showTargets();
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

export function onInfo(m: InfoMessage): void {
  session.infos.set(m.service, m);
  showTargets();
  // a fresh example replaces the body only while it is empty or still the previous example
  if (m.example && (!bodyArea.value.trim() || bodyArea.value === session.lastExample)) {
    bodyArea.value = m.example;
    session.lastExample = m.example;
    state.body = m.example;
    save();
  }
}

export function onMessage(m: HostToWebviewMessage): void {
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
        session.lastExample = undefined;
        save();
      }
      break;
    case 'results':
      if (m.requestId === session.pending) {
        session.pending = undefined;
        sendNote.textContent = '';
        state.results = [...m.results];
        renderResults(state.results);
        save();
      }
      break;
  }
}

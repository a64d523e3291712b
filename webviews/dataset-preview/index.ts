/**
 * The dataset preview webview: renders what the host posts (details header, a table, a note). Every
 * value is set with textContent, never as HTML: cells of a dataset can contain anything.
 */
import type {
  DatasetPreviewState,
  HostToWebviewMessage,
  PreviewAction,
  PreviewTable,
  ShowMessage,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/dataset-preview';
import { el } from '../common/dom';
import { vscodeApi } from '../common/vscode-api';

const vscode = vscodeApi<WebviewToHostMessage, DatasetPreviewState>();
const root = document.getElementById('root')!;
let shown: ShowMessage | undefined;

const ACTION_LABELS: Record<PreviewAction, string> = {
  openAsText: 'Open as Text',
  copyCode: 'Copy Code to Load',
  copyPath: 'Copy Path',
  export: 'Export...',
};

function renderTable(table: PreviewTable, rowNumbers: boolean): HTMLElement {
  const align = (i: number) => (table.numeric[i] ? 'num' : '');
  const head = el('tr');
  if (rowNumbers) {
    head.append(el('th', 'rownum', '#'));
  }
  table.columns.forEach((name, i) => head.append(Object.assign(el('th', align(i), name), { title: name })));
  const body = el('tbody');
  table.rows.forEach((row, r) => {
    const tr = el('tr');
    if (rowNumbers) {
      tr.append(el('td', 'rownum', String(r + 1)));
    }
    row.forEach((cell, i) => tr.append(Object.assign(el('td', align(i), cell), { title: cell })));
    body.append(tr);
  });
  const thead = el('thead');
  thead.append(head);
  const t = el('table');
  t.append(thead, body);
  const scroll = el('div', 'scroll');
  scroll.tabIndex = 0; // scrollable with the keyboard
  scroll.append(t);
  return scroll;
}

function render(show: ShowMessage): void {
  shown = show;
  const header = el('header');
  header.append(el('h1', undefined, show.title));
  const fields = el('dl');
  for (const field of show.fields) {
    fields.append(el('dt', undefined, field.label), el('dd', field.monospace ? 'mono' : undefined, field.value));
  }
  header.append(fields);
  const actions = el('div', 'actions');
  for (const [i, action] of show.actions.entries()) {
    const button = el('button', i === 0 ? 'primary' : undefined, ACTION_LABELS[action]);
    button.addEventListener('click', () => vscode.postMessage({ type: 'action', action, ref: show.ref }));
    actions.append(button);
  }
  header.append(actions);
  const note = el('div', 'note', show.note);
  note.id = 'note';
  root.replaceChildren(header, note);
  if (show.table) {
    root.append(renderTable(show.table, show.mode === 'table'));
  }
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  const message = event.data;
  if (message.type === 'show') {
    render(message);
    vscode.setState({ show: message });
  } else if (message.type === 'rowCount' && shown?.ref === message.ref) {
    shown = { ...shown, note: message.note, counting: false };
    document.getElementById('note')!.textContent = message.note;
    vscode.setState({ show: shown });
  }
});

// a panel shown again after being hidden restores at once, then asks for fresh data
const saved = vscode.getState();
if (saved) {
  render(saved.show);
}
vscode.postMessage({ type: 'ready' });

/**
 * The dataset preview webview: renders what the host posts (details header, a table, a note). Every
 * value is set with textContent, never as HTML: cells of a dataset can contain anything.
 */
import type {
  DatasetPreviewState,
  HostToWebviewMessage,
  PreviewAction,
  ShowMessage,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/dataset-preview';
import { el } from '../common/dom';
import { fieldList, recordTable } from '../common/record-page';
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

function render(show: ShowMessage): void {
  shown = show;
  const header = el('header');
  header.append(el('h1', undefined, show.title));
  header.append(fieldList(show.fields));
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
    root.append(recordTable(show.table));
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

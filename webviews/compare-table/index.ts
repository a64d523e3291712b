/**
 * The compare table webview: every experiment of the project as a row, with sorting, filters,
 * column choice, grouping, selection for charts, parallel coordinates and CSV export. All text is
 * set with textContent; the host sends data, the view state stays here (getState/setState).
 * The page and its parts: page.ts; what each host message does: messages.ts.
 */
import type { HostToWebviewMessage, WebviewToHostMessage } from '../../src/protocol/webviews/compare-table';
import { vscodeApi } from '../common/vscode-api';
import { HostMessages } from './messages';
import { ComparePage } from './page';
import type { State } from './state';

const page = new ComparePage(document.getElementById('root')!, vscodeApi<WebviewToHostMessage, State>());
const messages = new HostMessages(page);
window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => messages.receive(event.data));
page.post({ type: 'ready' });

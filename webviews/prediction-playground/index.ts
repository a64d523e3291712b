/**
 * The prediction playground webview: choose one or two deployed model services, write a JSON body
 * (or build it from rows of a CSV dataset), send it, and see each service's status, latency and
 * answer side by side. The page never talks HTTP itself (its CSP forbids it): the host does, on
 * 127.0.0.1. Every value is set with textContent, never as HTML.
 */
import type { HostToWebviewMessage } from '../../src/protocol/webviews/prediction-playground';
import { wireControls } from './controls';
import { onMessage } from './messages';
import { renderResults } from './rendering';
import { state, vscode } from './state';

wireControls();
window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => onMessage(event.data));

renderResults(state.results);
vscode.postMessage({ type: 'ready' });

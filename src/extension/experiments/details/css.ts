import { RECORD_PAGE_CSS } from '../../common/webview/record-css';

/** Styles of the experiment details, on top of the shared webview styles: a header, sections, tables, logs. */
export const DETAILS_CSS = `${RECORD_PAGE_CSS}
.status { display: inline-flex; align-items: center; gap: 4px; padding: 1px 8px; border-radius: 10px;
  border: 1px solid currentColor; font-size: 0.9em; }
.status::before { font-weight: 700; }
.status.running { color: var(--vscode-charts-blue, var(--vscode-progressBar-background)); }
.status.running::before { content: '●'; animation: pulse 1.2s ease-in-out infinite; }
.status.completed { color: var(--vscode-testing-iconPassed); }
.status.completed::before { content: '✓'; }
.status.failed { color: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); }
.status.failed::before { content: '✕'; }
.status.interrupted { color: var(--vscode-testing-iconSkipped, var(--vscode-descriptionForeground)); }
.status.interrupted::before { content: '⊘'; }
@keyframes pulse { 50% { opacity: 0.3; } }
@media (prefers-reduced-motion: reduce) { .status.running::before { animation: none; } }
ul.items .label { overflow-wrap: anywhere; }
ul.items .detail { color: var(--vscode-descriptionForeground); overflow-wrap: anywhere; flex: 1 1 20ch; }
ul.items .actions { margin: 0; }
pre { margin: 4px 0; padding: 6px 8px; max-height: 24em; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere;
  font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size);
  background: var(--vscode-textCodeBlock-background, var(--vscode-editor-background));
  border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); }
.note { color: var(--vscode-descriptionForeground); margin: 2px 0; }
summary { cursor: pointer; margin: 4px 0; }
`;

/** Styles of the experiment details, on top of the shared webview styles: a header, sections, tables, logs. */
export const DETAILS_CSS = `
body { padding-bottom: 24px; }
header { padding: 12px 0 4px; }
.title { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.title h1 { margin: 0; overflow-wrap: anywhere; }
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
.banner { margin: 8px 0; padding: 6px 10px; border-radius: 2px; color: var(--vscode-foreground);
  background: var(--vscode-inputValidation-warningBackground); border: 1px solid var(--vscode-inputValidation-warningBorder, transparent); }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 16px; margin: 8px 0; }
dt { color: var(--vscode-descriptionForeground); }
dd { margin: 0; overflow-wrap: anywhere; white-space: pre-wrap; }
.actions { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0; }
section { border-top: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); padding-bottom: 6px; }
.empty { color: var(--vscode-descriptionForeground); font-style: italic; margin: 4px 0; }
.scroll { overflow: auto; width: fit-content; max-width: 100%; max-height: 28em; margin: 4px 0;
  border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); }
table { border-collapse: separate; border-spacing: 0; }
th, td { padding: 2px 10px; text-align: left; vertical-align: top; max-width: 60ch; overflow-wrap: anywhere;
  border-bottom: 1px solid var(--vscode-editorGroup-border, transparent); }
th { position: sticky; top: 0; font-weight: 600; white-space: nowrap;
  background: var(--vscode-editorGroupHeader-tabsBackground, var(--vscode-editor-background)); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:hover td { background: var(--vscode-list-hoverBackground); }
ul.items { list-style: none; margin: 4px 0; padding: 0; }
ul.items li { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 12px; padding: 3px 0;
  border-bottom: 1px solid var(--vscode-editorGroup-border, transparent); }
ul.items .label { overflow-wrap: anywhere; }
ul.items .detail { color: var(--vscode-descriptionForeground); overflow-wrap: anywhere; flex: 1 1 20ch; }
ul.items .actions { margin: 0; }
h3 { font-size: 1em; font-weight: 600; margin: 10px 0 2px; }
pre { margin: 4px 0; padding: 6px 8px; max-height: 24em; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere;
  font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size);
  background: var(--vscode-textCodeBlock-background, var(--vscode-editor-background));
  border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); }
.note { color: var(--vscode-descriptionForeground); margin: 2px 0; }
summary { cursor: pointer; margin: 4px 0; }
`;

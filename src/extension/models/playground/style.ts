/** Styles of the prediction playground, on top of the shared webview styles. */
export const PLAYGROUND_CSS = `
body { padding-bottom: 24px; }
header { padding: 12px 0 0; }
.row { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; margin: 6px 0; }
.row label { color: var(--vscode-descriptionForeground); }
fieldset { border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); border-radius: 2px;
  margin: 8px 0; padding: 6px 10px; }
legend { padding: 0 4px; font-weight: 600; }
.targets { display: flex; flex-direction: column; gap: 2px; }
.target { display: flex; align-items: center; gap: 8px; }
.status { display: inline-flex; align-items: center; gap: 4px; }
.status::before { content: '●'; }
.status.ok { color: var(--vscode-testing-iconPassed); }
.status.warn { color: var(--vscode-editorWarning-foreground, var(--vscode-charts-orange)); }
.status.bad { color: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); }
.status.idle { color: var(--vscode-descriptionForeground); }
.note { color: var(--vscode-descriptionForeground); margin: 2px 0; overflow-wrap: anywhere; }
textarea { box-sizing: border-box; width: 100%; min-height: 12em; resize: vertical; padding: 6px 8px;
  font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size);
  color: var(--vscode-input-foreground); background: var(--vscode-input-background);
  border: 1px solid var(--vscode-input-border, transparent); border-radius: 2px; }
textarea:focus { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
input[type=number] { width: 6em; font: inherit; padding: 2px 4px; color: var(--vscode-input-foreground);
  background: var(--vscode-input-background); border: 1px solid var(--vscode-input-border, transparent); border-radius: 2px; }
.results { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 12px; margin: 8px 0; }
.result { border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); border-radius: 2px; padding: 6px 10px; min-width: 0; }
.result h3 { font-size: 1em; font-weight: 600; margin: 2px 0 4px; overflow-wrap: anywhere; }
.result .meta { display: flex; flex-wrap: wrap; gap: 4px 12px; }
.result .ok { color: var(--vscode-testing-iconPassed); }
.result .bad { color: var(--vscode-errorForeground); }
.error { margin: 4px 0; padding: 4px 8px; border-radius: 2px; overflow-wrap: anywhere;
  background: var(--vscode-inputValidation-errorBackground, transparent); border: 1px solid var(--vscode-inputValidation-errorBorder, var(--vscode-errorForeground)); }
pre { margin: 4px 0; padding: 6px 8px; max-height: 28em; overflow: auto; white-space: pre-wrap; overflow-wrap: anywhere;
  font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size);
  background: var(--vscode-textCodeBlock-background, var(--vscode-editor-background));
  border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); }
`;

/** Styles of the model card, on top of the shared webview styles: a header with badges, sections, tables, lists. */
export const CARD_CSS = `
body { padding-bottom: 24px; }
header { padding: 12px 0 4px; }
.title { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.title h1 { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 0.9em; line-height: 1.6;
  color: var(--vscode-badge-foreground, var(--vscode-button-foreground));
  background: var(--vscode-badge-background, var(--vscode-button-background)); }
.tag { display: inline-block; padding: 0 6px; margin: 0 4px 2px 0; border-radius: 2px;
  border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, currentColor)); }
.description { margin: 6px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.banner { margin: 8px 0; padding: 6px 10px; border-radius: 2px; color: var(--vscode-foreground);
  background: var(--vscode-inputValidation-warningBackground); border: 1px solid var(--vscode-inputValidation-warningBorder, transparent); }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 16px; margin: 8px 0; }
dt { color: var(--vscode-descriptionForeground); }
dd { margin: 0; overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: 6px; margin: 8px 0; }
section { border-top: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); padding-bottom: 6px; }
.empty { color: var(--vscode-descriptionForeground); font-style: italic; margin: 4px 0; }
.scroll { overflow: auto; width: fit-content; max-width: 100%; max-height: 24em; margin: 4px 0;
  border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); }
table { border-collapse: separate; border-spacing: 0; }
th, td { padding: 2px 10px; text-align: left; vertical-align: top; max-width: 60ch; overflow-wrap: anywhere;
  border-bottom: 1px solid var(--vscode-editorGroup-border, transparent); }
th { position: sticky; top: 0; font-weight: 600; white-space: nowrap;
  background: var(--vscode-editorGroupHeader-tabsBackground, var(--vscode-editor-background)); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
h3 { font-size: 1em; font-weight: 600; margin: 10px 0 2px; }
ul.items { list-style: none; margin: 4px 0; padding: 0; }
ul.items li { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 10px; padding: 3px 0;
  border-bottom: 1px solid var(--vscode-editorGroup-border, transparent); }
.status { display: inline-flex; align-items: center; gap: 4px; }
.status::before { content: '●'; }
.status.ok { color: var(--vscode-testing-iconPassed); }
.status.warn { color: var(--vscode-editorWarning-foreground, var(--vscode-charts-orange)); }
.status.bad { color: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); }
.status.idle { color: var(--vscode-descriptionForeground); }
button.version { padding: 1px 8px; }
button.version[aria-current="true"] { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
.detail { color: var(--vscode-descriptionForeground); }
`;

/**
 * Styles of a page that shows one record (an experiment, a model version): a title row, a warning
 * banner, labelled fields, sections with tables and item lists. On top of the page's base styles.
 */
export const RECORD_PAGE_CSS = `
body { padding-bottom: 24px; }
header { padding: 12px 0 4px; }
.title { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.title h1 { margin: 0; overflow-wrap: anywhere; }
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
h3 { font-size: 1em; font-weight: 600; margin: 10px 0 2px; }
ul.items { list-style: none; margin: 4px 0; padding: 0; }
ul.items li { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 12px; padding: 3px 0;
  border-bottom: 1px solid var(--vscode-editorGroup-border, transparent); }
`;

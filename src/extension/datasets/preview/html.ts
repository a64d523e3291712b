/** Styles of the dataset preview, on top of the shared webview styles: a details header and a table. */
export const PREVIEW_CSS = `
#root { display: flex; flex-direction: column; height: 100%; }
header { flex: none; padding: 12px 0 8px; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 16px; margin: 0 0 10px; }
dt { color: var(--vscode-descriptionForeground); }
dd { margin: 0; overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: 6px; }
.note { flex: none; margin: 6px 0; color: var(--vscode-descriptionForeground); }
.scroll { flex: 1 1 auto; min-height: 0; overflow: auto; margin-bottom: 12px;
  border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); }
table { border-collapse: separate; border-spacing: 0; font-family: var(--vscode-editor-font-family);
  font-size: var(--vscode-editor-font-size); }
th, td { padding: 2px 10px; text-align: left; white-space: nowrap; max-width: 40ch; overflow: hidden;
  text-overflow: ellipsis; border-bottom: 1px solid var(--vscode-editorGroup-border, transparent); }
th { position: sticky; top: 0; z-index: 1; font-weight: 600; background: var(--vscode-editorGroupHeader-tabsBackground, var(--vscode-editor-background));
  border-bottom-color: var(--vscode-panel-border, var(--vscode-editorGroup-border, transparent)); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.rownum { text-align: right; color: var(--vscode-editorLineNumber-foreground); user-select: none; }
tbody tr:hover td { background: var(--vscode-list-hoverBackground); }
`;

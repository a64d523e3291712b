import { randomBytes } from 'crypto';
import * as vscode from 'vscode';

/** Theme-aware styles: the editor's fonts and colours through the --vscode-* variables. */
const CSS = `
html, body { height: 100%; }
body { margin: 0; padding: 0 16px; box-sizing: border-box; color: var(--vscode-foreground);
  background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
#root { display: flex; flex-direction: column; height: 100%; }
header { flex: none; padding: 12px 0 8px; }
h1 { font-size: 1.35em; font-weight: 600; margin: 0 0 8px; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 16px; margin: 0 0 10px; }
dt { color: var(--vscode-descriptionForeground); }
dd { margin: 0; overflow-wrap: anywhere; }
.mono { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
.actions { display: flex; flex-wrap: wrap; gap: 6px; }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--vscode-button-border, transparent); border-radius: 2px;
  color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); cursor: pointer; }
button:hover { background: var(--vscode-button-secondaryHoverBackground); }
button.primary { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
button.primary:hover { background: var(--vscode-button-hoverBackground); }
button:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
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

/**
 * The preview panel's page: a strict CSP (nothing but this page's nonce'd style and script), the
 * script bundled by webpack from webviews/dataset-preview. All content arrives later by message.
 */
export function previewHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const nonce = randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webviews', 'dataset-preview.js'));
  const csp = `default-src 'none'; style-src ${webview.cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style nonce="${nonce}">${CSS}</style>
</head>
<body>
<div id="root" aria-live="polite"></div>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

import { randomBytes } from 'crypto';
import * as vscode from 'vscode';

/**
 * Styles every ML Lab webview starts from: the editor's fonts and colours through the --vscode-*
 * variables (so light, dark and high-contrast themes just work), and native-looking buttons.
 */
const BASE_CSS = `
html, body { height: 100%; }
body { margin: 0; padding: 0 16px; box-sizing: border-box; color: var(--vscode-foreground);
  background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
h1 { font-size: 1.35em; font-weight: 600; margin: 0 0 8px; }
h2 { font-size: 1.1em; font-weight: 600; margin: 16px 0 6px; }
.mono { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
.muted { color: var(--vscode-descriptionForeground); }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--vscode-button-border, transparent); border-radius: 2px;
  color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); cursor: pointer; }
button:hover { background: var(--vscode-button-secondaryHoverBackground); }
button.primary { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
button.primary:hover { background: var(--vscode-button-hoverBackground); }
button:focus-visible, a:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
a { color: var(--vscode-textLink-foreground); }
`;

export interface WebviewPageOptions {
  /** the bundle dist/webviews/<script>.js, built by webpack from webviews/<script>/index.ts */
  readonly script: string;
  /** styles of this webview, after the shared ones */
  readonly css?: string;
  /** also load dist/webviews/<name>.css files (e.g. a chart library's stylesheet) */
  readonly stylesheets?: readonly string[];
}

/**
 * A webview's page: a strict CSP (`default-src 'none'`; only this page's nonce'd style and script,
 * and stylesheets/images/fonts from the extension's dist/webviews folder), an empty #root, and the
 * bundled script. All content arrives later by message, after the page's `ready`.
 */
export function webviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, options: WebviewPageOptions): string {
  const nonce = randomBytes(18).toString('base64');
  const asset = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webviews', file));
  const csp = [
    `default-src 'none'`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `img-src ${webview.cspSource} data: blob:`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const links = (options.stylesheets ?? [])
    .map((name) => `<link rel="stylesheet" href="${asset(`${name}.css`).toString()}">`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
<style nonce="${nonce}">${BASE_CSS}${options.css ?? ''}</style>
</head>
<body>
<div id="root" aria-live="polite"></div>
<script nonce="${nonce}" src="${asset(`${options.script}.js`).toString()}"></script>
</body>
</html>`;
}

/**
 * Runs a webview bundle (dist/webviews/<name>.js) in Chromium without VS Code: a page with the same
 * strict CSP as webviewPage (default-src 'none', nonce'd style and script), the --vscode-* theme
 * variables of a dark theme, and a stub of acquireVsCodeApi that records what the page posts and
 * keeps its state. Pages are served through request interception, so no port is opened. Any
 * webview's bundle works (./harness.ts is the metric charts' own page, whose browser launcher this reuses).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';

export { launchChromium } from './harness';

export const REPO = path.resolve(__dirname, '..', '..', '..');
const ORIGIN = 'https://webview.test';

/** The colours and fonts VS Code sets on a webview's html element (Dark Modern, abridged). */
const THEME = `
html { --vscode-font-family: system-ui, "Ubuntu", "Droid Sans", sans-serif; --vscode-font-size: 13px; --vscode-font-weight: normal;
  --vscode-editor-font-family: "Droid Sans Mono", monospace; --vscode-editor-font-size: 14px;
  --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-disabledForeground: #6e7681;
  --vscode-errorForeground: #f85149; --vscode-focusBorder: #0078d4; --vscode-editor-background: #1f1f1f;
  --vscode-editor-foreground: #cccccc; --vscode-panel-border: #2b2b2b; --vscode-editorGroup-border: #ffffff17;
  --vscode-button-background: #0078d4; --vscode-button-foreground: #ffffff; --vscode-button-hoverBackground: #026ec1;
  --vscode-button-border: #ffffff12; --vscode-button-secondaryBackground: #313131; --vscode-button-secondaryForeground: #cccccc;
  --vscode-button-secondaryHoverBackground: #3c3c3c; --vscode-input-background: #313131; --vscode-input-foreground: #cccccc;
  --vscode-input-border: #3c3c3c; --vscode-input-placeholderForeground: #989898; --vscode-dropdown-background: #313131;
  --vscode-dropdown-foreground: #cccccc; --vscode-dropdown-border: #3c3c3c; --vscode-dropdown-listBackground: #1f1f1f;
  --vscode-checkbox-background: #313131; --vscode-checkbox-border: #3c3c3c; --vscode-checkbox-foreground: #cccccc;
  --vscode-list-hoverBackground: #2a2d2e; --vscode-list-activeSelectionBackground: #04395e; --vscode-list-activeSelectionForeground: #ffffff;
  --vscode-list-inactiveSelectionBackground: #37373d; --vscode-list-focusOutline: #0078d4;
  --vscode-editorWidget-background: #202020; --vscode-editorWidget-foreground: #cccccc; --vscode-editorWidget-border: #313131;
  --vscode-widget-shadow: #0000005c; --vscode-textLink-foreground: #4daafc; --vscode-settings-textInputBackground: #313131;
  --vscode-charts-blue: #3794ff; --vscode-charts-orange: #d18616; --vscode-charts-red: #f14c4c; --vscode-charts-green: #89d185;
  --vscode-testing-iconPassed: #73c991; --vscode-testing-iconFailed: #f14c4c; --vscode-testing-iconSkipped: #848484;
  --vscode-scrollbarSlider-background: #79797966; --vscode-contrastBorder: transparent; --vscode-icon-foreground: #cccccc; }
body { margin: 0; padding: 0 16px; box-sizing: border-box; color: var(--vscode-foreground); background: var(--vscode-editor-background);
  font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
html, body { height: 100%; }
.muted { color: var(--vscode-descriptionForeground); }
`;

export interface WebviewPage {
  readonly page: Page;
  /** messages the page posted to the host, in order */
  posted(): Promise<unknown[]>;
  /** posts a message to the page as the host would */
  send(message: unknown): Promise<void>;
  /** console errors and page errors seen so far */
  readonly errors: string[];
  /** CSP violations reported in the page so far */
  violations(): Promise<string[]>;
}

export interface WebviewPageOptions {
  /** the bundle's name: dist/webviews/<script>.js */
  readonly script: string;
  /** the webview's own CSS (after the theme) */
  readonly css?: string;
  /** the state getState() returns at start */
  readonly state?: unknown;
  readonly viewport?: { width: number; height: number };
}

/** Opens the webview's page in a new browser context and waits for its `ready` message. */
export async function openWebview(browser: Browser, options: WebviewPageOptions): Promise<WebviewPage> {
  const bundle = path.join(REPO, 'dist', 'webviews', `${options.script}.js`);
  if (!fs.existsSync(bundle)) {
    throw new Error(`${bundle} is missing: build it first (npx webpack --mode production)`);
  }
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1400, height: 860 } });
  const page = await context.newPage();
  const nonce = 'bm9uY2Utb2YtdGhlLXRlc3Q';
  const csp = [
    `default-src 'none'`,
    `style-src ${ORIGIN} 'nonce-${nonce}'`,
    `img-src ${ORIGIN} data: blob:`,
    `font-src ${ORIGIN}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const stub = `window.__posted = []; window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
 window.__state = ${JSON.stringify(options.state ?? null)} ?? undefined;
window.acquireVsCodeApi = () => ({
  postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
  getState: () => window.__state,
  setState: (s) => { window.__state = s; },
});`;
  const html = `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<style nonce="${nonce}">${THEME}${options.css ?? ''}</style></head>
<body><div id="root" aria-live="polite"></div>
<script nonce="${nonce}">${stub}</script>
<script nonce="${nonce}" src="${ORIGIN}/${options.script}.js"></script></body></html>`;
  await page.route(`${ORIGIN}/**`, (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/' || url.pathname === '/index.html') {
      return route.fulfill({ contentType: 'text/html', body: html });
    }
    const file = path.join(REPO, 'dist', 'webviews', path.basename(url.pathname));
    return fs.existsSync(file)
      ? route.fulfill({ path: file, contentType: file.endsWith('.css') ? 'text/css' : 'text/javascript' })
      : route.fulfill({ status: 404, body: '' });
  });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) {
      errors.push(m.text());
    }
  });
  page.on('pageerror', (e) => errors.push(e.stack ?? e.message));
  await page.goto(`${ORIGIN}/index.html`);
  await page.waitForFunction(() =>
    (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'),
  );
  return {
    page,
    errors,
    posted: () => page.evaluate(() => (window as unknown as { __posted: unknown[] }).__posted),
    violations: () => page.evaluate(() => (window as unknown as { __violations: string[] }).__violations),
    send: (message) => page.evaluate((m) => window.postMessage(m, '*'), message),
  };
}

/** Saves a screenshot as test-artifacts/<name>-<time>.png and returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const dir = path.join(REPO, 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.png`);
  await page.screenshot({ path: file });
  return file;
}

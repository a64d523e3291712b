/**
 * A static page that hosts the metric charts webview bundle (dist/webviews/metric-charts.js) in
 * Chromium without VS Code: the same strict CSP as the real page (nonce'd style and script, assets
 * from one origin), a stub of acquireVsCodeApi that records what the page posts, and a dark theme's
 * --vscode-* variables. Used by the browser test and by the chart rendering benchmark.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type {
  ChartSeries,
  HostToWebviewMessage,
  MetricChartsState,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/metric-charts';
import { CHARTS_CSS } from '../../src/extension/experiments/charts/style';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
const bundleDir = path.join(repoRoot, 'dist', 'webviews');

/** Variables VS Code sets on a webview with the Dark Modern theme (the subset the page reads). */
const DARK_THEME = `
html { --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-editor-background: #1f1f1f;
  --vscode-editorWidget-border: #454545; --vscode-panel-border: #2b2b2b; --vscode-font-family: system-ui, sans-serif;
  --vscode-font-size: 13px; --vscode-editor-font-family: monospace; --vscode-errorForeground: #f85149;
  --vscode-button-background: #0078d4; --vscode-button-foreground: #ffffff; --vscode-button-secondaryBackground: #313131;
  --vscode-button-secondaryForeground: #cccccc; --vscode-editorHoverWidget-background: #202020;
  --vscode-editorHoverWidget-border: #454545; --vscode-input-background: #313131; --vscode-input-foreground: #cccccc;
  --vscode-textBlockQuote-background: #2b2b2b; --vscode-editorWarning-foreground: #cca700; }
body { margin: 0; padding: 0 16px; color: var(--vscode-foreground); background: var(--vscode-editor-background);
  font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
button { font: inherit; padding: 4px 12px; border: 1px solid transparent; border-radius: 2px; cursor: pointer;
  color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
.muted { color: var(--vscode-descriptionForeground); }
`;

function pageHtml(origin: string, savedState: MetricChartsState | undefined, extra: readonly string[]): string {
  const nonce = randomBytes(18).toString('base64');
  const csp = [
    `default-src 'none'`,
    `style-src ${origin} 'nonce-${nonce}'`,
    `img-src ${origin} data: blob:`,
    `font-src ${origin}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  // the stub: what VS Code's webview host provides, recording messages and state for the test
  const stub = `
window.__posted = []; window.__violations = []; window.__state = ${JSON.stringify(savedState ?? null)};
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
window.acquireVsCodeApi = () => ({
  postMessage: (m) => window.__posted.push(m),
  getState: () => window.__state ?? undefined,
  setState: (s) => { window.__state = s; },
});`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<link rel="stylesheet" href="${origin}/uplot.css">
<style nonce="${nonce}">${DARK_THEME}${CHARTS_CSS}</style>
</head>
<body class="vscode-dark">
<div id="root" aria-live="polite"></div>
<script nonce="${nonce}">${stub}</script>
${extra.map((name) => `<script nonce="${nonce}" src="${origin}/extra/${name}"></script>`).join('\n')}
<script nonce="${nonce}" src="${origin}/metric-charts.js"></script>
</body>
</html>`;
}

export interface ChartsPage {
  readonly page: Page;
  /** messages the page posted so far */
  posted(): Promise<WebviewToHostMessage[]>;
  /** delivers a host message as VS Code does (a window message event) */
  post(message: HostToWebviewMessage): Promise<void>;
  /** waits until the page posted a message of this type (beyond the first `after` messages) */
  waitForPosted<T extends WebviewToHostMessage['type']>(
    type: T,
    after?: number,
  ): Promise<Extract<WebviewToHostMessage, { type: T }>>;
  /** charts drawn so far (each creation or data update of a chart) */
  drawn(): Promise<number>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.MLLAB_IT_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Serves the page and the bundle on 127.0.0.1 and opens it; resolves once the page said `ready`. */
export async function openChartsPage(
  browser: Browser,
  options: {
    width?: number;
    height?: number;
    state?: MetricChartsState;
    /** more scripts for the page, by path under the repository (e.g. a library to compare with) */
    extraScripts?: readonly string[];
  } = {},
): Promise<ChartsPage> {
  for (const file of ['metric-charts.js', 'uplot.css']) {
    if (!fs.existsSync(path.join(bundleDir, file))) {
      throw new Error(`${path.join(bundleDir, file)} is missing: run "npx webpack --mode production" first`);
    }
  }
  let origin = '';
  const server = http.createServer((req, res) => {
    const name = (req.url ?? '/').split('?')[0];
    if (name === '/' || name === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        pageHtml(
          origin,
          options.state,
          (options.extraScripts ?? []).map((f) => path.basename(f)),
        ),
      );
      return;
    }
    const extra = (options.extraScripts ?? []).find((f) => name === `/extra/${path.basename(f)}`);
    const file = extra ? path.join(repoRoot, extra) : path.join(bundleDir, path.basename(name));
    if ((!extra && !['/metric-charts.js', '/uplot.css'].includes(name)) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': name.endsWith('.css') ? 'text/css' : 'text/javascript' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${origin}/`);
  const posted = () => page.evaluate(() => (window as unknown as { __posted: WebviewToHostMessage[] }).__posted);
  const waitForPosted = async <T extends WebviewToHostMessage['type']>(type: T, after = 0) => {
    const handle = await page.waitForFunction(
      ([t, n]) =>
        (window as unknown as { __posted: { type: string }[] }).__posted.slice(n as number).find((m) => m.type === t),
      [type, after] as const,
      { timeout: 20000 },
    );
    return (await handle.jsonValue()) as Extract<WebviewToHostMessage, { type: T }>;
  };
  await waitForPosted('ready');
  return {
    page,
    posted,
    waitForPosted,
    post: (message) => page.evaluate((m) => window.postMessage(m, '*'), message),
    drawn: () => page.evaluate(() => Number(document.getElementById('root')!.dataset.chartsDrawn ?? 0)),
    close: async () => {
      await context.close();
      await new Promise((resolve) => server.close(resolve));
      if (errors.length > 0) {
        throw new Error(`errors in the page: ${errors.join('; ')}`);
      }
    },
  };
}

/** A training-like series: a noisy decaying loss, `n` steps, one point per second from `start`. */
export function syntheticSeries(
  runId: string,
  key: string,
  n: number,
  seed: number,
  start = Date.UTC(2026, 0, 2, 3, 4, 5),
  nanSteps?: { from: number; to: number },
): ChartSeries {
  let x = seed * 9973 + 1;
  const random = () => {
    x = (x * 16807) % 2147483647;
    return x / 2147483647;
  };
  const steps = new Float64Array(n);
  const times = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    steps[i] = i;
    times[i] = start + i * 1000;
    values[i] =
      nanSteps && i >= nanSteps.from && i <= nanSteps.to
        ? NaN
        : (2 + seed * 0.3) * Math.exp(-i / (n / 4)) + 0.15 * random() + (i % 97 === 0 ? 0.5 : 0);
  }
  return { runId, key, steps, times, values, total: n };
}

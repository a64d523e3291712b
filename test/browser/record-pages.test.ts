/**
 * The record pages (experiment details, dataset preview) in Chromium without VS Code, under the real
 * CSP, rendered by the shared record-page renderer: header fields, tables with their hover titles,
 * numbered rows, and the run's warnings. The model card has its own tests (model-webviews.test.ts).
 */
import * as assert from 'assert';
import type { Browser, Page } from 'playwright-core';
import { buildDetails } from '../../src/extension/experiments/details/content';
import { DETAILS_CSS } from '../../src/extension/experiments/details/css';
import { PREVIEW_CSS } from '../../src/extension/datasets/preview/html';
import type { ExperimentDetails } from '../../src/protocol/experiments';
import type { ShowMessage as PreviewShow } from '../../src/protocol/webviews/dataset-preview';
import { launchChromium, openWebview, type WebviewPage } from './webview-harness';

const RUN: ExperimentDetails = {
  id: '20260101-120000-abc123',
  projectId: 'p1',
  name: 'train',
  status: 'completed',
  startedAt: '2026-01-01T12:00:00.000Z',
  endedAt: '2026-01-01T12:01:05.500Z',
  durationMs: 65_500,
  exitCode: 0,
  operator: 'ada',
  params: { lr: 0.1, notes: 'n'.repeat(2000) },
  tags: {},
  metrics: [{ key: 'loss', count: 3, last: 0.123456, lastStep: 2, min: 0.1, max: 1, lastRaw: 0.123456 }],
  dir: '/lab/.mllab/runs/20260101-120000-abc123',
  manifest: {
    format: 1,
    id: '20260101-120000-abc123',
    name: 'train',
    project: null,
    status: 'completed',
    startedAt: '2026-01-01T12:00:00.000Z',
    endedAt: '2026-01-01T12:01:05.500Z',
    exitCode: 0,
    pid: 4242,
    operator: 'ada',
    command: ['python3', 'train.py'],
    cwd: '/work/proj',
    script: null,
    host: { hostname: 'box', os: 'Linux', cpus: 2, memoryBytes: 1024 ** 3, gpus: [] },
    runtime: { python: '3.11.7' },
    packages: null,
    git: null,
    params: {},
    tags: {},
  },
  artifacts: [],
  inputs: [],
  outputs: [],
  result: null,
  warnings: [
    "the value of the param 'notes' has 7000 characters: kept its first 6000 (the limit)",
    'the artifact link artifacts/out points outside the run directory: not followed <b>as text</b>',
  ],
};

const texts = (page: Page, selector: string) =>
  page.$$eval(selector, (nodes) => nodes.map((n) => (n as HTMLElement).innerText.trim()));
const titles = (page: Page, selector: string) =>
  page.$$eval(selector, (nodes) => nodes.map((n) => (n as HTMLElement).title));

describe('record pages in Chromium', function () {
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  it('experiment details: header fields, the warnings section first, tables with full values on hover', async () => {
    const view: WebviewPage = await openWebview(browser, { script: 'experiment-details', css: DETAILS_CSS });
    const page = view.page;
    const { show } = buildDetails({ details: RUN, logs: [], now: Date.parse(RUN.endedAt!), revealIn: 'os' });
    await view.send(show);
    await page.waitForSelector('h1');
    assert.ok((await texts(page, 'header dt')).includes('Run ID'));
    assert.deepStrictEqual(await texts(page, 'section h2'), [
      'Warnings (2)',
      ...show.sections.slice(1).map((s) => s.title),
    ]);
    assert.strictEqual(
      await page.locator('section[aria-label="Warnings (2)"] pre').innerText(),
      RUN.warnings!.join('\n'),
      'one a line, as text',
    );
    assert.strictEqual(await page.locator('section[aria-label="Warnings (2)"] b').count(), 0);
    const loss = page.locator('section[aria-label="Metrics (1)"] tbody tr td');
    assert.strictEqual(await loss.nth(1).innerText(), '0.1235');
    assert.strictEqual(await loss.nth(1).getAttribute('title'), '0.123456', 'the full value on hover');
    assert.deepStrictEqual(await titles(page, 'section[aria-label="Params (2)"] thead th'), ['', '']);
    assert.deepStrictEqual(view.errors, []);
    assert.deepStrictEqual(await view.violations(), [], 'no CSP violation');
  });

  it('dataset preview: fields, numbered rows, every header and cell with its text on hover', async () => {
    const view: WebviewPage = await openWebview(browser, { script: 'dataset-preview', css: PREVIEW_CSS });
    const page = view.page;
    const show: PreviewShow = {
      type: 'show',
      ref: 'iris:v2',
      title: 'iris:v2',
      fields: [{ label: 'SHA-256', value: 'ab'.repeat(32), monospace: true }],
      mode: 'table',
      table: {
        columns: ['sepal_length', 'species'],
        rows: [
          ['5.1', 'setosa'],
          ['7.0', 'versicolor <i>x</i>'],
        ],
        numeric: [true, false],
        titles: 'cells',
        rowNumbers: true,
      },
      note: '2 rows · 2 columns',
      counting: false,
      actions: ['copyCode'],
    };
    await view.send(show);
    await page.waitForSelector('table');
    assert.strictEqual(await page.locator('dd.mono').innerText(), 'ab'.repeat(32));
    assert.deepStrictEqual(await texts(page, 'thead th'), ['#', 'sepal_length', 'species']);
    assert.deepStrictEqual(await titles(page, 'thead th'), ['', 'sepal_length', 'species']);
    assert.deepStrictEqual(await texts(page, 'tbody td.rownum'), ['1', '2']);
    assert.deepStrictEqual(await titles(page, 'tbody tr:nth-child(2) td:not(.rownum)'), ['7.0', 'versicolor <i>x</i>']);
    assert.deepStrictEqual(await texts(page, 'tbody td.num'), ['5.1', '7.0']);
    assert.strictEqual(await page.locator('tbody i').count(), 0, 'cells are text');
    assert.deepStrictEqual(view.errors, []);
    assert.deepStrictEqual(await view.violations(), [], 'no CSP violation');
  });
});

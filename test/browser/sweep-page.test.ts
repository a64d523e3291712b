/**
 * The sweep page webview in Chromium without VS Code, under the real CSP: what the host posts (built
 * by the host's own sweepPageShow from a sweep's details) is rendered (header, best trial, the two
 * charts drawn on their canvas, trials, definition), links and buttons post the right messages, a
 * new `show` updates the page in place with the charts' canvas kept, and state is restored; and the
 * compare table opened on a sweep's parallel coordinates. Run after a build:
 *   npx webpack --mode production --config-name webviews && npx tsc -p tsconfig.test.json &&
 *   npx mocha --no-config --timeout 120000 --exit out/test/browser/sweep-page.test.js
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Browser } from 'playwright-core';
import { deriveColumns } from '../../src/common/compare/columns';
import { COMPARE_CSS } from '../../src/extension/experiments/compare/style';
import { sweepPageShow } from '../../src/extension/experiments/sweeps/page-content';
import { SWEEP_PAGE_CSS } from '../../src/extension/experiments/sweeps/style';
import type { SweepDetails, SweepTrial } from '../../src/protocol/sweeps';
import type { CompareTableState } from '../../src/protocol/webviews/compare-table';
import type { SweepPageShow, SweepPageState } from '../../src/protocol/webviews/sweep-page';
import { generateExperiments, tableMessage } from './compare-table-data';
import { launchChromium, openWebview, REPO, saveScreenshot, type WebviewPage } from './webview-harness';

/** the page's styles after uPlot's own (the panel links dist/webviews/uplot.css) */
const CSS = fs.readFileSync(path.join(REPO, 'dist', 'webviews', 'uplot.css'), 'utf8') + SWEEP_PAGE_CSS;

function trial(number: number, value: number | null, extra: Partial<SweepTrial> = {}): SweepTrial {
  return {
    number,
    runId: `20260301-1000${String(number).padStart(2, '0')}-abcdef`,
    state: value === null ? 'running' : 'completed',
    params: { lr: 10 ** -(1 + (number % 4)), optimizer: number % 2 ? 'sgd' : 'adam' },
    value,
    prunedStep: null,
    reason: null,
    startedAt: '2026-03-01T10:00:00.000Z',
    endedAt: value === null ? null : '2026-03-01T10:01:00.000Z',
    ...extra,
  };
}

/** A sweep with `n` ended trials (values falling then noisy), one pruned and one running. */
function details(n: number): SweepDetails {
  const values = Array.from({ length: n }, (_, i) => 1 / (i + 1) + (i % 3) * 0.05);
  const trials = [
    ...values.map((v, i) => trial(i, v)),
    trial(n, null, { state: 'pruned', prunedStep: 3, reason: 'below the median of the trials at step 3' }),
    trial(n + 1, null),
  ];
  let best = Infinity;
  const history = values.map((value, i) => {
    best = Math.min(best, value);
    return { trial: i, value, best };
  });
  const bestTrial = trials[values.indexOf(Math.min(...values))];
  return {
    id: 'sw-browser',
    projectId: 'p1',
    name: 'train <b>mnist</b>',
    state: 'running',
    definition: {
      name: 'train',
      command: ['python3', 'train.py'],
      cwd: '/home/ada/lab',
      params: {
        lr: { type: 'float', min: 0.0001, max: 0.1, log: true },
        optimizer: { type: 'choice', values: ['adam', 'sgd'] },
      },
      method: 'tpe',
      metric: { name: 'val_loss', goal: 'minimize' },
      trials: 20,
      parallel: 2,
      earlyStop: { type: 'median', startupTrials: 2 },
      maxFailures: 3,
      seed: 7,
    },
    counts: { done: n, running: 1, pruned: 1, failed: 0, total: 20 },
    best: bestTrial,
    message: null,
    warnings: ['fANOVA needs scikit-learn: mean decrease in impurity used instead'],
    createdAt: '2026-03-01T10:00:00.000Z',
    updatedAt: '2026-03-01T10:05:00.000Z',
    trials,
    history,
    importances:
      n >= 2
        ? {
            evaluator: 'meanDecreaseImpurity',
            values: [
              { param: 'lr', importance: 0.75 },
              { param: 'optimizer', importance: 0.25 },
            ],
            trials: n,
          }
        : null,
    importanceNote: null,
  };
}

/** How many pixels of the canvas under `selector` are drawn (not transparent). */
function drawnPixels(view: WebviewPage, selector: string): Promise<number> {
  return view.page.evaluate((sel) => {
    const canvas = document.querySelector<HTMLCanvasElement>(sel);
    if (!canvas) {
      return -1;
    }
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let i = 3; i < data.length; i += 4) {
      drawn += data[i] > 0 ? 1 : 0;
    }
    return drawn;
  }, selector);
}

const HISTORY = '[aria-label="Optimization history chart"] canvas';
const IMPORTANCE = '[aria-label="Parameter importances chart"] canvas';

describe('Sweep page webview (Chromium, strict CSP)', function () {
  this.timeout(120000);
  let browser: Browser;
  let view: WebviewPage;

  before(async () => {
    browser = await launchChromium();
    view = await openWebview(browser, { script: 'sweep-page', css: CSS });
  });
  after(async () => {
    await browser?.close();
  });

  const painted = async (trials: number) =>
    view.page.waitForFunction(
      (n) =>
        (window as unknown as { __posted: { type: string; trials?: number }[] }).__posted.some(
          (m) => m.type === 'painted' && m.trials === n,
        ),
      trials,
    );

  it('renders the header, the best trial, both charts, the trials and the definition', async () => {
    const show = sweepPageShow(details(6), true);
    await view.send(show);
    await painted(show.trials.length);
    const { page } = view;
    assert.strictEqual(await page.textContent('h1'), 'train <b>mnist</b>', 'text, never HTML');
    assert.strictEqual(await page.textContent('.state'), 'running');
    assert.strictEqual(await page.textContent('.progress'), '7/20 ended: 6 done · 1 running · 1 pruned');
    assert.match((await page.textContent('.warning')) ?? '', /mean decrease in impurity used instead/);
    assert.deepStrictEqual(
      await page.$$eval('header vscode-button', (bs) => bs.map((b) => (b as HTMLElement).dataset.action)),
      ['rerunBest', 'registerBest', 'pause', 'stop', 'addTrials', 'compare', 'parallel'],
    );
    assert.match((await page.textContent('.best strong')) ?? '', /^Trial \d: val_loss [\d.]+ \(minimize\)$/);
    assert.ok((await drawnPixels(view, HISTORY)) > 500, 'the history is drawn');
    assert.ok((await drawnPixels(view, IMPORTANCE)) > 500, 'the importances are drawn');
    assert.match(
      (await page.textContent('[aria-label="Parameter importances chart"] .caption')) ?? '',
      /mean decrease in impurity over 6 completed trials/,
    );
    const rows = await page.$$eval('table[aria-label="Trials"] tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)),
    );
    assert.strictEqual(rows.length, 8);
    assert.deepStrictEqual(rows[0].slice(0, 3), ['7', 'running', '']);
    assert.deepStrictEqual(rows[1].slice(0, 5), [
      '6',
      'pruned',
      '',
      'lr=0.001, optimizer=adam',
      'pruned at step 3: below the median of the trials at step 3',
    ]);
    assert.strictEqual(await page.$$eval('tr.best', (trs) => trs.length), 1);
    assert.match((await page.textContent('section:last-of-type')) ?? '', /median \(startupTrials 2\)/);
    assert.deepStrictEqual(view.errors, []);
    assert.deepStrictEqual(await view.violations(), []);
    await saveScreenshot(page, 'sweep-page');
  });

  it('posts the run to open and the action asked for', async () => {
    const { page } = view;
    await page.click('.best .link');
    await page.click('table[aria-label="Trials"] tbody tr:nth-child(3) .link');
    await page.click('vscode-button[data-action="rerunBest"]');
    await page.click('vscode-button[data-action="parallel"]');
    const posted = (await view.posted()) as { type: string }[];
    const asked = posted.filter((m) => m.type === 'openRun' || m.type === 'action');
    const best = sweepPageShow(details(6), true).best!;
    assert.deepStrictEqual(asked, [
      { type: 'openRun', runId: best.runId },
      { type: 'openRun', runId: '20260301-100005-abcdef' },
      { type: 'action', id: 'sw-browser', action: 'rerunBest' },
      { type: 'action', id: 'sw-browser', action: 'parallel' },
    ]);
  });

  it('updates in place as the sweep goes on, keeping the charts', async () => {
    const { page } = view;
    await page.evaluate((sel) => {
      (document.querySelector(sel) as HTMLElement & { __kept?: boolean }).__kept = true;
    }, HISTORY);
    const show = sweepPageShow(details(12), true);
    await view.send(show);
    await painted(show.trials.length);
    assert.strictEqual(await page.$$eval('table[aria-label="Trials"] tbody tr', (trs) => trs.length), 14);
    assert.ok(
      await page.evaluate(
        (sel) => (document.querySelector(sel) as HTMLElement & { __kept?: boolean }).__kept === true,
        HISTORY,
      ),
      'the same canvas, given new data',
    );
    const state = await page.evaluate(() => (window as unknown as { __state: SweepPageState }).__state);
    assert.strictEqual(state.show.trials.length, 14, 'kept for a panel shown again');
  });

  it('says what is missing before a trial completed, and renders its saved state before the host answers', async () => {
    const first: SweepPageShow = sweepPageShow({ ...details(0), best: null, history: [], importances: null }, false);
    const restored = await openWebview(browser, { script: 'sweep-page', css: CSS, state: { show: first } });
    const { page } = restored;
    assert.strictEqual(await page.textContent('h1'), 'train <b>mnist</b>');
    assert.strictEqual(await page.textContent('.empty'), 'No trial completed yet.');
    assert.strictEqual(
      await page.textContent('[aria-label="Optimization history chart"] .caption'),
      'Drawn once a trial completed.',
    );
    assert.match(
      (await page.textContent('[aria-label="Parameter importances chart"] .caption')) ?? '',
      /computed once two trials completed \(0 so far\)/,
    );
    assert.strictEqual(await page.$$(HISTORY).then((c) => c.length), 0, 'no empty chart');
    assert.deepStrictEqual(restored.errors, []);
    await page.context().close();
  });
});

describe("The compare table opened for a sweep's trials (Chromium, strict CSP)", function () {
  this.timeout(120000);
  let browser: Browser;
  after(async () => {
    await browser?.close();
  });

  it('switches to the parallel coordinates of the metric it names, once', async () => {
    browser = await launchChromium();
    const runs = generateExperiments(12, 3, 2);
    const view = await openWebview(browser, { script: 'compare-table', css: COMPARE_CSS });
    const metric = deriveColumns(runs).find((c) => c.group === 'metric' && c.key === 'm01' && c.stat === 'last')!;
    await view.send({ ...tableMessage(runs), show: { view: 'parallel', metric: metric.id } });
    const { page } = view;
    await page.waitForSelector('.parallel canvas');
    assert.match((await page.locator('.parallel canvas').getAttribute('aria-label'))!, /of 12 runs over .* m01$/);
    const state = await page.evaluate(() => (window as unknown as { __state: CompareTableState }).__state);
    assert.deepStrictEqual([state.view, state.parallelMetric, state.parallelParams], ['parallel', metric.id, []]);
    // the person switches back to the table; a later table without `show` keeps their choice
    await page.locator('vscode-button', { hasText: 'Table' }).click();
    await view.send({ ...tableMessage(runs), table: 2 });
    await page.waitForSelector('.grid');
    const after = await page.evaluate(() => (window as unknown as { __state: CompareTableState }).__state);
    assert.strictEqual(after.view, 'table');
    assert.deepStrictEqual(view.errors, []);
    assert.deepStrictEqual(await view.violations(), []);
  });
});

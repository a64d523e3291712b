/**
 * The compare table webview in Chromium with 100,000 runs, delivered as the panel delivers them:
 * the first rows with `table`, the others in bounded chunks the page asks for (ChunkedHost runs the
 * panel's own row handling). The first rows are painted while the others are still held back; then
 * every row arrives, sorting and filtering see all of them, and the grid scrolls to the last one.
 * Timings are printed, never asserted. Run after a build (see compare-table.test.ts).
 */
import * as assert from 'assert';
import type { Browser, Page } from 'playwright-core';
import { CHUNK, FIRST_CHUNK } from '../../src/extension/experiments/compare/table-rows';
import { COMPARE_CSS } from '../../src/extension/experiments/compare/style';
import type { Experiment } from '../../src/protocol/experiments';
import type { WebviewToHostMessage } from '../../src/protocol/webviews/compare-table';
import { generateExperiments } from './compare-table-data';
import { ChunkedHost } from './compare-table-host';
import { launchChromium, openWebview, saveScreenshot, type WebviewPage } from './webview-harness';

const RUNS = 100_000;
const ROW_HEIGHT = 24;

/** The run ids of the rows in the DOM, top to bottom (each row's check box names its run). */
function shownIds(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('.grow:not([hidden]):not(.group)'))
      .sort((a, b) => Number(a.dataset.line) - Number(b.dataset.line))
      .map((r) =>
        r
          .querySelector('input')!
          .getAttribute('aria-label')!
          .replace(/^Select /, ''),
      ),
  );
}

/** Waits until the page posted a message of this type, and returns the first. */
async function posted<T extends WebviewToHostMessage['type']>(
  page: Page,
  type: T,
): Promise<Extract<WebviewToHostMessage, { type: T }>> {
  const handle = await page.waitForFunction(
    (t) => (window as unknown as { __posted: { type: string }[] }).__posted.find((m) => m.type === t),
    type,
    { timeout: 110_000 },
  );
  return (await handle.jsonValue()) as Extract<WebviewToHostMessage, { type: T }>;
}

/** Scrolls the grid to its end and waits until the last line is in the DOM. */
async function scrollToEnd(page: Page, lines: number): Promise<void> {
  await page.locator('.grid').evaluate((g) => (g.scrollTop = g.scrollHeight));
  await page.waitForFunction(
    (last) =>
      Array.from(document.querySelectorAll<HTMLElement>('.grow:not([hidden])')).some(
        (r) => r.dataset.line === String(last),
      ),
    lines - 1,
  );
}

/** Runs sorted by a param as the table sorts them: by value, ties in the order they came (stable). */
function sortedBy(experiments: readonly Experiment[], key: string, descending: boolean): Experiment[] {
  const sign = descending ? -1 : 1;
  return [...experiments].sort((a, b) => sign * ((a.params[key] as number) - (b.params[key] as number)));
}

describe('compare table webview in Chromium: 100,000 runs in chunks', function () {
  let browser: Browser;
  let view: WebviewPage;
  let page: Page;
  let host: ChunkedHost;
  const experiments = generateExperiments(RUNS, 20, 10);

  before(async () => {
    browser = await launchChromium();
    view = await openWebview(browser, { script: 'compare-table', css: COMPARE_CSS });
    page = view.page;
    host = await ChunkedHost.attach(view, experiments);
  });

  after(async () => {
    await browser?.close();
  });

  it('paints the first rows before the others have arrived, then receives all of them in bounded chunks', async () => {
    host.hold();
    const t0 = await page.evaluate(() => performance.now());
    const table = await host.postTable();
    assert.ok(table.rows.length > 0 && table.rows.length <= FIRST_CHUNK.rows, `${table.rows.length} first rows`);
    assert.strictEqual(table.total, RUNS);

    // the page painted its first rows and asks for more, which the host holds back
    const painted = await posted(page, 'painted');
    assert.strictEqual(painted.rows, table.rows.length);
    await page.waitForFunction(() => document.querySelectorAll('.grow:not([hidden])').length > 10);
    assert.strictEqual(host.waiting, 1, 'one request for the next chunk');
    assert.deepStrictEqual(
      (await shownIds(page)).slice(0, 3),
      experiments.slice(0, 3).map((e) => e.id),
    );
    assert.strictEqual(
      await page.locator('.grid').getAttribute('aria-rowcount'),
      String(table.rows.length + 1),
      'only the first rows are in',
    );
    assert.match(
      await page.locator('.status-line').innerText(),
      new RegExp(`loading: ${table.rows.length} of 100,000 received`),
    );
    assert.ok(!(await view.posted()).some((m) => (m as WebviewToHostMessage).type === 'loaded'));
    const firstPaint = await page.evaluate(() => performance.now());
    await saveScreenshot(page, 'compare-table-loading');

    await host.release();
    const loaded = await posted(page, 'loaded');
    const allIn = await page.evaluate(() => performance.now());
    assert.strictEqual(loaded.rows, RUNS);
    assert.strictEqual(await page.locator('.grid').getAttribute('aria-rowcount'), String(RUNS + 1));
    assert.match(await page.locator('.status-line').innerText(), /^100,000 runs$/m);
    assert.doesNotMatch(await page.locator('.status-line').innerText(), /loading/);

    // every position once, in order, each chunk within its bounds
    const chunks = host.sent.filter((m) => m.type === 'tableRows');
    let at = table.rows.length;
    for (const c of chunks) {
      assert.strictEqual(c.from, at);
      assert.ok(c.rows.length <= CHUNK.rows);
      assert.ok(c.rows.length === 1 || c.rows.reduce((n, r) => n + JSON.stringify(r).length, 0) <= CHUNK.chars);
      at = c.next;
    }
    assert.strictEqual(at, RUNS);
    assert.strictEqual(table.rows.length + chunks.reduce((n, c) => n + c.rows.length, 0), RUNS);
    const largest = Math.max(...chunks.map((c) => JSON.stringify(c).length));
    console.log(
      `      ${RUNS.toLocaleString('en-US')} runs in ${chunks.length + 1} messages (largest ${(largest / 2 ** 20).toFixed(2)} MiB): ` +
        `first ${table.rows.length} rows painted and checked ${(firstPaint - t0).toFixed(0)} ms after the table was posted ` +
        `(with the rest held back), all rows in and painted ${(allIn - firstPaint).toFixed(0)} ms after the rest was released`,
    );
    assert.deepStrictEqual(view.errors, []);
    assert.deepStrictEqual(await view.violations(), [], 'no CSP violation');
  });

  it('shows the last run at the end of the scroll, and holds only a window of the rows in the DOM', async () => {
    await scrollToEnd(page, RUNS);
    const ids = await shownIds(page);
    assert.strictEqual(ids[ids.length - 1], experiments[RUNS - 1].id);
    const rows = await page.evaluate(() => document.querySelectorAll('.grow:not([hidden])').length);
    assert.ok(rows > 10 && rows < 100, `${rows} rows in the DOM`);
    await page.locator('.grid').evaluate((g) => (g.scrollTop = 0));
  });

  it('sorts all 100,000 runs: the first and the last rows are those of the whole table', async () => {
    const header = page.locator('.ghead button[data-column="params.p00"]');
    // a click, timed in the page up to the frame that shows the sorted rows
    const took = await page.evaluate(async () => {
      const button = document.querySelector<HTMLElement>('.ghead button[data-column="params.p00"]')!;
      const t0 = performance.now();
      button.dispatchEvent(new MouseEvent('click', { bubbles: true, detail: 1 }));
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      return performance.now() - t0;
    });
    console.log(`      header click to painted sorted table of 100,000 runs: ${took.toFixed(0)} ms`);
    await page.waitForFunction(
      () => document.querySelector('.ghead button[data-column="params.p00"] .sort')?.textContent === '▲',
    );
    const ascending = sortedBy(experiments, 'p00', false);
    assert.deepStrictEqual(
      (await shownIds(page)).slice(0, 5),
      ascending.slice(0, 5).map((e) => e.id),
    );
    await scrollToEnd(page, RUNS);
    assert.deepStrictEqual(
      (await shownIds(page)).slice(-3),
      ascending.slice(-3).map((e) => e.id),
    );

    await header.click();
    await page.waitForFunction(
      () => document.querySelector('.ghead button[data-column="params.p00"] .sort')?.textContent === '▼',
    );
    const descending = sortedBy(experiments, 'p00', true);
    await scrollToEnd(page, RUNS);
    assert.deepStrictEqual(
      (await shownIds(page)).slice(-3),
      descending.slice(-3).map((e) => e.id),
    );
    await page.locator('.grid').evaluate((g) => (g.scrollTop = 0));
    await page.waitForFunction(() => document.querySelector<HTMLElement>('.grow:not([hidden])')?.dataset.line === '0');
    assert.deepStrictEqual(
      (await shownIds(page)).slice(0, 3),
      descending.slice(0, 3).map((e) => e.id),
    );
  });

  it('filters all 100,000 runs', async () => {
    const expected = experiments.filter((e) => (e.params.p00 as number) > 0.5 && e.status === 'failed').length;
    await page.locator('vscode-textfield.filter input').fill('p00 > 0.5, status = failed');
    await page.waitForFunction(
      (n) => document.querySelector('.status-line')!.textContent!.includes(`${n.toLocaleString()} of 100,000 runs`),
      expected,
    );
    await page.locator('vscode-textfield.filter input').fill('');
    await page.waitForFunction(() => document.querySelector('.status-line')!.textContent!.startsWith('100,000 runs'));
  });
});

describe('compare table webview in Chromium: runs that change while the table loads', function () {
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  it('ends with the rows as the host has them, the selection and the scroll position it was left with', async () => {
    const runs = generateExperiments(5_000, 4, 2);
    const selectedRun = runs[4_000].id; // in a chunk still to come when the table starts
    const view = await openWebview(browser, {
      script: 'compare-table',
      css: COMPARE_CSS,
      state: { selected: [selectedRun], scrollTop: ROW_HEIGHT * 3_000 },
    });
    const page = view.page;
    const host = await ChunkedHost.attach(view, runs);
    host.hold();
    const table = await host.postTable();
    await posted(page, 'painted');
    assert.match(
      await page.locator('.status-line').innerText(),
      /1 selected/,
      'a selected run still to come stays selected',
    );

    // meanwhile: a run still to come is deleted and another one changed, one already sent changes, one is new
    const pending = runs[table.rows.length + 10];
    const gone = runs[4_500];
    const earlier = runs[1];
    const added: Experiment = { ...runs[0], id: 'run-new', name: 'new-run', params: { ...runs[0].params, p00: 5 } };
    const now = [
      added,
      ...runs
        .filter((e) => e !== gone)
        .map((e) =>
          e === pending
            ? { ...e, params: { ...e.params, p00: 9 } }
            : e === earlier
              ? { ...e, params: { ...e.params, p00: 7 } }
              : e,
        ),
    ];
    await host.update(now);
    assert.deepStrictEqual(
      host.sent.filter((m) => m.type === 'tableRows'),
      [],
      'no chunk yet: the host still holds the request',
    );
    await host.release();
    await posted(page, 'loaded');

    assert.match(await page.locator('.status-line').innerText(), /^5,000 runs$/m);
    assert.match(await page.locator('.status-line').innerText(), /1 selected/);
    assert.strictEqual(await page.locator('.grid').evaluate((g) => g.scrollTop), ROW_HEIGHT * 3_000);
    await page.locator('.grid').evaluate((g) => (g.scrollTop = 0));
    await page.waitForFunction(() => document.querySelector<HTMLElement>('.grow:not([hidden])')?.dataset.line === '0');
    assert.strictEqual((await shownIds(page))[0], 'run-new', 'a new run goes first');
    // sorted by p00, highest first: the changed runs as they are now; the deleted one is gone
    await page.locator('.ghead button[data-column="params.p00"]').click();
    await page.locator('.ghead button[data-column="params.p00"]').click();
    await page.waitForFunction(
      () => document.querySelector('.ghead button[data-column="params.p00"] .sort')?.textContent === '▼',
    );
    assert.deepStrictEqual((await shownIds(page)).slice(0, 3), [pending.id, earlier.id, 'run-new']);
    const filter = page.locator('vscode-textfield.filter input');
    await filter.fill(gone.id);
    await page.waitForFunction(() => document.querySelector('.empty')?.textContent === 'No run matches the filters.');
    assert.deepStrictEqual(view.errors, []);
    await page.context().close();
  });
});

/**
 * The compare table webview in Chromium without VS Code: 10,000 generated runs, virtualized rows,
 * sorting by header clicks, filters, selection, messages to the host, and screenshots in
 * test-artifacts/. Run after a build:
 *   npx webpack --mode production && npx tsc -p tsconfig.test.json &&
 *   npx mocha --no-config --timeout 120000 out/test/browser/compare-table.js
 */
import * as assert from 'assert';
import type { Browser, Page } from 'playwright-core';
import { COMPARE_CSS } from '../../src/extension/experiments/compare/style';
import { runLabels } from '../../src/protocol/run-label';
import type { CompareTableState, WebviewToHostMessage } from '../../src/protocol/webviews/compare-table';
import { generateExperiments, tableMessage } from './compare-table-data';
import { launchChromium, openWebview, saveScreenshot, type WebviewPage } from './webview-harness';

const RUNS = 10_000;

/** The texts of the pinned run cells (the run labels) of the rows in the DOM, top to bottom. */
function shownLabels(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('.grow:not([hidden]):not(.group)'))
      .sort((a, b) => Number(a.dataset.line) - Number(b.dataset.line))
      .map((r) => r.querySelector('[role=rowheader]')!.textContent!),
  );
}

/** The run names of the rows in the DOM, top to bottom: a label starts with the name (no spaces here). */
async function shownNames(page: Page): Promise<string[]> {
  return (await shownLabels(page)).map((label) => label.split(' ')[0]);
}

/** The text of one column's cells in the rows in the DOM, top to bottom. */
function shownCells(page: Page, column: string): Promise<string[]> {
  return page.evaluate((column) => {
    const header = Array.from(document.querySelectorAll<HTMLElement>('.ghead button')).find(
      (b) => b.dataset.column === column,
    );
    const colIndex = header?.closest('[aria-colindex]')?.getAttribute('aria-colindex');
    return Array.from(document.querySelectorAll<HTMLElement>('.grow:not([hidden]):not(.group)'))
      .sort((a, b) => Number(a.dataset.line) - Number(b.dataset.line))
      .map((r) => r.querySelector(`[aria-colindex="${colIndex}"]`)?.textContent ?? '');
  }, column);
}

const statusText = (page: Page) => page.locator('.status-line').innerText();

describe('compare table webview in Chromium', function () {
  let browser: Browser;
  let view: WebviewPage;
  let page: Page;
  const experiments = generateExperiments(RUNS, 20, 10);
  const message = tableMessage(experiments);
  const lastMessages = async () => (await view.posted()) as WebviewToHostMessage[];

  before(async () => {
    browser = await launchChromium();
    view = await openWebview(browser, { script: 'compare-table', css: COMPARE_CSS });
    page = view.page;
    await view.send(message);
    await page.waitForSelector('.grow');
  });

  after(async () => {
    await browser?.close();
  });

  it('renders native-looking controls (vscode-elements) under the strict CSP, without errors', async () => {
    const styled = await page.evaluate(() => {
      const b = document.querySelector('vscode-button')!;
      const inner = b.shadowRoot?.adoptedStyleSheets.length ?? 0;
      return { inner, height: b.getBoundingClientRect().height, bg: getComputedStyle(b).backgroundColor };
    });
    assert.ok(styled.inner > 0, 'the button has its stylesheets');
    assert.ok(styled.height > 10, `the button has a size (${styled.height})`);
    assert.deepStrictEqual(view.errors, []);
    assert.deepStrictEqual(await view.violations(), [], 'no CSP violation');
  });

  it('holds only a window of the 10,000 rows in the DOM', async () => {
    const counts = await page.evaluate(() => ({
      rows: document.querySelectorAll('.grow:not([hidden])').length,
      ariaRows: document.querySelector('.grid')!.getAttribute('aria-rowcount'),
      cells: document.querySelectorAll('.grow .cell').length,
    }));
    assert.strictEqual(counts.ariaRows, String(RUNS + 1));
    assert.ok(counts.rows > 10 && counts.rows < 100, `${counts.rows} rows in the DOM`);
    assert.ok(counts.cells < 100 * 40, `${counts.cells} cells in the DOM`);
    assert.match(await statusText(page), /10,000 runs/);
    assert.deepStrictEqual((await shownNames(page)).slice(0, 2), ['train-0', 'train-1']);
    // the pinned cell labels each run with the params that differ most among the runs shown
    const labels = runLabels(experiments);
    const [first] = await shownLabels(page);
    assert.strictEqual(first, labels.get(experiments[0].id));
    assert.match(first, /^train-0 p\d\d=[\w.]+ /, 'the name, then params');

    await page.locator('.grid').evaluate((g) => (g.scrollTop = 24 * 5000));
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll<HTMLElement>('.grow:not([hidden])')).some((r) => r.dataset.line === '5005'),
    );
    const after = await page.evaluate(() => document.querySelectorAll('.grow:not([hidden])').length);
    assert.ok(after < 100, `${after} rows in the DOM after scrolling`);
    assert.ok((await shownNames(page)).includes(`train-${5005 % 50}`));
    await page.locator('.grid').evaluate((g) => (g.scrollTop = 0));
  });

  it('sorts by a header click, reverses on a second click and adds a key with Shift+click', async () => {
    const p00 = experiments.map((e) => e.params.p00 as number).sort((a, b) => a - b);
    await page.locator('.ghead button[data-column="params.p00"]').click();
    await page.waitForFunction(
      () => document.querySelector('.ghead button[data-column="params.p00"] .sort')?.textContent === '▲',
    );
    const asc = (await shownCells(page, 'params.p00')).slice(0, 5).map(Number);
    assert.deepStrictEqual(asc, p00.slice(0, 5));
    await page.locator('.ghead button[data-column="params.p00"]').click();
    const desc = (await shownCells(page, 'params.p00')).slice(0, 5).map(Number);
    assert.deepStrictEqual(desc, p00.slice(-5).reverse());

    // status then name: shift-click adds the second key, the indicators number them
    await page.locator('.ghead button[data-column="status"]').click();
    await page.locator('.ghead button[data-column="duration"]').click({ modifiers: ['Shift'] });
    assert.strictEqual(await page.locator('.ghead button[data-column="status"] .sort').innerText(), '▲1');
    assert.strictEqual(await page.locator('.ghead button[data-column="duration"] .sort').innerText(), '▲2');
    // duration is at the right end (after params and metrics): clicking it scrolled there
    await page.locator('.grid').evaluate((g) => (g.scrollLeft = 0));
    await page.waitForFunction(() => {
      const rows = Array.from(document.querySelectorAll<HTMLElement>('.grow:not([hidden]):not(.group)'));
      const top = rows.sort((a, b) => Number(a.dataset.line) - Number(b.dataset.line))[0];
      return top?.querySelector('[aria-colindex="3"]:not([hidden])')?.textContent;
    });
    const statuses = await shownCells(page, 'status');
    assert.strictEqual(statuses[0], 'completed');
    const state = (await page.evaluate(() => (window as unknown as { __state: CompareTableState }).__state)).sort;
    assert.deepStrictEqual(state, [
      { column: 'status', descending: false },
      { column: 'duration', descending: false },
    ]);
  });

  it('filters with expressions and explains a bad one', async () => {
    const filter = page.locator('vscode-textfield.filter input');
    await filter.fill('p00 > 0.5, m00 >= 0.9');
    const expected = experiments.filter(
      (e) => (e.params.p00 as number) > 0.5 && (e.metrics.find((m) => m.key === 'm00')?.last ?? -1) >= 0.9,
    ).length;
    await page.waitForFunction(
      (n) => document.querySelector('.status-line')!.textContent!.includes(`${n.toLocaleString()} of 10,000`),
      expected,
    );
    const failed = experiments.filter((e) => e.status === 'failed').length;
    await filter.fill('');
    await page.locator('.statuses vscode-checkbox', { hasText: 'failed' }).click();
    await page.waitForFunction(
      (n) => document.querySelector('.status-line')!.textContent!.includes(`${n.toLocaleString()} of 10,000`),
      failed,
    );
    assert.ok((await shownCells(page, 'status')).every((s) => s === 'failed'));
    await page.locator('.statuses vscode-checkbox', { hasText: 'failed' }).click();
    await filter.fill('accuracy > 0.9');
    await page.waitForSelector('.status-line .error');
    assert.match(await page.locator('.status-line .error').innerText(), /Unknown column "accuracy"/);
    await filter.fill('');
    await page.waitForFunction(() => document.querySelector('.status-line')!.textContent!.includes('10,000 runs'));
  });

  it('is usable with the keyboard: header sort, row moves, selection and opening', async () => {
    await page.locator('.ghead button[data-column="operator"]').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.querySelector('.ghead button[data-column="operator"] .sort')?.textContent === '▲',
    );
    assert.strictEqual(await page.evaluate(() => document.activeElement?.getAttribute('data-column')), 'operator');
    await page.keyboard.press('Shift+Enter');
    assert.strictEqual(await page.locator('.ghead button[data-column="operator"] .sort').innerText(), '▼');
    const names = await shownNames(page);
    await page.locator('.grid').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Space');
    await page.waitForFunction(() => document.querySelector('.status-line')!.textContent!.includes('1 selected'));
    await page.keyboard.press('Enter');
    const open = (await lastMessages()).find((m) => m.type === 'openExperiment');
    assert.ok(open && open.type === 'openExperiment');
    assert.strictEqual(experiments.find((e) => e.id === open.id)?.name, names[1]);
    assert.strictEqual((await page.locator('#active-row [role=rowheader]').innerText()).split(' ')[0], names[1]);
    await page.keyboard.press('Space'); // unselect again
    await page.locator('.ghead button[data-column="status"]').click();
    await page.locator('.ghead button[data-column="duration"]').click({ modifiers: ['Shift'] });
    await page.locator('.grid').evaluate((g) => (g.scrollLeft = 0));
  });

  it('selects rows, charts them, opens one by double-click, exports the shown table', async () => {
    const rows = page.locator('.grow:not([hidden]):not(.group)');
    await rows.nth(0).locator('input[type=checkbox]').click();
    await rows
      .nth(2)
      .locator('input[type=checkbox]')
      .click({ modifiers: ['Shift'] });
    await page.waitForFunction(() => document.querySelector('.status-line')!.textContent!.includes('3 selected'));
    const names = await shownNames(page);
    const chosen = (await page.evaluate(() => (window as unknown as { __state: CompareTableState }).__state)).selected;
    assert.strictEqual(chosen.length, 3);
    await page.locator('vscode-button', { hasText: 'Chart Selected (3)' }).click();
    const chart = (await lastMessages()).find((m) => m.type === 'chart');
    assert.deepStrictEqual(chart && 'ids' in chart ? [...chart.ids].sort() : [], [...chosen].sort());

    await rows.nth(1).locator('[role=rowheader]').dblclick();
    const open = (await lastMessages()).filter((m) => m.type === 'openExperiment').pop();
    assert.ok(open && 'id' in open && experiments.find((e) => e.id === open.id)?.name === names[1]);

    await page.locator('vscode-button', { hasText: 'Export CSV' }).click();
    const exported = (await lastMessages()).find((m) => m.type === 'exportCsv');
    assert.ok(exported && exported.type === 'exportCsv');
    assert.strictEqual(exported.ids.length, RUNS);
    // the status, then what the runs were given and what they got, then the rest of their record
    assert.deepStrictEqual(exported.columns.slice(0, 3), ['name', 'status', 'params.p00']);
    assert.deepStrictEqual(exported.columns.slice(-4), ['started', 'duration', 'operator', 'runId']);
    assert.ok(!exported.columns.includes('metrics.m00.min'), 'hidden columns are not exported');
  });

  it('keeps sort, selection and scroll when a running run changes and when a run is deleted', async () => {
    await page.locator('.grid').evaluate((g) => (g.scrollTop = 24 * 300));
    await page.waitForTimeout(100);
    const before = await shownNames(page);
    const running = experiments.find((e) => e.status === 'running')!;
    const changed = {
      ...running,
      metrics: running.metrics.map((m) => (m.key === 'm00' ? { ...m, lastRaw: 123, last: 123 } : m)),
    };
    const columns = message.columns;
    const { encodeRow } = await import('../../src/common/compare/columns');
    await view.send({ type: 'rows', rows: [encodeRow(changed, columns)] });
    await view.send({ type: 'deleteRows', ids: [experiments[9999].id] });
    await page.waitForFunction(() => document.querySelector('.status-line')!.textContent!.includes('9,999 runs'));
    assert.strictEqual(await page.locator('.grid').evaluate((g) => g.scrollTop), 24 * 300);
    assert.deepStrictEqual(await shownNames(page), before);
    assert.match(await statusText(page), /3 selected/);
  });

  it('groups by a param with counts, shows only differing columns, and draws parallel coordinates', async () => {
    await page.locator('.grid').evaluate((g) => (g.scrollTop = 0));
    await page.locator('vscode-checkbox', { hasText: 'Only columns that differ' }).click();
    await page.evaluate(() => {
      const select = document.querySelector<HTMLElement & { value: string }>(
        'vscode-single-select[aria-label="Group by"]',
      )!;
      select.value = 'params.p01';
      select.dispatchEvent(new Event('change'));
    });
    await page.waitForSelector('.grow.group');
    const groups = await page.locator('.grow.group').allInnerTexts();
    assert.match(groups[0], /^▾ p01 = adam — [\d,]+ runs$/);
    await saveScreenshot(page, 'compare-table');

    await page.locator('vscode-button', { hasText: 'Parallel Coordinates' }).click();
    await page.waitForSelector('.parallel canvas');
    await page.waitForFunction(() => document.querySelector('.parallel .legend')!.textContent!.startsWith('Colour'));
    const label = await page.locator('.parallel canvas').getAttribute('aria-label');
    assert.match(label!, /Parallel coordinates of 9,999 runs over p00, p01, .* m00/);
    await saveScreenshot(page, 'compare-table-parallel');
    assert.deepStrictEqual(view.errors, []);
    assert.deepStrictEqual(await view.violations(), [], 'no CSP violation');
  });

  it('names the param axes it draws in the param list, and marks "no value" only where a run has none', async () => {
    // still in the parallel view of the previous test, with the axes chosen automatically
    const badge = await page
      .locator('vscode-multi-select[aria-label="Param axes"]')
      .evaluate((s) => s.shadowRoot?.querySelector('.select-face-badge')?.textContent?.trim() ?? '');
    assert.match(badge, /^8 Selected$/i, 'the 8 automatic axes, not "0 selected"');
    const state = await page.evaluate(() => (window as unknown as { __state: CompareTableState }).__state);
    assert.deepStrictEqual(state.parallelParams, [], 'still chosen automatically: nothing saved');
  });

  it('keeps the run column pinned while scrolling right, and says how many columns are off to the right', async () => {
    await page.locator('vscode-button', { hasText: 'Table' }).click();
    await page.waitForSelector('.grid .grow');
    await page.locator('.grid').evaluate((g) => (g.scrollLeft = 0));
    const cue = page.locator('.scroll-cue');
    await cue.waitFor({ state: 'visible' });
    const before = Number((await cue.innerText()).match(/^(\d+) more columns? →$/)![1]);
    assert.ok(before > 0, await cue.innerText());
    await cue.click();
    await page.waitForFunction(() => document.querySelector('.grid')!.scrollLeft > 0);
    await page.waitForFunction(
      (n) => Number(/^(\d+)/.exec(document.querySelector('.scroll-cue')!.textContent ?? '')?.[1] ?? 0) < n,
      before,
    );
    const at = await page.evaluate(() => {
      const grid = document.querySelector('.grid')!.getBoundingClientRect();
      const pinned = document
        .querySelector('.grow:not([hidden]):not(.group) [role=rowheader]')!
        .getBoundingClientRect();
      return { grid: grid.left, pinned: pinned.left, scrolled: document.querySelector('.grid.scrolled-x') !== null };
    });
    assert.ok(Math.abs(at.pinned - (at.grid + 28)) <= 1, `the run cell stays at the left edge (${JSON.stringify(at)})`);
    assert.ok(at.scrolled, 'a shadow marks the pinned column once scrolled');
    await page.locator('.grid').evaluate((g) => (g.scrollLeft = g.scrollWidth));
    await page.waitForFunction(() => (document.querySelector('.scroll-cue') as HTMLElement).hidden);
    await page.locator('.grid').evaluate((g) => (g.scrollLeft = 0));
  });

  it('hides run, param and metric columns whose values are all the same with "Only columns that differ"', async () => {
    const same = generateExperiments(6, 4, 2).map((e) => ({ ...e, operator: 'ada', status: 'completed' as const }));
    const other = await openWebview(browser, {
      script: 'compare-table',
      css: COMPARE_CSS,
      state: { differOnly: true },
    });
    const small = tableMessage(same.map((e) => ({ ...e, params: { ...e.params, seed: 7, note: undefined } })));
    await other.send(small);
    await other.page.waitForSelector('.grow');
    const headers = await other.page.$$eval('.ghead button[data-column]', (bs) =>
      bs.map((b) => (b as HTMLElement).dataset.column!),
    );
    assert.ok(!headers.includes('operator'), `operator is the same for every run: ${headers.join(', ')}`);
    assert.ok(!headers.includes('status'), 'so is the status');
    assert.ok(!headers.includes('params.seed'), 'and the seed param');
    assert.ok(headers.includes('runId') && headers.includes('params.p00'), headers.join(', '));
    await other.page.context().close();
  });

  it('chooses columns: search, show a hidden one, close with Escape', async () => {
    await page.locator('vscode-button', { hasText: 'Columns…' }).click();
    await page.waitForSelector('.chooser');
    await page.locator('.chooser vscode-textfield input').fill('m00.m');
    const listed = page.locator('.chooser .list vscode-checkbox');
    assert.strictEqual(await listed.count(), 2, 'metrics.m00.min and metrics.m00.max');
    await listed.first().click();
    await page.waitForSelector('.ghead button[data-column="metrics.m00.min"]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('.chooser', { state: 'detached' });
    const state = await page.evaluate(() => (window as unknown as { __state: CompareTableState }).__state);
    assert.deepStrictEqual(state.visibility, { 'metrics.m00.min': true });
    await saveScreenshot(page, 'compare-table-columns');
  });

  it('restores its state when shown again and says why it is empty', async () => {
    const state = await page.evaluate(() => (window as unknown as { __state: CompareTableState }).__state);
    const again = await openWebview(browser, {
      script: 'compare-table',
      css: COMPARE_CSS,
      state: { ...state, view: 'table' },
    });
    await again.send({ ...message, rows: message.rows.slice(0, 30), total: 30 });
    await again.page.waitForSelector('.grow.group');
    assert.match(await again.page.locator('.ghead button[data-column="status"] .sort').innerText(), /▲1/);
    assert.strictEqual(
      await again.page
        .locator('vscode-checkbox', { hasText: 'Only columns that differ' })
        .evaluate((c) => (c as HTMLElement & { checked: boolean }).checked),
      true,
    );
    await again.send({
      type: 'table',
      table: 2,
      project: 'empty',
      columns: message.columns.slice(0, 5),
      rows: [],
      total: 0,
      empty: 'No experiments yet — run a script with ML Lab: Run as Experiment.',
    });
    await again.page.waitForSelector('.empty');
    assert.match(await again.page.locator('.empty').innerText(), /No experiments yet/);
    await again.page.context().close();
  });
});

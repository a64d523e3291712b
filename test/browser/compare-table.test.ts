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
import type { CompareTableState, WebviewToHostMessage } from '../../src/protocol/webviews/compare-table';
import { generateExperiments, tableMessage } from './compare-table-data';
import { launchChromium, openWebview, saveScreenshot, type WebviewPage } from './webview-harness';

const RUNS = 10_000;

/** The texts of the name cells of the rows in the DOM, top to bottom. */
function shownNames(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('.grow:not([hidden]):not(.group)'))
      .sort((a, b) => Number(a.dataset.line) - Number(b.dataset.line))
      .map((r) => r.querySelector('[role=rowheader]')!.textContent!),
  );
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
    assert.strictEqual(await page.locator('#active-row [role=rowheader]').innerText(), names[1]);
    await page.keyboard.press('Space'); // unselect again
    await page.locator('.ghead button[data-column="status"]').click();
    await page.locator('.ghead button[data-column="duration"]').click({ modifiers: ['Shift'] });
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
    assert.deepStrictEqual(exported.columns.slice(0, 3), ['name', 'status', 'started']);
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

  it('chooses columns: search, show a hidden one, close with Escape', async () => {
    await page.locator('vscode-button', { hasText: 'Table' }).click();
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
    await again.send({ ...message, rows: message.rows.slice(0, 30) });
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
      project: 'empty',
      columns: message.columns.slice(0, 5),
      rows: [],
      empty: 'No experiments yet — run a script with ML Lab: Run as Experiment.',
    });
    await again.page.waitForSelector('.empty');
    assert.match(await again.page.locator('.empty').innerText(), /No experiments yet/);
    await again.page.context().close();
  });
});

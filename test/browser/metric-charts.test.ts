/**
 * The metric charts webview in Chromium, without VS Code: the real bundle in a page with the real
 * CSP, fed with generated series the way the host feeds it. Saves test-artifacts/metric-charts-*.png.
 *
 *   npx webpack --mode production && npx tsc -p tsconfig.test.json && npm run test:browser
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Browser } from 'playwright-core';
import type { ChartRun, ChartSeries, InitMessage } from '../../src/protocol/webviews/metric-charts';
import { launchChromium, openChartsPage, repoRoot, syntheticSeries, type ChartsPage } from './harness';

const artifacts = path.join(repoRoot, 'test-artifacts');
const started = Date.UTC(2026, 0, 2, 3, 4, 5);

const runs: ChartRun[] = [
  { id: 'run-a', name: 'baseline', label: 'baseline', colour: 0, status: 'completed', startedAt: started },
  { id: 'run-b', name: 'train', label: 'train lr=0.1', colour: 1, status: 'completed', startedAt: started },
  { id: 'run-c', name: 'diverged', label: 'diverged', colour: 2, status: 'running', startedAt: started },
];

/** every key's series of every run, as a host would answer `load` */
function seriesOf(key: string): ChartSeries[] {
  switch (key) {
    case 'loss':
      return [
        syntheticSeries('run-a', 'loss', 2000, 1),
        syntheticSeries('run-b', 'loss', 2000, 2),
        syntheticSeries('run-c', 'loss', 1500, 3, started, { from: 600, to: 800 }),
      ];
    case 'accuracy':
      return runs.map((r, i) => {
        const s = syntheticSeries(r.id, 'accuracy', 300, i + 4);
        return { ...s, values: s.values.map((v) => 1 - v / 3) };
      });
    case 'final_score':
      return [
        {
          runId: 'run-a',
          key: 'final_score',
          steps: Float64Array.of(0),
          times: Float64Array.of(started),
          values: Float64Array.of(0.93),
          total: 1,
        },
      ];
    default:
      return [];
  }
}

/** Pixels of the page's chart canvases that something was drawn on. */
async function paintedPixels(charts: ChartsPage): Promise<number[]> {
  return charts.page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLCanvasElement>('.plot canvas')).map((canvas) => {
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) {
        if (data[i] > 0) {
          painted++;
        }
      }
      return painted;
    }),
  );
}

describe('metric charts webview in Chromium', function () {
  this.timeout(60000);
  let browser: Browser;
  let charts: ChartsPage;

  before(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
  });

  afterEach(async () => {
    await charts?.close();
  });

  it('draws every key with real data, loads what scrolls into view, zooms and exports', async () => {
    charts = await openChartsPage(browser);
    const init: InitMessage = {
      type: 'init',
      runs,
      keys: ['accuracy', 'empty_key', 'final_score', 'loss'],
      series: seriesOf('loss'), // the rest is asked for with `load`
    };
    await charts.post(init);
    const load = await charts.waitForPosted('load');
    assert.deepStrictEqual([...load.keys].sort(), ['accuracy', 'empty_key', 'final_score']);
    assert.ok(load.pixels > 300, `the page reports its chart width (${load.pixels} px)`);
    await charts.post({ type: 'series', keys: load.keys, series: load.keys.flatMap(seriesOf) });
    await charts.page.waitForFunction(() => document.querySelectorAll('.plot canvas').length === 3);
    await charts.page.waitForTimeout(200); // let uPlot's first paint land

    const painted = await paintedPixels(charts);
    assert.strictEqual(painted.length, 3, 'one canvas per key with points');
    for (const n of painted) {
      assert.ok(n > 1000, `a chart was painted (${n} pixels)`);
    }
    const text = await charts.page.evaluate(() => document.body.innerText);
    assert.match(text, /No points: none of the runs shown logged this metric/, 'a key without points says so');
    assert.match(text, /diverged: NaN at steps 600–800/, 'a NaN period is named under its chart');
    assert.match(text, /baseline: a single point/);
    assert.match(text, /lr=0\.1/, 'the legend names the runs');
    await charts.page.screenshot({ path: path.join(artifacts, 'metric-charts-browser.png'), fullPage: true });

    // the crosshair tooltip lists every run's value at the cursor
    const plot = charts.page.locator('section[data-key="loss"] .u-over');
    const box = (await plot.boundingBox())!;
    await charts.page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    const tooltip = charts.page.locator('section[data-key="loss"] .tooltip');
    await tooltip.waitFor({ state: 'visible' });
    assert.strictEqual(await tooltip.locator('.tooltip-row').count(), 3);
    await charts.page.screenshot({ path: path.join(artifacts, 'metric-charts-tooltip.png') });
    // past the end of a shorter run: it says where it ended instead of showing its last value as current
    const shorter = seriesOf('loss')[2];
    const lastStep = shorter.steps[shorter.steps.length - 1];
    await charts.page.mouse.move(box.x + box.width * 0.97, box.y + box.height / 2);
    await charts.page.waitForFunction(
      () => document.querySelector('section[data-key="loss"] .tooltip .tooltip-row.absent') !== null,
    );
    const rows = await tooltip.locator('.tooltip-row').allInnerTexts();
    assert.strictEqual(rows.length, 3);
    assert.match(rows[2].replace(/\s+/g, ' '), new RegExp(`^diverged ended at step ${lastStep}$`), rows.join(' | '));
    for (const row of rows.slice(0, 2)) {
      assert.match(row.replace(/\s+/g, ' '), /^(baseline|train lr=0\.1) ≈? ?[\d.e-]+$/, rows.join(' | '));
    }

    // drag-zoom asks the host for the visible range at full detail
    const before = (await charts.posted()).length;
    await charts.page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
    await charts.page.mouse.down();
    await charts.page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 5 });
    await charts.page.mouse.up();
    const zoom = await charts.waitForPosted('requestRange', before);
    assert.strictEqual(zoom.key, 'loss');
    assert.deepStrictEqual([...zoom.runIds].sort(), ['run-a', 'run-b', 'run-c']);
    assert.ok(zoom.from > 0 && zoom.to > zoom.from && zoom.to < 2000, `${zoom.from}..${zoom.to}`);
    const detail = seriesOf('loss').map((s) => {
      const keep = Array.from(s.steps.keys()).filter((i) => s.steps[i] >= zoom.from && s.steps[i] <= zoom.to);
      const pick = (a: Float64Array) => Float64Array.from(keep, (i) => a[i]);
      return { ...s, steps: pick(s.steps), times: pick(s.times), values: pick(s.values) };
    });
    await charts.post({
      type: 'series',
      keys: ['loss'],
      series: detail,
      range: { key: 'loss', from: zoom.from, to: zoom.to, requestId: zoom.requestId },
    });
    await charts.page.waitForFunction(() => /at full detail/.test(document.body.innerText));

    // shift+drag pans the zoomed chart, and asks for the new range
    const beforePan = (await charts.posted()).length;
    await charts.page.keyboard.down('Shift');
    await charts.page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await charts.page.mouse.down();
    await charts.page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 5 });
    await charts.page.mouse.up();
    await charts.page.keyboard.up('Shift');
    const pan = await charts.waitForPosted('requestRange', beforePan);
    assert.ok(pan.from > zoom.from && pan.to > zoom.to, `panned right: ${pan.from}..${pan.to}`);
    assert.ok(Math.abs(pan.to - pan.from - (zoom.to - zoom.from)) < 0.2 * (zoom.to - zoom.from), 'same width');

    // a run deleted while open stays, greyed, with a note
    await charts.post({ type: 'runs', runs: runs.map((r) => (r.id === 'run-b' ? { ...r, status: 'deleted' } : r)) });
    await charts.page.waitForFunction(() =>
      /lr=0\.1 was deleted while this panel was open/.test(document.body.innerText),
    );
    assert.strictEqual(await charts.page.locator('.legend-item.deleted').count(), 1);

    // live points of a running run
    const drawnBefore = await charts.drawn();
    await charts.post({
      type: 'append',
      points: [
        {
          runId: 'run-c',
          key: 'accuracy',
          steps: Float64Array.of(300, 301),
          times: Float64Array.of(started + 3e5, started + 301e3),
          values: Float64Array.of(0.9, NaN),
        },
      ],
      newKeys: [],
    });
    await charts.page.waitForFunction(
      (n) => Number(document.getElementById('root')!.dataset.chartsDrawn) > n,
      drawnBefore,
    );

    // PNG export: the page renders the chart and hands it to the host
    await charts.page.locator('section[data-key="accuracy"] button', { hasText: 'PNG' }).click();
    const png = await charts.waitForPosted('exportPng');
    assert.strictEqual(png.key, 'accuracy');
    assert.match(png.dataUrl, /^data:image\/png;base64,/);
    const csv = charts.page.locator('section[data-key="accuracy"] button', { hasText: 'CSV' });
    await csv.click();
    assert.deepStrictEqual((await charts.waitForPosted('exportCsv')).keys, ['accuracy']);

    const violations = await charts.page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
    assert.deepStrictEqual(violations, [], 'nothing blocked by the Content Security Policy');
  });

  it('keeps the x axis, smoothing, log scale and filter in the webview state, and restores them', async () => {
    charts = await openChartsPage(browser);
    await charts.post({
      type: 'init',
      runs,
      keys: ['accuracy', 'loss'],
      series: [...seriesOf('loss'), ...seriesOf('accuracy')],
    });
    await charts.page.waitForFunction(() => document.querySelectorAll('.plot canvas').length === 2);
    await charts.page.evaluate(() => {
      const select = document.querySelector('vscode-single-select')! as HTMLElement & { value: string };
      select.value = 'relative';
      select.dispatchEvent(new Event('change'));
      const slider = document.querySelector<HTMLInputElement>('input.slider')!;
      slider.value = '0.9';
      slider.dispatchEvent(new Event('input'));
      const log = document.querySelector('vscode-checkbox')! as HTMLElement & { checked: boolean };
      log.checked = true;
      log.dispatchEvent(new Event('change'));
    });
    await charts.page.locator('vscode-textfield input').fill('los');
    await charts.page.waitForFunction(() => document.querySelectorAll('.card:not([hidden])').length === 1);
    const state = await charts.page.evaluate(() => (window as unknown as { __state: unknown }).__state);
    assert.deepStrictEqual(state, { xMode: 'relative', smoothing: 0.9, logScale: true, filter: 'los' });
    await charts.page.waitForTimeout(200);
    await charts.page.screenshot({ path: path.join(artifacts, 'metric-charts-smoothed.png') });
    await charts.close();

    // a hidden panel's page starts again from its state
    charts = await openChartsPage(browser, { state: state as never });
    await charts.post({
      type: 'init',
      runs,
      keys: ['accuracy', 'loss'],
      series: [...seriesOf('loss'), ...seriesOf('accuracy')],
    });
    await charts.page.waitForFunction(() => document.querySelectorAll('.plot canvas').length === 1);
    assert.strictEqual(
      await charts.page.evaluate(() => (document.querySelector('input.slider') as HTMLInputElement).value),
      '0.9',
    );
    const painted = await paintedPixels(charts);
    assert.ok(painted[0] > 1000, `the smoothed log chart was painted (${painted[0]} pixels)`);
  });

  it('says something sensible with no runs, and with runs that logged no metrics', async () => {
    charts = await openChartsPage(browser);
    await charts.post({ type: 'init', runs: [], keys: [], series: [] });
    await charts.page.waitForFunction(() => /No runs selected/.test(document.body.innerText));
    await charts.post({ type: 'init', runs: [runs[0]], keys: [], series: [] });
    await charts.page.waitForFunction(() => /logged no metrics/.test(document.body.innerText));
  });

  it('stays fast with 1,000 metric keys: charts only for the cards on screen', async () => {
    charts = await openChartsPage(browser);
    const keys = Array.from({ length: 1000 }, (_, i) => `layer_${String(i).padStart(4, '0')}/grad_norm`);
    await charts.post({ type: 'init', runs: runs.slice(0, 2), keys, series: [] });
    const load = await charts.waitForPosted('load');
    assert.ok(load.keys.length > 0 && load.keys.length < 60, `asked only for the keys on screen (${load.keys.length})`);
    await charts.post({
      type: 'series',
      keys: load.keys,
      series: load.keys.flatMap((key) => [
        syntheticSeries('run-a', key, 200, 1),
        syntheticSeries('run-b', key, 200, 2),
      ]),
    });
    await charts.page.waitForFunction((n) => document.querySelectorAll('.plot canvas').length === n, load.keys.length);
    assert.strictEqual(await charts.page.locator('section.card').count(), 1000);
    const sent = (await charts.posted()).length;
    await charts.page.locator('vscode-textfield input').fill('layer_0999');
    const more = await charts.waitForPosted('load', sent);
    assert.ok(more.keys.includes('layer_0999/grad_norm'));
  });
});

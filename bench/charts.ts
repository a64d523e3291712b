// Metric charts: the backend's downsampling of a 1,000,000-point series for a 2,000-pixel chart, and
// 100 runs x 10,000 steps from message to painted chart in Chromium; each beside its physical floor.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { MetricFiles, POINT_FLOATS } from '../src/backend/experiments/metric-files';
import type { ExperimentRepository } from '../src/backend/experiments/repository';
import { downsample, readSeries } from '../src/backend/experiments/series';
import type { InitMessage } from '../src/protocol/webviews/metric-charts';
import { launchChromium, openChartsPage } from '../test/browser/harness';
import { median, report } from './stats';

const RUNS = Number(process.env.MLLAB_BENCH_RUNS ?? 7);
const POINTS = 1_000_000;
const PIXELS = 2000;

function series(n: number): Float64Array {
  const data = new Float64Array(n * POINT_FLOATS);
  let seed = 11;
  for (let i = 0; i < n; i++) {
    seed = (seed * 16807) % 2147483647;
    data[i * 3] = i;
    data[i * 3 + 1] = 1.7e12 + i * 10;
    data[i * 3 + 2] = Math.exp(-i / 2e5) + (seed / 2147483647) * 0.1 + (i % 99_991 === 0 ? 5 : 0);
  }
  return data;
}

/** The reference: one plain loop over the same floats, copying the values (what any pass must read). */
function copyLoop(data: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = data[i * POINT_FLOATS + 2];
  }
  return out;
}

function time(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function downsampling(): Promise<void> {
  const data = series(POINTS);
  const ours: number[] = [];
  const reference: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(time(() => downsample(data, POINTS, undefined, 2 * PIXELS)));
    reference.push(time(() => copyLoop(data, POINTS)));
  }
  report(
    `downsample 1,000,000 points for ${PIXELS} px (min/max per bucket, in memory), median`,
    median(ours),
    median(reference),
    'ms',
    'plain loop copying the same floats',
  );

  // end to end as the API runs it: read the points file, downsample, build the answer's arrays
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-bench-series-'));
  const files = new MetricFiles(dir);
  files.append('run', 0, data, data.length);
  const repo = { get: () => undefined, keyOf: () => ({ index: 0, count: POINTS }) } as unknown as ExperimentRepository;
  const oursRead: number[] = [];
  const refRead: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    oursRead.push(time(() => readSeries(repo, files, 'run', 'loss', { maxPoints: 2 * PIXELS })));
    refRead.push(time(() => copyLoop(files.read('run', 0, POINTS), POINTS)));
  }
  report(
    `readSeries of 1,000,000 points for ${PIXELS} px (file read + downsample), median`,
    median(oursRead),
    median(refRead),
    'ms',
    'file read + plain copy loop',
  );
  fs.rmSync(dir, { recursive: true, force: true });
}

interface PageGlobals {
  uPlot: new (opts: unknown, data: unknown, el: HTMLElement) => { destroy(): void };
}

/** The message a host posts for 100 runs of one key at full detail, built in the page (not timed). */
function makeMessage([runCount, n, rep]: readonly [number, number, number]): void {
  const started = Date.UTC(2026, 0, 2);
  const message: InitMessage = {
    type: 'init',
    runs: Array.from({ length: runCount }, (_, r) => ({
      id: `run-${r}`,
      name: `run ${r}`,
      label: `run ${r}`,
      colour: r,
      status: 'completed' as const,
      startedAt: started,
    })),
    keys: ['loss'],
    series: Array.from({ length: runCount }, (_, r) => ({
      runId: `run-${r}`,
      key: 'loss',
      steps: Float64Array.from({ length: n }, (_, s) => s),
      times: Float64Array.from({ length: n }, (_, s) => started + s * 1000),
      values: Float64Array.from(
        { length: n },
        (_, s) => Math.exp(-s / 3000) * (1 + r / 50) + ((s * 7919 + r + rep) % 97) / 1000,
      ),
      total: n,
    })),
  };
  (window as unknown as { benchMessage: InitMessage }).benchMessage = message;
}

/** From posting the message to the frame that shows the chart, in the page's clock. */
async function postAndPaint(): Promise<number> {
  const { benchMessage } = window as unknown as { benchMessage: InitMessage };
  const root = document.getElementById('root')!;
  const before = Number(root.dataset.chartsDrawn ?? 0);
  const t0 = window.performance.now(); // the page's clock (not perf_hooks: this runs in Chromium)
  window.postMessage(benchMessage, '*');
  await new Promise<void>((resolve) => {
    const check = () => (Number(root.dataset.chartsDrawn ?? 0) > before ? resolve() : setTimeout(check, 0));
    check();
  });
  await new Promise((resolve) => requestAnimationFrame(resolve)); // the frame that shows it
  return window.performance.now() - t0;
}

/** The same message through a MessageChannel, read on arrival: the cost of delivering it alone. */
async function deliveryOnly(): Promise<number> {
  const { benchMessage } = window as unknown as { benchMessage: InitMessage };
  const channel = new MessageChannel();
  const t0 = window.performance.now();
  const arrived = new Promise<number>((resolve) => {
    channel.port2.onmessage = (e: MessageEvent<InitMessage>) => resolve(e.data.series.length);
  });
  channel.port1.postMessage(benchMessage);
  await arrived;
  const elapsed = window.performance.now() - t0;
  channel.port1.close();
  return elapsed;
}

/** uPlot alone, handed the same data already in its aligned form: the library's own floor. */
async function uPlotAlone(): Promise<number> {
  const { benchMessage, uPlot } = window as unknown as { benchMessage: InitMessage } & PageGlobals;
  // plain arrays, as uPlot gets them from the chart code (converted before the clock starts)
  const data = [Array.from(benchMessage.series[0].steps), ...benchMessage.series.map((s) => Array.from(s.values))];
  const box = document.createElement('div');
  document.body.append(box);
  const t0 = window.performance.now();
  const plot = new uPlot(
    {
      width: 600,
      height: 240,
      legend: { show: false },
      series: [{}, ...data.slice(1).map((_, r) => ({ stroke: `hsl(${r * 37}, 70%, 50%)`, width: 1.5 }))],
    },
    data,
    box,
  );
  await new Promise((resolve) => requestAnimationFrame(resolve));
  const elapsed = window.performance.now() - t0;
  plot.destroy();
  box.remove();
  return elapsed;
}

async function rendering(): Promise<void> {
  const browser = await launchChromium();
  try {
    const charts = await openChartsPage(browser, {
      width: 1280,
      height: 900,
      extraScripts: ['node_modules/uplot/dist/uPlot.iife.min.js'],
    });
    const runs = 100;
    const steps = 10_000;
    const ours: number[] = [];
    const reference: number[] = [];
    const delivery: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await charts.page.evaluate(makeMessage, [runs, steps, i] as const);
      ours.push(await charts.page.evaluate(postAndPaint));
      reference.push(await charts.page.evaluate(uPlotAlone));
      delivery.push(await charts.page.evaluate(deliveryOnly));
    }
    const label = `${runs} runs x ${steps.toLocaleString('en')} steps`;
    report(
      `${label}, message to painted chart in Chromium, median`,
      median(ours),
      median(reference),
      'ms',
      'uPlot alone drawing the same data pre-aligned',
    );
    process.stdout.write(
      `${label}: of which delivering the message alone (structured clone, no handler), median: ${median(delivery).toFixed(2)} ms\n`,
    );
    await charts.close();
  } finally {
    await browser.close();
  }
}

export async function chartsBench(): Promise<void> {
  await downsampling();
  await rendering();
}

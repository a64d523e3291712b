// The compare table webview in Chromium: 10,000 runs x (20 params, 10 metrics), the time from the
// `table` message to the painted table, and from a header click to the painted sorted table, each
// side by side with a floor measured in the same page (delivering the same message through a
// MessageChannel; a plain Array.prototype.sort of the same column's values).
import { COMPARE_CSS } from '../src/extension/experiments/compare/style';
import { generateExperiments, tableMessage } from '../test/browser/compare-table-data';
import { launchChromium, openWebview } from '../test/browser/webview-harness';
import { median, report } from './stats';

const RUNS = Number(process.env.MLLAB_BENCH_COMPARE_RUNS ?? 10_000);
const REPEAT = 7;

export async function compareTableBench(): Promise<void> {
  const message = tableMessage(generateExperiments(RUNS, 20, 10));
  const browser = await launchChromium();
  try {
    const paint: number[] = [];
    const delivery: number[] = [];
    const sortOurs: number[] = [];
    const sortSync: number[] = [];
    const sortReference: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const view = await openWebview(browser, { script: 'compare-table', css: COMPARE_CSS });
      const page = view.page;
      await page.evaluate((m) => ((window as unknown as { __msg: unknown }).__msg = m), message);
      // the floor: the same message cloned and delivered to a listener that does nothing
      delivery.push(
        await page.evaluate(async () => {
          const channel = new MessageChannel();
          const t0 = performance.now();
          await new Promise((resolve) => {
            channel.port2.onmessage = resolve;
            channel.port1.postMessage((window as unknown as { __msg: unknown }).__msg);
          });
          return performance.now() - t0;
        }),
      );
      paint.push(
        await page.evaluate(async () => {
          const t0 = performance.now();
          window.postMessage((window as unknown as { __msg: unknown }).__msg, '*');
          await new Promise((r) => setTimeout(r, 0)); // the message event is a task
          // a task queued from requestAnimationFrame runs after that frame was painted
          await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
          if (!document.querySelector('.grow')) {
            throw new Error('the table did not render');
          }
          return performance.now() - t0;
        }),
      );
      // sort by a numeric param: a click on its header until the sorted table is painted
      for (const column of ['params.p00', 'metrics.m03.last']) {
        const [sync, painted] = await page.evaluate(async (column) => {
          const button = document.querySelector<HTMLElement>(`.ghead button[data-column="${column}"]`)!;
          const t0 = performance.now();
          button.dispatchEvent(new MouseEvent('click', { bubbles: true, detail: 1 }));
          const t1 = performance.now();
          await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
          return [t1 - t0, performance.now() - t0];
        }, column);
        sortSync.push(sync);
        sortOurs.push(painted);
        sortReference.push(
          await page.evaluate((column) => {
            const m = (window as unknown as { __msg: { columns: { id: string }[]; rows: unknown[][] } }).__msg;
            const at = m.columns.findIndex((c) => c.id === column) + 1;
            const values = m.rows.map((r) => r[at] as number);
            const order = values.map((_, i) => i);
            const t0 = performance.now();
            order.sort((a, b) => values[a] - values[b]);
            return performance.now() - t0;
          }, column),
        );
      }
      await page.context().close();
    }
    const label = `compare table, ${RUNS.toLocaleString('en-US')} runs x (20 params, 10 metrics)`;
    report(
      `${label}: message to painted table (median)`,
      median(paint),
      median(delivery),
      'ms',
      'delivering the same message alone',
    );
    report(
      `${label}: header click to painted sorted table (median)`,
      median(sortOurs),
      median(sortReference),
      'ms',
      'Array.prototype.sort of the same values',
    );
    report(
      `${label}: header click handler alone, sort and DOM update without the frame (median)`,
      median(sortSync),
      median(sortReference),
      'ms',
      'Array.prototype.sort of the same values',
    );
  } finally {
    await browser.close();
  }
}

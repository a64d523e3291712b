import type { ChartRun } from '../../src/protocol/webviews/metric-charts';
import { nonFinitePeriods, type RunPoints } from './data';

/**
 * The line under a chart: what is drawn (downsampled, or a zoom at full detail), NaN periods of each
 * run, lone points, and values a log scale cannot show. Empty when there is nothing to say.
 */
export function chartNotice(
  runs: readonly ChartRun[],
  points: ReadonlyMap<string, RunPoints>,
  zoom: { readonly from: number; readonly to: number; readonly loaded: boolean } | undefined,
  hiddenForLog: number,
): string {
  const parts: string[] = [];
  if (zoom) {
    const detail = zoom.loaded ? ' at full detail' : ': loading full detail…';
    parts.push(`Steps ${zoom.from}–${zoom.to}${detail}; double-click to reset.`);
  } else {
    const sampled = [...points.values()].filter((p) => p.total > p.steps.length);
    if (sampled.length > 0) {
      const total = sampled.reduce((n, p) => n + p.total, 0);
      const shown = sampled.reduce((n, p) => n + p.steps.length, 0);
      parts.push(
        `${shown.toLocaleString('en')} of ${total.toLocaleString('en')} points drawn (min/max per pixel); drag to zoom for full detail.`,
      );
    }
  }
  for (const run of runs) {
    const p = points.get(run.id);
    if (!p) {
      continue;
    }
    const periods = nonFinitePeriods(p);
    if (periods.length > 0) {
      const first = periods[0];
      const where = first.from === first.to ? `step ${first.from}` : `steps ${first.from}–${first.to}`;
      const more = periods.length > 1 ? ` and ${periods.length - 1} more period(s)` : '';
      parts.push(`${run.label}: ${first.kinds.join('/')} at ${where}${more} (gap, marked ▲).`);
    }
    if (p.steps.length === 1) {
      parts.push(`${run.label}: a single point.`);
    }
  }
  if (hiddenForLog > 0) {
    parts.push(`${hiddenForLog} value(s) ≤ 0 not shown on the log scale.`);
  }
  return parts.join(' ');
}

import type { ChartRun, ChartSeries } from '../../../protocol/webviews/metric-charts';

/** A CSV field: quoted when it holds a comma, a quote or a line break (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Metric points as CSV, one row per point ("long" format, which any tool pivots): run id, run name,
 * key, step, wall time (ISO 8601), seconds since the run started, value. Values that are not finite
 * are written as NaN, Infinity or -Infinity, as logged.
 */
export function seriesToCsv(runs: readonly ChartRun[], series: readonly ChartSeries[]): string {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const lines = ['run_id,run_name,key,step,time,relative_seconds,value'];
  for (const s of series) {
    const run = byId.get(s.runId);
    const prefix = `${csvField(s.runId)},${csvField(run?.name ?? '')},${csvField(s.key)},`;
    for (let i = 0; i < s.steps.length; i++) {
      const t = s.times[i];
      const time = Number.isFinite(t) ? new Date(t).toISOString() : '';
      const relative = run && Number.isFinite(t) ? String((t - run.startedAt) / 1000) : '';
      lines.push(`${prefix}${s.steps[i]},${time},${relative},${String(s.values[i])}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

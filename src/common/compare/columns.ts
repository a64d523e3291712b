/**
 * The columns of the compare table, derived from the experiments of a project, and the rows as
 * sent to the webview. Runs in the extension host.
 */
import type { Experiment } from '../../protocol/experiments';
import type { ColumnDef, MetricStat, WireCell, WireRow } from '../../protocol/webviews/compare-table';

/** The columns every table has, first. */
export const RUN_COLUMNS: readonly ColumnDef[] = [
  { id: 'name', label: 'name', group: 'run', kind: 'text' },
  { id: 'status', label: 'status', group: 'run', kind: 'status' },
  { id: 'started', label: 'started', group: 'run', kind: 'date' },
  { id: 'duration', label: 'duration', group: 'run', kind: 'number' },
  { id: 'operator', label: 'operator', group: 'run', kind: 'text' },
  { id: 'runId', label: 'run id', group: 'run', kind: 'text' },
];

export const METRIC_STATS: readonly MetricStat[] = ['last', 'min', 'max'];

export const paramColumnId = (key: string): string => `params.${key}`;
export const metricColumnId = (key: string, stat: MetricStat): string => `metrics.${key}.${stat}`;

/**
 * Fixed columns, then one column per param key (sorted), then last/min/max per metric key (sorted).
 * A param column is numeric when every run that has the param holds a number.
 */
export function deriveColumns(experiments: readonly Experiment[]): ColumnDef[] {
  const params = new Map<string, boolean>(); // key -> all values numbers
  const metrics = new Set<string>();
  for (const e of experiments) {
    for (const [key, value] of Object.entries(e.params)) {
      if (value === null || value === undefined) {
        continue;
      }
      params.set(key, (params.get(key) ?? true) && typeof value === 'number');
    }
    for (const m of e.metrics) {
      metrics.add(m.key);
    }
  }
  const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [
    ...RUN_COLUMNS,
    ...[...params.keys()].sort(byKey).map((key): ColumnDef => ({
      id: paramColumnId(key),
      label: key,
      group: 'param',
      kind: params.get(key) ? 'number' : 'text',
      key,
    })),
    ...[...metrics].sort(byKey).flatMap((key) =>
      METRIC_STATS.map((stat): ColumnDef => ({
        id: metricColumnId(key, stat),
        label: stat === 'last' ? key : `${key} (${stat})`,
        group: 'metric',
        kind: 'number',
        key,
        stat,
      })),
    ),
  ];
}

function paramCell(value: unknown): WireCell {
  if (value === null || value === undefined) {
    return null;
  }
  if (typeof value === 'number' || typeof value === 'string') {
    return value;
  }
  return typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

/** One experiment as a row of `columns`. */
export function encodeRow(e: Experiment, columns: readonly ColumnDef[]): WireRow {
  const metrics = new Map(e.metrics.map((m) => [m.key, m]));
  const cells: WireCell[] = columns.map((c) => {
    switch (c.group) {
      case 'param':
        return paramCell(e.params[c.key!]);
      case 'metric': {
        const m = metrics.get(c.key!);
        return !m ? null : c.stat === 'last' ? m.lastRaw : c.stat === 'min' ? m.min : m.max;
      }
      default:
        switch (c.id) {
          case 'name':
            return e.name;
          case 'status':
            return e.status;
          case 'started': {
            const t = Date.parse(e.startedAt);
            return Number.isFinite(t) ? t : null;
          }
          case 'duration':
            return e.durationMs;
          case 'operator':
            return e.operator;
          case 'runId':
            return e.id;
          default:
            return null;
        }
    }
  });
  return [e.id, ...cells];
}

/** Whether two column lists are the same (then rows can be sent alone). */
export function sameColumns(a: readonly ColumnDef[], b: readonly ColumnDef[]): boolean {
  return a.length === b.length && a.every((c, i) => c.id === b[i].id && c.kind === b[i].kind);
}

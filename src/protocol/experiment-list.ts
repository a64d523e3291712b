/**
 * The wire form of GET /api/experiments: one tuple per experiment, field names once per list rather
 * than once per row. A project with 10,000 runs and 5 metric keys each lists as ~4 MB of JSON instead
 * of ~8.5 MB of Experiment objects, which halves both the transfer and the JSON.parse. Both sides use
 * the functions below; callers of the typed clients still get Experiment objects.
 */
import type { Experiment, MetricSummary, RunStatus } from './experiments';

/** [key, count, last, lastStep, min, max, lastRaw] */
export type MetricRow = readonly [string, number, number | null, number, number | null, number | null, number | string];

/**
 * [id, name, status, startedAt, endedAt, durationMs, exitCode, operator, params, tags, metrics, dir];
 * dir is null for a run in the list's `runs` folder (nearly all: 50 bytes a run less)
 */
export type ExperimentRow = readonly [
  string,
  string,
  RunStatus,
  string,
  string | null,
  number | null,
  number | null,
  string,
  Readonly<Record<string, unknown>>,
  Readonly<Record<string, string>>,
  readonly MetricRow[],
  string | null,
];

/** GET /api/experiments?project=P: the project's experiments, newest first. */
export interface ExperimentList {
  readonly projectId: string;
  /** the folder of the lab's run directories, ending with its separator (absent in older backends) */
  readonly runs?: string;
  readonly rows: readonly ExperimentRow[];
}

/** Milliseconds from start to end; null while running or when a time is unreadable. */
export function durationOf(startedAt: string, endedAt: string | null): number | null {
  if (endedAt === null) {
    return null;
  }
  const d = Date.parse(endedAt) - Date.parse(startedAt);
  return Number.isFinite(d) ? Math.max(0, d) : null;
}

/** The row of `e`; its dir is null when it is `runs` (a folder ending with its separator) + its id. */
export function toRow(e: Experiment, runs?: string): ExperimentRow {
  return [
    e.id,
    e.name,
    e.status,
    e.startedAt,
    e.endedAt,
    e.durationMs,
    e.exitCode,
    e.operator,
    e.params,
    e.tags,
    e.metrics.map((m) => [m.key, m.count, m.last, m.lastStep, m.min, m.max, m.lastRaw] as const),
    runs !== undefined && e.dir === runs + e.id ? null : e.dir,
  ];
}

export function fromRow(projectId: string, r: ExperimentRow, runs?: string): Experiment {
  return {
    id: r[0],
    projectId,
    name: r[1],
    status: r[2],
    startedAt: r[3],
    endedAt: r[4],
    durationMs: r[5],
    exitCode: r[6],
    operator: r[7],
    params: r[8],
    tags: r[9],
    metrics: r[10].map((m): MetricSummary => ({
      key: m[0],
      count: m[1],
      last: m[2],
      lastStep: m[3],
      min: m[4],
      max: m[5],
      lastRaw: m[6],
    })),
    dir: r[11] ?? `${runs ?? ''}${r[0]}`,
  };
}

export function fromList(list: ExperimentList): Experiment[] {
  return list.rows.map((r) => fromRow(list.projectId, r, list.runs));
}

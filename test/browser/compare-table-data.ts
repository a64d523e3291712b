/**
 * Generated experiments for the compare table's browser test and benchmark, encoded exactly as the
 * extension host sends them (deriveColumns + encodeRow).
 */
import { deriveColumns, encodeRow } from '../../src/common/compare/columns';
import type { Experiment, MetricSummary, RunStatus } from '../../src/protocol/experiments';
import type { TableMessage } from '../../src/protocol/webviews/compare-table';

const STATUSES: RunStatus[] = ['completed', 'completed', 'completed', 'failed', 'running', 'interrupted'];

/** `runs` experiments with `params` params (even ones numeric, odd ones text) and `metrics` metric keys; deterministic. */
export function generateExperiments(runs: number, params: number, metrics: number): Experiment[] {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const start = Date.UTC(2026, 0, 1);
  const out: Experiment[] = [];
  for (let i = 0; i < runs; i++) {
    const p: Record<string, unknown> = {};
    for (let k = 0; k < params; k++) {
      const key = `p${String(k).padStart(2, '0')}`;
      p[key] = k % 2 === 0 ? Number(random().toFixed(4)) : ['adam', 'sgd', 'rmsprop', 'lamb'][Math.floor(random() * 4)];
    }
    const m: MetricSummary[] = [];
    for (let k = 0; k < metrics; k++) {
      const last = random();
      const nan = k === 1 && i % 97 === 0; // a metric that is NaN for some runs
      m.push({
        key: `m${String(k).padStart(2, '0')}`,
        count: 100,
        last: nan ? null : last,
        lastStep: 99,
        min: last * random(),
        max: last + random(),
        lastRaw: nan ? 'NaN' : last,
      });
    }
    const status = STATUSES[i % STATUSES.length];
    out.push({
      id: `run-${String(i).padStart(5, '0')}`,
      projectId: 'bench',
      name: `train-${i % 50}`,
      status,
      startedAt: new Date(start + i * 60_000).toISOString(),
      endedAt: status === 'running' ? null : new Date(start + i * 60_000 + 30_000).toISOString(),
      durationMs: status === 'running' ? null : 30_000 + Math.round(random() * 1e6),
      exitCode: status === 'failed' ? 1 : 0,
      operator: i % 3 === 0 ? 'ada' : 'grace',
      params: p,
      tags: {},
      metrics: i % 211 === 0 ? [] : m, // a few runs with no metrics at all
      dir: `/lab/runs/${i}`,
    });
  }
  return out;
}

/** A `table` message with every row of these experiments in it (as the host posts a small table). */
export function tableMessage(experiments: readonly Experiment[]): TableMessage {
  const columns = deriveColumns(experiments);
  const rows = experiments.map((e) => encodeRow(e, columns));
  return { type: 'table', table: 1, project: 'bench', columns, rows, total: rows.length };
}

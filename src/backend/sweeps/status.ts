import * as fs from 'fs';
import * as path from 'path';
import type {
  Sweep,
  SweepCounts,
  SweepDetails,
  SweepHistoryPoint,
  SweepImportances,
  SweepState,
  SweepTrial,
} from '../../protocol/sweeps';
import type { SweepRecord } from './repository';

/** `<home>/sweeps/<id>/status.json`, rewritten atomically by the sweep's controller after each change. */
export interface ControllerStatus {
  readonly state: SweepState;
  readonly message: string | null;
  readonly warnings: readonly string[];
  readonly trials: readonly SweepTrial[];
  readonly importances: SweepImportances | null;
  readonly importanceNote: string | null;
}

export const sweepDir = (home: string, id: string) => path.join(home, 'sweeps', id);

/** The controller's last status; none yet (a sweep just created): no trials. */
export function readStatus(home: string, id: string): ControllerStatus | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(sweepDir(home, id), 'status.json'), 'utf8')) as ControllerStatus;
  } catch {
    return undefined;
  }
}

function countsOf(trials: readonly SweepTrial[], total: number): SweepCounts {
  const n = (state: SweepTrial['state']) => trials.filter((t) => t.state === state).length;
  return { done: n('completed'), running: n('running'), pruned: n('pruned'), failed: n('failed'), total };
}

const better = (goal: 'minimize' | 'maximize', a: number, b: number) => (goal === 'minimize' ? a < b : a > b);

/** Completed trials in the order they ended, each with the best value up to it. */
export function historyOf(trials: readonly SweepTrial[], goal: 'minimize' | 'maximize'): SweepHistoryPoint[] {
  const completed = trials
    .filter((t): t is SweepTrial & { value: number } => t.state === 'completed' && t.value !== null)
    .sort((a, b) => (a.endedAt ?? '').localeCompare(b.endedAt ?? '') || a.number - b.number);
  const points: SweepHistoryPoint[] = [];
  for (const t of completed) {
    const best = points.length === 0 ? t.value : points[points.length - 1].best;
    points.push({ trial: t.number, value: t.value, best: better(goal, t.value, best) ? t.value : best });
  }
  return points;
}

function bestOf(trials: readonly SweepTrial[], goal: 'minimize' | 'maximize'): SweepTrial | null {
  let best: SweepTrial | null = null;
  for (const t of trials) {
    if (t.state === 'completed' && t.value !== null && (best === null || better(goal, t.value, best.value!))) {
      best = t;
    }
  }
  return best;
}

/** The sweep as the API shows it: its row, with the counts and best trial of its controller's status. */
export function sweepOf(record: SweepRecord, status: ControllerStatus | undefined): Sweep {
  const trials = status?.trials ?? [];
  return {
    id: record.id,
    projectId: record.projectId,
    name: record.name,
    state: record.state,
    definition: record.definition,
    counts: countsOf(trials, record.definition.trials),
    best: bestOf(trials, record.definition.metric.goal),
    message: record.message,
    warnings: status?.warnings ?? [],
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

export function sweepDetailsOf(record: SweepRecord, status: ControllerStatus | undefined): SweepDetails {
  const trials = [...(status?.trials ?? [])].sort((a, b) => a.number - b.number);
  return {
    ...sweepOf(record, status),
    trials,
    history: historyOf(trials, record.definition.metric.goal),
    importances: status?.importances ?? null,
    importanceNote: status?.importanceNote ?? null,
  };
}

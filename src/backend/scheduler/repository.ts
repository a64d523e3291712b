import { randomUUID } from 'crypto';
import type { MissedPolicy, OverlapPolicy, Schedule } from '../../protocol/schedules';
import type { ProjectOwned } from '../projects/repository';
import type { Row, Store, WriteTx } from '../store/database';
import { CronExpression } from './cron';
import { JobGraph } from './graph';

/** A schedule as stored, with the times the scheduler works with. */
export interface ScheduleRow {
  readonly id: string;
  readonly projectId: string;
  readonly jobId: string;
  readonly jobName: string;
  readonly cron: string;
  readonly timeZone: string;
  readonly enabled: boolean;
  readonly overlap: OverlapPolicy;
  readonly missed: MissedPolicy;
  /** fires after this time are owed; fires up to it were made or decided on */
  readonly checkedAt: string;
  /** a fire held back by the overlap policy `queue` (its scheduled time) */
  readonly queuedAt: string | null;
  readonly lastFiredAt: string | null;
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ScheduleFields {
  readonly cron: string;
  readonly timeZone: string;
  readonly overlap: OverlapPolicy;
  readonly missed: MissedPolicy;
  readonly enabled: boolean;
}

export interface Execution {
  readonly id: string;
  readonly projectId: string;
  /** the job ids the execution may run: its roots and everything downstream of them */
  readonly plan: readonly string[];
  readonly roots: readonly string[];
}

const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

function toScheduleRow(r: Row): ScheduleRow {
  return {
    id: String(r.id),
    projectId: String(r.project_id),
    jobId: String(r.job_id),
    jobName: String(r.job_name),
    cron: String(r.cron),
    timeZone: String(r.time_zone),
    enabled: Number(r.enabled) === 1,
    overlap: String(r.overlap) as OverlapPolicy,
    missed: String(r.missed) as MissedPolicy,
    checkedAt: String(r.checked_at),
    queuedAt: text(r.queued_at),
    lastFiredAt: text(r.last_fired_at),
    lastError: text(r.last_error),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

/**
 * The DTO of a schedule: its row plus what it means (words, next fire times). A row that cannot be
 * read any more (an expression or zone this version refuses) is still listed, with `error` saying why.
 */
export function toSchedule(row: ScheduleRow, now: number): Schedule {
  let description = row.cron;
  let nextRuns: string[] = [];
  let error: string | null = null;
  try {
    const expression = new CronExpression(row.cron, row.timeZone, now);
    description = expression.describe();
    nextRuns = row.enabled ? expression.nextRuns(now) : [];
  } catch (e) {
    error = `This schedule cannot fire: ${(e as Error).message}`;
  }
  return {
    id: row.id,
    projectId: row.projectId,
    jobId: row.jobId,
    jobName: row.jobName,
    cron: row.cron,
    timeZone: row.timeZone,
    description,
    enabled: row.enabled,
    overlap: row.overlap,
    missed: row.missed,
    nextRuns,
    nextRun: nextRuns[0] ?? null,
    error,
    lastFiredAt: row.lastFiredAt,
    lastError: row.lastError,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const SELECT_SCHEDULES = 'SELECT s.*, j.name AS job_name FROM schedules s JOIN jobs j ON j.id = s.job_id';

/** Schedules, dependencies and pipeline executions in the metadata store. */
export class SchedulerRepository implements ProjectOwned {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = () => Date.now(),
  ) {}

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  // ---- schedules

  schedules(projectId?: string): ScheduleRow[] {
    const rows =
      projectId === undefined
        ? this.store.all(`${SELECT_SCHEDULES} ORDER BY j.name COLLATE NOCASE`)
        : this.store.all(`${SELECT_SCHEDULES} WHERE s.project_id = ? ORDER BY j.name COLLATE NOCASE`, [projectId]);
    return rows.map(toScheduleRow);
  }

  scheduleOfJob(jobId: string): ScheduleRow | undefined {
    const row = this.store.get(`${SELECT_SCHEDULES} WHERE s.job_id = ?`, [jobId]);
    return row ? toScheduleRow(row) : undefined;
  }

  /** Creates or replaces the schedule of a job; owed fires start from now (none are missed before it). */
  async saveSchedule(projectId: string, jobId: string, f: ScheduleFields): Promise<ScheduleRow> {
    const at = this.iso();
    await this.store.write((tx) => {
      const existing = tx.get('SELECT id FROM schedules WHERE job_id = ?', [jobId]);
      if (existing) {
        tx.run(
          `UPDATE schedules SET cron = ?, time_zone = ?, enabled = ?, overlap = ?, missed = ?, checked_at = ?,
           queued_at = NULL, last_error = NULL, updated_at = ? WHERE id = ?`,
          [f.cron, f.timeZone, f.enabled ? 1 : 0, f.overlap, f.missed, at, at, String(existing.id)],
        );
      } else {
        tx.run(
          `INSERT INTO schedules (id, project_id, job_id, cron, time_zone, enabled, overlap, missed, checked_at,
           created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [randomUUID(), projectId, jobId, f.cron, f.timeZone, f.enabled ? 1 : 0, f.overlap, f.missed, at, at, at],
        );
      }
    });
    return this.scheduleOfJob(jobId)!;
  }

  async deleteSchedule(jobId: string): Promise<boolean> {
    let n = 0;
    await this.store.write((tx) => (n = tx.run('DELETE FROM schedules WHERE job_id = ?', [jobId])));
    return n > 0;
  }

  /** Records a fire (or a decision about one) at its scheduled time. */
  async recordFire(
    id: string,
    changes: { checkedAt: string; lastFiredAt?: string; lastError?: string | null; queuedAt?: string | null },
  ): Promise<void> {
    const sets: string[] = ['checked_at = ?'];
    const params: (string | null)[] = [changes.checkedAt];
    if (changes.lastFiredAt !== undefined) {
      sets.push('last_fired_at = ?');
      params.push(changes.lastFiredAt);
    }
    if (changes.lastError !== undefined) {
      sets.push('last_error = ?');
      params.push(changes.lastError);
    }
    if (changes.queuedAt !== undefined) {
      sets.push('queued_at = ?');
      params.push(changes.queuedAt);
    }
    await this.store.write((tx) => tx.run(`UPDATE schedules SET ${sets.join(', ')} WHERE id = ?`, [...params, id]));
  }

  async setLastError(id: string, error: string | null): Promise<void> {
    await this.store.write((tx) => tx.run('UPDATE schedules SET last_error = ? WHERE id = ?', [error, id]));
  }

  // ---- dependencies

  graph(projectId: string): JobGraph {
    // only edges between jobs that exist: an edge left by a crash during a delete is ignored
    const rows = this.store.all(
      `SELECT d.job_id, d.upstream_id FROM job_dependencies d
       JOIN jobs a ON a.id = d.job_id JOIN jobs b ON b.id = d.upstream_id WHERE d.project_id = ?`,
      [projectId],
    );
    return new JobGraph(rows.map((r) => ({ job: String(r.job_id), upstream: String(r.upstream_id) })));
  }

  async setUpstreams(projectId: string, jobId: string, upstreamIds: readonly string[]): Promise<void> {
    await this.store.write((tx) => {
      tx.run('DELETE FROM job_dependencies WHERE job_id = ?', [jobId]);
      for (const u of upstreamIds) {
        tx.run('INSERT INTO job_dependencies (job_id, upstream_id, project_id) VALUES (?, ?, ?)', [
          jobId,
          u,
          projectId,
        ]);
      }
    });
  }

  /** Removes the schedule and the edges of a deleted job; the names of the jobs that lost an upstream. */
  async forgetJob(jobId: string): Promise<string[]> {
    const orphaned = this.store
      .all('SELECT j.name FROM job_dependencies d JOIN jobs j ON j.id = d.job_id WHERE d.upstream_id = ?', [jobId])
      .map((r) => String(r.name));
    await this.store.write((tx) => {
      tx.run('DELETE FROM job_dependencies WHERE job_id = ? OR upstream_id = ?', [jobId, jobId]);
      tx.run('DELETE FROM schedules WHERE job_id = ?', [jobId]);
    });
    return orphaned;
  }

  /** Deletes edges and schedules whose job is gone (left by a crash between two writes). */
  async removeDangling(): Promise<number> {
    let n = 0;
    await this.store.write((tx) => {
      n += tx.run(
        `DELETE FROM job_dependencies WHERE job_id NOT IN (SELECT id FROM jobs) OR upstream_id NOT IN (SELECT id FROM jobs)`,
      );
      n += tx.run('DELETE FROM schedules WHERE job_id NOT IN (SELECT id FROM jobs)');
    });
    return n;
  }

  // ---- pipeline executions

  async createExecution(projectId: string, plan: readonly string[], roots: readonly string[]): Promise<Execution> {
    const id = randomUUID();
    await this.store.write((tx) =>
      tx.run('INSERT INTO pipeline_executions (id, project_id, plan, state, created_at) VALUES (?, ?, ?, ?, ?)', [
        id,
        projectId,
        JSON.stringify({ plan, roots }),
        'active',
        this.iso(),
      ]),
    );
    return { id, projectId, plan, roots };
  }

  activeExecutions(): Execution[] {
    return this.store.all("SELECT * FROM pipeline_executions WHERE state = 'active' ORDER BY created_at").map((r) => {
      const { plan, roots } = JSON.parse(String(r.plan)) as { plan: string[]; roots: string[] };
      return { id: String(r.id), projectId: String(r.project_id), plan, roots };
    });
  }

  execution(id: string): Execution | undefined {
    return this.activeExecutions().find((e) => e.id === id);
  }

  async endExecution(id: string): Promise<void> {
    await this.store.write((tx) =>
      tx.run("UPDATE pipeline_executions SET state = 'done', ended_at = ? WHERE id = ?", [this.iso(), id]),
    );
  }

  /** The newest run of each job in an execution: job id -> run row (state, id). */
  latestRunsIn(executionId: string): Map<string, { id: string; state: string; endedAt: string | null }> {
    const out = new Map<string, { id: string; state: string; endedAt: string | null }>();
    const rows = this.store.all(
      'SELECT id, job_id, state, ended_at FROM job_runs WHERE execution_id = ? ORDER BY created_at, rowid',
      [executionId],
    );
    for (const r of rows) {
      out.set(String(r.job_id), { id: String(r.id), state: String(r.state), endedAt: text(r.ended_at) });
    }
    return out;
  }

  /** Whether a run of the job is queued, running or of unknown state. */
  jobActive(jobId: string): boolean {
    return (
      this.store.get(
        "SELECT 1 AS x FROM job_runs WHERE job_id = ? AND state IN ('queued', 'running', 'unknown') LIMIT 1",
        [jobId],
      ) !== undefined
    );
  }

  counts(projectId: string): Record<string, number> {
    const n = Number(this.store.get('SELECT COUNT(*) AS n FROM schedules WHERE project_id = ?', [projectId])?.n ?? 0);
    return n > 0 ? { schedules: n } : {};
  }

  deleteAll(tx: WriteTx, projectId: string): () => void {
    tx.run('DELETE FROM schedules WHERE project_id = ?', [projectId]);
    tx.run('DELETE FROM job_dependencies WHERE project_id = ?', [projectId]);
    tx.run('DELETE FROM pipeline_executions WHERE project_id = ?', [projectId]);
    return () => undefined;
  }
}

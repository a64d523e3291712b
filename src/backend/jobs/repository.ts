import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Job, JobRun, JobRunState, JobRunTrigger, JobSpec } from '../../protocol/containers';
import { jobWarnings } from '../../protocol/container-warnings';
import { checkName } from '../../protocol/names';
import { findByName, getByNameOrId, nameTaken } from '../common/named';
import { ApiError } from '../errors';
import { EventBus } from '../events';
import type { ProjectOwned } from '../projects/repository';
import type { Row, Store, WriteTx } from '../store/database';

/** Output of a job run: `<home>/jobs/<run id>/output.log`, kept with the run's history. */
export function runLogFile(home: string, runId: string): string {
  return path.join(home, 'jobs', runId, 'output.log');
}

export const ACTIVE_STATES: readonly JobRunState[] = ['queued', 'running', 'unknown'];

/** What starts a run, recorded with it (src/backend/scheduler sets cron and dependency triggers). */
export interface RunTrigger {
  readonly trigger: JobRunTrigger;
  readonly detail: string | null;
  readonly executionId: string | null;
}

export const MANUAL_TRIGGER: RunTrigger = { trigger: 'manual', detail: null, executionId: null };

export interface JobRow {
  readonly id: string;
  readonly projectId: string;
  readonly spec: JobSpec;
  readonly workspace: string | null;
}

export type RunChanges = Partial<
  Pick<JobRun, 'state' | 'exitCode' | 'reason' | 'startedAt' | 'endedAt' | 'containerId'> & { deadline: string | null }
>;

const RUN_COLUMNS: Record<keyof RunChanges, string> = {
  state: 'state',
  exitCode: 'exit_code',
  reason: 'reason',
  startedAt: 'started_at',
  endedAt: 'ended_at',
  containerId: 'container_id',
  deadline: 'deadline',
};

/**
 * Job definitions and their runs in the metadata store; output lives in files. A definition saved or
 * deleted is published on `events` (by default a bus nobody follows: a tool that only needs the
 * store); the runs' changes are published by the runner and the pipelines that make them.
 */
export class JobRepository implements ProjectOwned {
  constructor(
    private readonly store: Store,
    private readonly home: string,
    private readonly events: EventBus,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private toRun(row: Row): JobRun {
    let logBytes = 0;
    try {
      logBytes = fs.statSync(runLogFile(this.home, String(row.id))).size;
    } catch {
      // no output yet
    }
    const text = (v: unknown) => (v === null ? null : String(v));
    return {
      id: String(row.id),
      jobId: String(row.job_id),
      projectId: String(row.project_id),
      trigger: String(row.trigger) as JobRunTrigger,
      triggerDetail: text(row.trigger_detail ?? null),
      executionId: text(row.execution_id ?? null),
      state: String(row.state) as JobRunState,
      exitCode: row.exit_code === null ? null : Number(row.exit_code),
      reason: text(row.reason),
      createdAt: String(row.created_at),
      startedAt: text(row.started_at),
      endedAt: text(row.ended_at),
      containerId: text(row.container_id),
      runDir: String(row.run_dir),
      logBytes,
    };
  }

  private toJob(row: Row): Job {
    const last = this.store.get(
      'SELECT * FROM job_runs WHERE job_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1',
      [String(row.id)],
    );
    const spec = JSON.parse(String(row.spec)) as JobSpec;
    return {
      ...spec,
      id: String(row.id),
      projectId: String(row.project_id),
      createdAt: String(row.created_at),
      updatedAt: String(row.updated_at),
      lastRun: last ? this.toRun(last) : null,
      warnings: jobWarnings(spec, row.workspace === null ? null : String(row.workspace)),
    };
  }

  list(projectId: string): Job[] {
    return this.store
      .all('SELECT * FROM jobs WHERE project_id = ? ORDER BY name COLLATE NOCASE', [projectId])
      .map((r) => this.toJob(r));
  }

  /** A job by name (case-insensitive) or id. */
  get(projectId: string, nameOrId: string): Job {
    return this.toJob(this.row(projectId, nameOrId));
  }

  private row(projectId: string, nameOrId: string): Row {
    return getByNameOrId(this.store, 'jobs', projectId, nameOrId);
  }

  definition(projectId: string, nameOrId: string): JobRow {
    const row = this.row(projectId, nameOrId);
    return {
      id: String(row.id),
      projectId,
      spec: JSON.parse(String(row.spec)) as JobSpec,
      workspace: row.workspace === null ? null : String(row.workspace),
    };
  }

  /** Creates a job, or replaces the definition of the job of that name when `replace` is set. */
  async save(
    projectId: string,
    spec: JobSpec,
    workspace: string | null,
    replace: boolean,
  ): Promise<{ job: Job; outcome: 'created' | 'updated' }> {
    const problem = checkName('job', spec.name);
    if (problem) {
      throw new ApiError(400, 'invalid_name', problem);
    }
    const at = this.now().toISOString();
    const id = randomUUID();
    let outcome: 'created' | 'updated' = 'created';
    await this.store.write((tx) => {
      const existing = findByName(tx, 'jobs', projectId, spec.name);
      if (existing && !replace) {
        throw nameTaken('jobs', spec.name);
      }
      if (existing) {
        outcome = 'updated';
        tx.run('UPDATE jobs SET spec = ?, workspace = ?, updated_at = ? WHERE id = ?', [
          JSON.stringify(spec),
          workspace,
          at,
          String(existing.id),
        ]);
      } else {
        tx.run(
          'INSERT INTO jobs (id, project_id, name, spec, workspace, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [id, projectId, spec.name, JSON.stringify(spec), workspace, at, at],
        );
      }
    });
    const job = this.get(projectId, spec.name);
    this.events.publish({ type: 'jobChanged', job });
    return { job, outcome };
  }

  /** Deletes a job with its runs and their output. */
  async delete(job: Pick<Job, 'id' | 'projectId'>): Promise<void> {
    const runs = this.store.all('SELECT id FROM job_runs WHERE job_id = ?', [job.id]).map((r) => String(r.id));
    await this.store.write((tx) => {
      tx.run('DELETE FROM job_runs WHERE job_id = ?', [job.id]);
      tx.run('DELETE FROM jobs WHERE id = ?', [job.id]);
    });
    this.removeLogs(runs);
    this.events.publish({ type: 'jobDeleted', projectId: job.projectId, jobId: job.id });
  }

  private removeLogs(runIds: readonly string[]): void {
    for (const id of runIds) {
      fs.rmSync(path.dirname(runLogFile(this.home, id)), { recursive: true, force: true });
    }
  }

  runs(jobId: string): JobRun[] {
    return this.store
      .all('SELECT * FROM job_runs WHERE job_id = ? ORDER BY created_at DESC, rowid DESC', [jobId])
      .map((r) => this.toRun(r));
  }

  run(runId: string): JobRun {
    const row = this.store.get('SELECT * FROM job_runs WHERE id = ?', [runId]);
    if (!row) {
      throw new ApiError(404, 'not_found', `No job run with id "${runId}": list the runs with "mllab job list".`);
    }
    return this.toRun(row);
  }

  hasRun(runId: string): boolean {
    return this.store.get('SELECT 1 AS x FROM job_runs WHERE id = ?', [runId]) !== undefined;
  }

  /** Runs not known to be over, with their deadlines (ISO time or null). */
  activeRuns(): { run: JobRun; deadline: string | null }[] {
    return this.store
      .all(`SELECT * FROM job_runs WHERE state IN (${ACTIVE_STATES.map(() => '?').join(', ')})`, [...ACTIVE_STATES])
      .map((r) => ({ run: this.toRun(r), deadline: r.deadline === null ? null : String(r.deadline) }));
  }

  async insertRun(job: JobRow, runDir: string, trigger: RunTrigger = MANUAL_TRIGGER): Promise<JobRun> {
    const id = randomUUID();
    fs.mkdirSync(path.dirname(runLogFile(this.home, id)), { recursive: true });
    fs.writeFileSync(runLogFile(this.home, id), '');
    await this.store.write((tx) =>
      tx.run(
        `INSERT INTO job_runs (id, job_id, project_id, trigger, trigger_detail, execution_id, state, created_at, run_dir)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
        [
          id,
          job.id,
          job.projectId,
          trigger.trigger,
          trigger.detail,
          trigger.executionId,
          this.now().toISOString(),
          runDir,
        ],
      ),
    );
    return this.run(id);
  }

  /** Records a run that never started (skipped after a failed upstream, or a start that failed). */
  async insertEndedRun(job: JobRow, state: JobRunState, reason: string, trigger: RunTrigger): Promise<JobRun> {
    const id = randomUUID();
    fs.mkdirSync(path.dirname(runLogFile(this.home, id)), { recursive: true });
    fs.writeFileSync(runLogFile(this.home, id), '');
    const at = this.now().toISOString();
    await this.store.write((tx) =>
      tx.run(
        `INSERT INTO job_runs (id, job_id, project_id, trigger, trigger_detail, execution_id, state, reason, created_at, ended_at, run_dir)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')`,
        [id, job.id, job.projectId, trigger.trigger, trigger.detail, trigger.executionId, state, reason, at, at],
      ),
    );
    return this.run(id);
  }

  /** Forgets a run that never started (its image is missing): it is no part of the history. */
  async deleteRun(runId: string): Promise<void> {
    await this.store.write((tx) => tx.run('DELETE FROM job_runs WHERE id = ?', [runId]));
    this.removeLogs([runId]);
  }

  async updateRun(runId: string, changes: RunChanges): Promise<JobRun> {
    const entries = Object.entries(changes) as [keyof RunChanges, string | number | null][];
    if (entries.length > 0) {
      await this.store.write((tx) =>
        tx.run(`UPDATE job_runs SET ${entries.map(([k]) => `${RUN_COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`, [
          ...entries.map(([, v]) => v),
          runId,
        ]),
      );
    }
    return this.run(runId);
  }

  counts(projectId: string): Record<string, number> {
    const row = this.store.get('SELECT COUNT(*) AS n FROM jobs WHERE project_id = ?', [projectId]);
    const n = Number(row?.n ?? 0);
    // only when there are some: most projects have none, and the delete prompt stays short
    return n > 0 ? { jobs: n } : {};
  }

  deleteAll(tx: WriteTx, projectId: string): () => void {
    const runs = tx.all('SELECT id FROM job_runs WHERE project_id = ?', [projectId]).map((r) => String(r.id));
    tx.run('DELETE FROM job_runs WHERE project_id = ?', [projectId]);
    tx.run('DELETE FROM jobs WHERE project_id = ?', [projectId]);
    return () => this.removeLogs(runs);
  }
}

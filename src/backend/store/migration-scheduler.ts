import type { WriteTx } from './database';

/**
 * Cron schedules (one per job), job dependencies (edges of the pipeline graph), pipeline executions,
 * and what triggered each job run (src/backend/scheduler).
 */
export function schedulerMigration(tx: WriteTx): void {
  tx.run(`CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    cron TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    overlap TEXT NOT NULL,
    missed TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    queued_at TEXT,
    last_fired_at TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`);
  tx.run('CREATE UNIQUE INDEX schedules_job ON schedules (job_id)');
  tx.run(`CREATE TABLE job_dependencies (
    job_id TEXT NOT NULL,
    upstream_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    PRIMARY KEY (job_id, upstream_id)
  )`);
  tx.run(`CREATE TABLE pipeline_executions (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    plan TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ended_at TEXT
  )`);
  tx.run('CREATE INDEX pipeline_executions_state ON pipeline_executions (state)');
  tx.run('ALTER TABLE job_runs ADD COLUMN trigger_detail TEXT');
  tx.run('ALTER TABLE job_runs ADD COLUMN execution_id TEXT');
  tx.run('CREATE INDEX job_runs_execution ON job_runs (execution_id)');
}

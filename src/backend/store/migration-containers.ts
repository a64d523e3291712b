import type { WriteTx } from './database';

/**
 * Jobs, their runs and services (containers in Docker). Specs are JSON, as exported; logs are files
 * in the lab home, never rows.
 */
export function containersMigration(tx: WriteTx): void {
  tx.run(`CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    workspace TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`);
  tx.run('CREATE UNIQUE INDEX jobs_name ON jobs (project_id, name COLLATE NOCASE)');
  tx.run(`CREATE TABLE job_runs (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    trigger TEXT NOT NULL,
    state TEXT NOT NULL,
    exit_code INTEGER,
    reason TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    container_id TEXT,
    run_dir TEXT NOT NULL,
    deadline TEXT
  )`);
  tx.run('CREATE INDEX job_runs_job ON job_runs (job_id, created_at DESC)');
  tx.run('CREATE INDEX job_runs_state ON job_runs (state)');
  tx.run(`CREATE TABLE services (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    reason TEXT,
    container_id TEXT
  )`);
  tx.run('CREATE UNIQUE INDEX services_name ON services (project_id, name COLLATE NOCASE)');
}

import type { WriteTx } from './database';
import { containersMigration } from './migration-containers';
import { storedManifestsMigration } from './migration-stored-manifests';
import { listingAsRowsMigration } from './migration-listing-rows';
import { modelsMigration } from './migration-models';
import { schedulerMigration } from './migration-scheduler';
import { targetsMigration } from './migration-targets';
import { sweepsMigration } from './migration-sweeps';

/**
 * Schema migrations, applied in order. Never edit a released migration: append a new one. Each runs
 * inside a journaled write transaction, so replaying a journal reproduces it exactly.
 */
export const MIGRATIONS: ReadonlyArray<(tx: WriteTx) => void> = [
  // 1: projects and the per-home settings (active project)
  (tx) => {
    tx.run(`CREATE TABLE projects (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`);
    tx.run('CREATE UNIQUE INDEX projects_name ON projects (name COLLATE NOCASE)');
    tx.run('CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)');
  },
  // 2: datasets and their versions; a dataset keeps its next version number so numbers are never reused
  (tx) => {
    tx.run(`CREATE TABLE datasets (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL,
      name TEXT NOT NULL,
      created_at TEXT NOT NULL,
      next_version INTEGER NOT NULL DEFAULT 1
    )`);
    tx.run('CREATE UNIQUE INDEX datasets_name ON datasets (project_id, name COLLATE NOCASE)');
    tx.run(`CREATE TABLE dataset_versions (
      id TEXT PRIMARY KEY,
      dataset_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      size INTEGER NOT NULL,
      media_type TEXT NOT NULL,
      kind TEXT NOT NULL,
      file_count INTEGER,
      unpacked_size INTEGER,
      file_name TEXT NOT NULL,
      source_path TEXT NOT NULL,
      created_at TEXT NOT NULL,
      operator TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '',
      tags TEXT NOT NULL DEFAULT '[]'
    )`);
    tx.run('CREATE UNIQUE INDEX dataset_versions_number ON dataset_versions (dataset_id, version)');
    tx.run('CREATE INDEX dataset_versions_sha256 ON dataset_versions (sha256)');
  },
  // 3: experiments (ingested from run directories) and their metric summaries; points are in files.
  // `listing` is the Experiment as listed (JSON, summaries included), written with the row: listing
  // 10,000 experiments is then one concatenation in SQLite instead of 60,000 rows through sql.js
  (tx) => {
    tx.run(`CREATE TABLE experiments (
      id TEXT PRIMARY KEY,
      project_id TEXT NOT NULL,
      name TEXT NOT NULL,
      status TEXT NOT NULL,
      started_at TEXT NOT NULL,
      ended_at TEXT,
      exit_code INTEGER,
      operator TEXT NOT NULL,
      params TEXT NOT NULL DEFAULT '{}',
      tags TEXT NOT NULL DEFAULT '{}',
      dir TEXT NOT NULL,
      manifest TEXT NOT NULL,
      logged TEXT NOT NULL DEFAULT '{}',
      events_offset INTEGER NOT NULL DEFAULT 0,
      corrupt_lines INTEGER NOT NULL DEFAULT 0,
      skipped_points INTEGER NOT NULL DEFAULT 0,
      listing TEXT NOT NULL
    )`);
    tx.run('CREATE INDEX experiments_project ON experiments (project_id, started_at DESC, id DESC)');
    tx.run(`CREATE TABLE metric_summaries (
      experiment_id TEXT NOT NULL,
      key TEXT NOT NULL,
      idx INTEGER NOT NULL,
      count INTEGER NOT NULL,
      last REAL,
      last_raw TEXT NOT NULL,
      last_step REAL NOT NULL,
      min REAL,
      max REAL,
      PRIMARY KEY (experiment_id, key)
    )`);
  },
  // 4: jobs, job runs and services (src/backend/jobs, src/backend/services)
  containersMigration,
  // 5: `listing` holds the experiment's row tuple of GET /api/experiments (src/protocol/experiment-list.ts)
  // instead of the Experiment object: half the bytes to concatenate, send and parse
  listingAsRowsMigration,
  // 6: cron schedules, job dependencies, pipeline executions, the trigger of each job run (src/backend/scheduler)
  schedulerMigration,
  // 7: the model registry: models, versions (content in the blob store) and aliases (src/backend/models)
  modelsMigration,
  // 8: run.json is read from the run directory; the row keeps what the ingest needs without it
  storedManifestsMigration,
  // 9: the listing's index in ascending order: runs arrive in the order they started, and appending to
  // an index kept in descending order left its pages half empty (185 bytes a run instead of 105);
  // the listing (newest first) reads it backwards
  (tx) => {
    tx.run('DROP INDEX experiments_project');
    tx.run('CREATE INDEX experiments_project ON experiments (project_id, started_at, id)');
  },
  // 10: the users of a lab served to a team and their tokens (src/backend/users): only a token's
  // SHA-256 is stored; a revoked token is kept, for the record
  (tx) => {
    tx.run(`CREATE TABLE users (
      name TEXT PRIMARY KEY COLLATE NOCASE,
      role TEXT NOT NULL,
      created_at TEXT NOT NULL
    )`);
    tx.run(`CREATE TABLE tokens (
      id TEXT PRIMARY KEY,
      user TEXT NOT NULL,
      hash TEXT NOT NULL,
      label TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL,
      expires_at TEXT,
      revoked_at TEXT
    )`);
  },
  // 11: the members of each project and their role (owner, editor, viewer; src/backend/users/members.ts);
  // a project without members is seen by the lab's admins only
  (tx) => {
    tx.run(`CREATE TABLE project_members (
      project_id TEXT NOT NULL,
      user TEXT NOT NULL COLLATE NOCASE,
      role TEXT NOT NULL,
      added_at TEXT NOT NULL,
      PRIMARY KEY (project_id, user)
    )`);
    tx.run('CREATE INDEX project_members_user ON project_members (user)');
  },
  // 12: a token's scope: the most it may do (null: its user's role), e.g. a read-only token for a job
  (tx) => {
    tx.run('ALTER TABLE tokens ADD COLUMN scope TEXT');
  },
  // 13: targets (remote Docker Engines, Swarm managers) and a project's default target (src/backend/targets)
  targetsMigration,
  // 14: parameter sweeps (src/backend/sweeps)
  sweepsMigration,
];

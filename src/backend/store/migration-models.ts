import type { WriteTx } from './database';

/**
 * The model registry: models, their versions (content in the blob store, like dataset versions) and
 * aliases. A model keeps its next version number so numbers are never reused; `source_key` makes the
 * registration of a run's `model` event idempotent (the run id and the event's byte offset).
 */
export function modelsMigration(tx: WriteTx): void {
  tx.run(`CREATE TABLE models (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    next_version INTEGER NOT NULL DEFAULT 1
  )`);
  tx.run('CREATE UNIQUE INDEX models_name ON models (project_id, name COLLATE NOCASE)');
  tx.run(`CREATE TABLE model_versions (
    id TEXT PRIMARY KEY,
    model_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    source_path TEXT NOT NULL,
    entry_point TEXT,
    experiment_id TEXT,
    source_key TEXT,
    created_at TEXT NOT NULL,
    operator TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]'
  )`);
  tx.run('CREATE UNIQUE INDEX model_versions_number ON model_versions (model_id, version)');
  tx.run('CREATE INDEX model_versions_sha256 ON model_versions (sha256)');
  tx.run('CREATE UNIQUE INDEX model_versions_source ON model_versions (source_key)');
  tx.run(`CREATE TABLE model_aliases (
    model_id TEXT NOT NULL,
    alias TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (model_id, alias)
  )`);
}

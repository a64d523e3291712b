import type { WriteTx } from './database';

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
];

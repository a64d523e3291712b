import type { WriteTx } from './database';

/**
 * 14: parameter sweeps (src/backend/sweeps). The row holds what a person decided (the definition, the
 * state asked for); the trials live in the sweep's Optuna journal and status file under
 * `<home>/sweeps/<id>/`, written by its controller.
 */
export function sweepsMigration(tx: WriteTx): void {
  tx.run(`CREATE TABLE sweeps (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    definition TEXT NOT NULL,
    message TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`);
  tx.run('CREATE INDEX sweeps_project ON sweeps (project_id)');
}

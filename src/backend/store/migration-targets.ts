import type { WriteTx } from './database';

/**
 * The targets a lab runs containers on besides its own Docker Engine (src/backend/targets): a remote
 * engine or a Swarm manager, with the TLS files the lab reads to reach it (paths on the lab machine)
 * and the registry its nodes pull from; and each project's default target (null: `local`).
 */
export function targetsMigration(tx: WriteTx): void {
  tx.run(`CREATE TABLE targets (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    kind TEXT NOT NULL,
    docker_host TEXT NOT NULL,
    tls_ca TEXT,
    tls_cert TEXT,
    tls_key TEXT,
    registry TEXT,
    created_at TEXT NOT NULL
  )`);
  tx.run('ALTER TABLE projects ADD COLUMN default_target TEXT');
}

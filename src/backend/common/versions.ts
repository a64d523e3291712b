import { randomUUID } from 'crypto';
import type { WriteTx } from '../store/database';

/** The tables of things a project names and keeps numbered versions of (name -> v1..vN). */
export type VersionedTable = 'datasets' | 'models';

/**
 * Takes the next version number of `name` in the project (names compare case-insensitively),
 * creating the named row on its first version, inside the caller's write transaction. A number is
 * never given twice, even after its version is deleted: `next_version` only grows.
 */
export function takeNextVersion(
  tx: WriteTx,
  table: VersionedTable,
  projectId: string,
  name: string,
  createdAt: string,
): { id: string; version: number } {
  let row = tx.get(`SELECT id, next_version FROM ${table} WHERE project_id = ? AND name = ? COLLATE NOCASE`, [
    projectId,
    name,
  ]);
  if (!row) {
    row = { id: randomUUID(), next_version: 1 };
    tx.run(`INSERT INTO ${table} (id, project_id, name, created_at, next_version) VALUES (?, ?, ?, ?, 1)`, [
      String(row.id),
      projectId,
      name,
      createdAt,
    ]);
  }
  const version = Number(row.next_version);
  tx.run(`UPDATE ${table} SET next_version = ? WHERE id = ?`, [version + 1, String(row.id)]);
  return { id: String(row.id), version };
}

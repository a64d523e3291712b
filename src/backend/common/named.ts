import { ApiError } from '../errors';
import type { ReadTx, Row } from '../store/database';

/** The tables of things a project names uniquely (case-insensitively) and finds by name or id. */
export type NamedTable = 'jobs' | 'services';

const KIND: Record<NamedTable, string> = { jobs: 'job', services: 'service' };

/** The project's row of that name (case-insensitive), if any. */
export function findByName(db: ReadTx, table: NamedTable, projectId: string, name: string): Row | undefined {
  return db.get(`SELECT id FROM ${table} WHERE project_id = ? AND name = ? COLLATE NOCASE`, [projectId, name]);
}

/** The project's row of that id or name (case-insensitive); 404 with what to do. */
export function getByNameOrId(db: ReadTx, table: NamedTable, projectId: string, nameOrId: string): Row {
  const row = db.get(`SELECT * FROM ${table} WHERE project_id = ? AND (id = ? OR name = ? COLLATE NOCASE)`, [
    projectId,
    nameOrId,
    nameOrId,
  ]);
  if (!row) {
    const kind = KIND[table];
    throw new ApiError(
      404,
      'not_found',
      `No ${kind} called "${nameOrId}" in this project: list them with "mllab ${kind} list".`,
    );
  }
  return row;
}

/** 409 for a name the project already gives to another row. */
export function nameTaken(table: NamedTable, name: string): ApiError {
  return new ApiError(
    409,
    'name_taken',
    `A ${KIND[table]} called "${name}" already exists in this project: pick another name, or remove it first.`,
  );
}

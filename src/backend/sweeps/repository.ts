import { randomUUID } from 'crypto';
import type { SweepDefinition, SweepState } from '../../protocol/sweeps';
import { ApiError } from '../errors';
import type { Row, Store, WriteTx } from '../store/database';

/** A sweep's row: what a person decided. Its trials are in the files its controller writes (status.ts). */
export interface SweepRecord {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly state: SweepState;
  readonly definition: SweepDefinition;
  readonly message: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

function toRecord(row: Row): SweepRecord {
  return {
    id: String(row.id),
    projectId: String(row.project_id),
    name: String(row.name),
    state: String(row.state) as SweepState,
    definition: JSON.parse(String(row.definition)) as SweepDefinition,
    message: row.message === null ? null : String(row.message),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

/** Sweeps in the metadata store. */
export class SweepRepository {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  list(projectId: string): SweepRecord[] {
    return this.store
      .all('SELECT * FROM sweeps WHERE project_id = ? ORDER BY created_at DESC, id', [projectId])
      .map(toRecord);
  }

  /** Sweeps whose controller should run: those running, and those paused (their running trials go on). */
  active(): SweepRecord[] {
    return this.store.all("SELECT * FROM sweeps WHERE state IN ('running', 'paused')").map(toRecord);
  }

  /** A sweep of the project by id, else a 404 that says what to do. */
  get(projectId: string, id: string): SweepRecord {
    const row = this.store.get('SELECT * FROM sweeps WHERE id = ? AND project_id = ?', [id, projectId]);
    if (!row) {
      throw new ApiError(404, 'not_found', `No sweep "${id}" in this project: list them with "mllab sweep list".`);
    }
    return toRecord(row);
  }

  byId(id: string): SweepRecord | undefined {
    const row = this.store.get('SELECT * FROM sweeps WHERE id = ?', [id]);
    return row ? toRecord(row) : undefined;
  }

  async insert(projectId: string, definition: SweepDefinition): Promise<SweepRecord> {
    const id = randomUUID();
    const at = this.now().toISOString();
    await this.store.write((tx) =>
      tx.run(
        'INSERT INTO sweeps (id, project_id, name, state, definition, message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)',
        [id, projectId, definition.name, 'running', JSON.stringify(definition), at, at],
      ),
    );
    return this.byId(id)!;
  }

  async update(
    id: string,
    changes: { state?: SweepState; message?: string | null; definition?: SweepDefinition },
  ): Promise<SweepRecord> {
    const sets: string[] = ['updated_at = ?'];
    const values: (string | null)[] = [this.now().toISOString()];
    if (changes.state !== undefined) {
      sets.push('state = ?');
      values.push(changes.state);
    }
    if (changes.message !== undefined) {
      sets.push('message = ?');
      values.push(changes.message);
    }
    if (changes.definition !== undefined) {
      sets.push('definition = ?');
      values.push(JSON.stringify(changes.definition));
    }
    await this.store.write((tx) => tx.run(`UPDATE sweeps SET ${sets.join(', ')} WHERE id = ?`, [...values, id]));
    return this.byId(id)!;
  }

  counts(projectId: string): Record<string, number> {
    const row = this.store.get('SELECT COUNT(*) AS n FROM sweeps WHERE project_id = ?', [projectId]);
    const n = Number(row?.n ?? 0);
    return n > 0 ? { sweeps: n } : {};
  }

  deleteAll(tx: WriteTx, projectId: string): () => void {
    tx.run('DELETE FROM sweeps WHERE project_id = ?', [projectId]);
    return () => undefined;
  }
}

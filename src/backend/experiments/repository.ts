import * as path from 'path';
import type { Experiment, ExperimentDetails, MetricSummary, RunManifest, RunStatus } from '../../protocol/experiments';
import { durationOf, fromRow, toRow, type ExperimentRow } from '../../protocol/experiment-list';
import { ApiError } from '../errors';
import type { ProjectOwned } from '../projects/repository';
import type { Row, Store, WriteTx } from '../store/database';
import { readRunManifest } from './run-manifest';
import { loggedOf, manifestColumns, manifestOfRow, storedLogged, storedManifest } from './stored-run';

/** The summary of one metric key of a run, with where its points are stored. */
export interface KeyState {
  /** the number of its points file, `<index>.f64` */
  readonly index: number;
  count: number;
  /** the last finite value */
  last: number | null;
  lastRaw: number | string;
  lastStep: number;
  min: number | null;
  max: number | null;
}

/** What a run's events.jsonl contributed so far, besides metric points. */
export interface Logged {
  params: Record<string, unknown>;
  tags: Record<string, string>;
  artifacts: { path: string; source: string }[];
  inputs: { dataset: string; version: number | null }[];
  outputs: string[];
  result: unknown;
  /** the last status line, if any */
  final: { status: RunStatus; exitCode: number | null; t: number } | null;
  /** what the ingest refused or cut (RUN_LIMITS, links), and clients' warnings; absent in older rows */
  warnings?: string[];
  /** warnings beyond RUN_LIMITS.warningsPerRun, counted */
  moreWarnings?: number;
}

/** One experiments row as the ingest keeps it in memory. */
export interface RunRecord {
  readonly id: string;
  projectId: string;
  name: string;
  status: RunStatus;
  startedAt: string;
  endedAt: string | null;
  exitCode: number | null;
  operator: string;
  dir: string;
  manifestText: string;
  manifest: RunManifest;
  logged: Logged;
  /** bytes of events.jsonl ingested (always just after a newline) */
  offset: number;
  corruptLines: number;
  skippedPoints: number;
}

export const emptyLogged = (): Logged => ({
  params: {},
  tags: {},
  artifacts: [],
  inputs: [],
  outputs: [],
  result: null,
  final: null,
});

/** A special float as its JSON-safe form. */
export function rawOf(v: number): number | string {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

function summaryOf(row: Row): MetricSummary {
  const raw = String(row.last_raw);
  const n = Number(raw);
  return {
    key: String(row.key),
    count: Number(row.count),
    last: row.last === null ? null : Number(row.last),
    lastStep: Number(row.last_step),
    min: row.min === null ? null : Number(row.min),
    max: row.max === null ? null : Number(row.max),
    lastRaw: Number.isFinite(n) && raw !== '' ? n : raw,
  };
}

/** The Experiment DTO of a record and all its keys (summaries sorted by key). */
export function experimentOf(r: RunRecord, keys: ReadonlyMap<string, KeyState>): Experiment {
  return {
    id: r.id,
    projectId: r.projectId,
    name: r.name,
    status: r.status,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    durationMs: durationOf(r.startedAt, r.endedAt),
    exitCode: r.exitCode,
    operator: r.operator,
    params: { ...r.manifest.params, ...r.logged.params },
    tags: { ...r.manifest.tags, ...r.logged.tags },
    metrics: [...keys.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, s]) => ({
        key,
        count: s.count,
        last: s.last,
        lastStep: s.lastStep,
        min: s.min,
        max: s.max,
        lastRaw: s.lastRaw,
      })),
    dir: r.dir,
  };
}

/**
 * The listing is concatenated by SQLite in chunks of this many runs: one concatenation of 100,000
 * runs grew sql.js's memory by twice its 30 MB for good (memory it never gives back).
 */
const LISTING_CHUNK = 2000;
/** The runs of a listing chunk, newest first, after the run `after` (started at, id) if given. */
const LISTING_PAGE = (after: unknown) =>
  `WHERE project_id = ? ${after ? 'AND (started_at, id) < (?, ?)' : ''} ORDER BY started_at DESC, id DESC LIMIT ${LISTING_CHUNK}`;

const notFound = (id: string) =>
  new ApiError(
    404,
    'not_found',
    `No experiment with id "${id}" exists: it may have been deleted. List them with "mllab experiment list".`,
  );

/** Experiments and their metric summaries in the metadata store; points live in MetricFiles. */
export class ExperimentRepository implements ProjectOwned {
  /** the runs folder with its separator: the listing leaves out the dir of a run in it */
  private readonly runs: string | undefined;

  /** `runsDir`: the lab's runs folder (without it, every listed run carries its dir) */
  constructor(
    private readonly store: Store,
    runsDir?: string,
  ) {
    this.runs = runsDir === undefined ? undefined : path.join(runsDir, path.sep);
  }

  /** listJson() by project, valid until the next write of any experiment (see `changed`) */
  private readonly listings = new Map<string, Buffer>();

  /**
   * The project's experiments, newest first, each with its metric summaries, as the JSON text of an
   * ExperimentList: the `listing` column (the experiment's row tuple, rewritten with every change
   * of the row) concatenated by SQLite, then kept until an experiment changes. Reading 10,000
   * experiments and 50,000 summaries as rows through sql.js took ~370 ms; the concatenation ~12 ms;
   * a repeated listing costs nothing. The route sends the bytes as they are (kept as UTF-8 bytes: no
   * conversion per request, and outside the JavaScript heap).
   */
  listJson(projectId: string): Buffer {
    const cached = this.listings.get(projectId);
    if (cached !== undefined) {
      return cached;
    }
    const runs = this.runs === undefined ? '' : `"runs":${JSON.stringify(this.runs)},`;
    const parts: Buffer[] = [Buffer.from(`{"projectId":${JSON.stringify(projectId)},${runs}"rows":[`)];
    let after: [string, string] | undefined;
    do {
      const page = after ? [projectId, ...after] : [projectId];
      const row = this.store.get(
        `SELECT group_concat(listing, ',') AS list FROM (SELECT listing FROM experiments ${LISTING_PAGE(after)})`,
        page,
      );
      if (typeof row?.list === 'string') {
        parts.push(Buffer.from(parts.length > 1 ? `,${row.list}` : row.list));
      }
      const last = this.store.get(
        `SELECT started_at, id FROM experiments ${LISTING_PAGE(after)} OFFSET ${LISTING_CHUNK - 1}`,
        page,
      );
      after = last ? [String(last.started_at), String(last.id)] : undefined;
    } while (after);
    parts.push(Buffer.from(']}'));
    const bytes = Buffer.concat(parts);
    this.listings.set(projectId, bytes);
    return bytes;
  }

  list(projectId: string): Experiment[] {
    const rows = (JSON.parse(this.listJson(projectId).toString('utf8')) as { rows: ExperimentRow[] }).rows;
    return rows.map((r) => fromRow(projectId, r, this.runs));
  }

  /**
   * Forgets the cached listings. Called inside every write transaction that touches experiments;
   * the store applies (or rolls back) a transaction synchronously, so no listing can be taken from a
   * state that is then rolled back.
   */
  private changed(): void {
    this.listings.clear();
  }

  /** One experiment as listed; throws a 404 for an unknown id. */
  get(id: string): Experiment {
    const row = this.store.get('SELECT project_id, listing FROM experiments WHERE id = ?', [id]);
    if (!row) {
      throw notFound(id);
    }
    return fromRow(String(row.project_id), JSON.parse(String(row.listing)) as ExperimentRow, this.runs);
  }

  /** The experiment with its run.json (read from its run directory) and what it logged. */
  details(id: string): ExperimentDetails {
    const experiment = this.get(id);
    const row = this.store.get('SELECT * FROM experiments WHERE id = ?', [id])!;
    const logged = loggedOf(row.logged);
    const read = readRunManifest(String(row.dir));
    const unread =
      'problem' in read
        ? [
            `run.json could not be read (${read.problem}): its command, working folder, script, runtime, ` +
              'packages, git state and host details are not shown (the lab keeps only the rest)',
          ]
        : [];
    return {
      ...experiment,
      manifest: 'manifest' in read ? read.manifest : manifestOfRow(row),
      artifacts: logged.artifacts,
      inputs: logged.inputs,
      outputs: logged.outputs,
      result: logged.result,
      warnings: [
        ...unread,
        ...(logged.warnings ?? []),
        ...(logged.moreWarnings ? [`... and ${logged.moreWarnings} more warnings (see the backend log)`] : []),
      ],
    };
  }

  summaries(id: string): MetricSummary[] {
    return this.store
      .all(
        'SELECT key, count, last, last_raw, last_step, min, max FROM metric_summaries WHERE experiment_id = ? ORDER BY key',
        [id],
      )
      .map(summaryOf);
  }

  /** Where a key's points are and how many are committed; a 404 names the keys that exist. */
  keyOf(id: string, key: string): { index: number; count: number } {
    const row = this.store.get('SELECT idx, count FROM metric_summaries WHERE experiment_id = ? AND key = ?', [
      id,
      key,
    ]);
    if (!row) {
      const keys = this.summaries(id).map((s) => s.key);
      throw new ApiError(
        404,
        'not_found',
        `Experiment "${id}" has no metric "${key}"` +
          (keys.length > 0 ? `: its metrics are ${keys.map((k) => `"${k}"`).join(', ')}.` : ': it logged no metrics.'),
      );
    }
    return { index: Number(row.idx), count: Number(row.count) };
  }

  /** The ids of every experiment with its status (to resume ingest at start). */
  all(): { id: string; status: RunStatus; offset: number }[] {
    return this.store.all('SELECT id, status, events_offset FROM experiments').map((r) => ({
      id: String(r.id),
      status: String(r.status) as RunStatus,
      offset: Number(r.events_offset),
    }));
  }

  /** The ingest state of a run, or undefined if it was never ingested. */
  load(id: string): { record: RunRecord; keys: Map<string, KeyState> } | undefined {
    const row = this.store.get('SELECT * FROM experiments WHERE id = ?', [id]);
    if (!row) {
      return undefined;
    }
    const manifest = manifestOfRow(row);
    const record: RunRecord = {
      id,
      projectId: String(row.project_id),
      name: String(row.name),
      status: String(row.status) as RunStatus,
      startedAt: String(row.started_at),
      endedAt: row.ended_at === null ? null : String(row.ended_at),
      exitCode: row.exit_code === null ? null : Number(row.exit_code),
      operator: String(row.operator),
      dir: String(row.dir),
      // what a refused run.json falls back to (the ingest compares it with the file's text)
      manifestText: JSON.stringify(manifest),
      manifest,
      logged: loggedOf(row.logged),
      offset: Number(row.events_offset),
      corruptLines: Number(row.corrupt_lines),
      skippedPoints: Number(row.skipped_points),
    };
    const keys = new Map<string, KeyState>();
    for (const r of this.store.all('SELECT * FROM metric_summaries WHERE experiment_id = ?', [id])) {
      const s = summaryOf(r);
      keys.set(s.key, {
        index: Number(r.idx),
        count: s.count,
        last: s.last,
        lastRaw: s.lastRaw,
        lastStep: s.lastStep,
        min: s.min,
        max: s.max,
      });
    }
    return { record, keys };
  }

  /**
   * Inserts or updates a run with the summaries of the keys in `changed` (all of `keys` go into its
   * listing), inside `tx`.
   */
  save(
    tx: WriteTx,
    r: RunRecord,
    keys: ReadonlyMap<string, KeyState>,
    changed: Iterable<string>,
    how: { readonly isNew: boolean; readonly manifestChanged: boolean },
  ): void {
    const experiment = experimentOf(r, keys);
    const { params, tags } = manifestColumns(r.manifest);
    const listing = JSON.stringify(toRow(experiment, this.runs));
    this.changed();
    const logged = storedLogged(r.logged);
    if (how.isNew) {
      tx.run(
        `INSERT INTO experiments (id, project_id, name, status, started_at, ended_at, exit_code, operator, params,
           tags, dir, manifest, logged, events_offset, corrupt_lines, skipped_points, listing)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          r.id,
          r.projectId,
          r.name,
          r.status,
          r.startedAt,
          r.endedAt,
          r.exitCode,
          r.operator,
          params,
          tags,
          r.dir,
          storedManifest(r.manifest),
          logged,
          r.offset,
          r.corruptLines,
          r.skippedPoints,
          listing,
        ],
      );
    } else if (
      tx.run(
        `UPDATE experiments SET name = ?, status = ?, started_at = ?, ended_at = ?, exit_code = ?, operator = ?,
           params = ?, tags = ?, logged = ?, events_offset = ?, corrupt_lines = ?, skipped_points = ?, listing = ?
           ${how.manifestChanged ? ', manifest = ?' : ''} WHERE id = ?`,
        [
          r.name,
          r.status,
          r.startedAt,
          r.endedAt,
          r.exitCode,
          r.operator,
          params,
          tags,
          logged,
          r.offset,
          r.corruptLines,
          r.skippedPoints,
          listing,
          ...(how.manifestChanged ? [storedManifest(r.manifest)] : []),
          r.id,
        ],
      ) === 0
    ) {
      return; // deleted while this pass read its events: nothing to keep
    }
    for (const key of changed) {
      const s = keys.get(key)!;
      tx.run(
        `INSERT INTO metric_summaries (experiment_id, key, idx, count, last, last_raw, last_step, min, max)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (experiment_id, key) DO UPDATE SET count = excluded.count, last = excluded.last,
           last_raw = excluded.last_raw, last_step = excluded.last_step, min = excluded.min, max = excluded.max`,
        [r.id, key, s.index, s.count, s.last, String(s.lastRaw), s.lastStep, s.min, s.max],
      );
    }
  }

  /** Forgets what was ingested of a run (its points files were found damaged): ingest starts over. */
  reset(tx: WriteTx, id: string): void {
    tx.run('DELETE FROM metric_summaries WHERE experiment_id = ?', [id]);
    tx.run(`UPDATE experiments SET events_offset = 0, corrupt_lines = 0, skipped_points = 0, logged = ? WHERE id = ?`, [
      storedLogged(emptyLogged()),
      id,
    ]);
  }

  remove(tx: WriteTx, id: string): boolean {
    this.changed();
    tx.run('DELETE FROM metric_summaries WHERE experiment_id = ?', [id]);
    return tx.run('DELETE FROM experiments WHERE id = ?', [id]) > 0;
  }

  /** Run ids of a project (for the files to remove once its deletion is committed). */
  idsOf(tx: WriteTx | Store, projectId: string): string[] {
    return tx.all('SELECT id FROM experiments WHERE project_id = ?', [projectId]).map((r) => String(r.id));
  }

  /** Set by the ingest: removes the run directories and points files of deleted runs. */
  onDeleted: (ids: readonly string[]) => void = () => undefined;

  deleteAll(tx: WriteTx, projectId: string): () => void {
    this.changed();
    const ids = this.idsOf(tx, projectId);
    tx.run('DELETE FROM metric_summaries WHERE experiment_id IN (SELECT id FROM experiments WHERE project_id = ?)', [
      projectId,
    ]);
    tx.run('DELETE FROM experiments WHERE project_id = ?', [projectId]);
    return () => this.onDeleted(ids);
  }

  /** Experiments of the project that record `dataset` (`version`, or "latest" = null) as an input. */
  usersOfDataset(projectId: string, dataset: string, version: number): { id: string; name: string }[] {
    return this.store
      .all('SELECT id, name, logged FROM experiments WHERE project_id = ? AND logged LIKE ? ORDER BY started_at', [
        projectId,
        '%"inputs"%',
      ])
      .filter((row) => {
        const logged = JSON.parse(String(row.logged)) as { inputs?: { dataset: string; version: number | null }[] };
        return (logged.inputs ?? []).some(
          (i) => i.dataset.toLowerCase() === dataset.toLowerCase() && (i.version === null || i.version === version),
        );
      })
      .map((row) => ({ id: String(row.id), name: String(row.name) }));
  }

  counts(projectId: string): Record<string, number> {
    const row = this.store.get('SELECT COUNT(*) AS n FROM experiments WHERE project_id = ?', [projectId]);
    return { experiments: Number(row?.n ?? 0) };
  }
}

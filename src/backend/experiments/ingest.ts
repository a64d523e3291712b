import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isProcessAlive } from '../../common/home';
import type { BackendEvent } from '../../protocol/api';
import type { RunManifest, RunStatus } from '../../protocol/experiments';
import { cutText, RUN_LIMITS } from '../../protocol/limits';
import { openInside, UnsafePathError } from '../files/copy';
import type { Logger } from '../log';
import type { Store } from '../store/database';
import { MetricFields, metricValue, scanMetricLine } from './line-scanner';
import { MetricFiles, PointBuffer } from './metric-files';
import { emptyLogged, ExperimentRepository, KeyState, rawOf, RunRecord } from './repository';

export interface IngestDeps {
  readonly store: Store;
  readonly repo: ExperimentRepository;
  readonly files: MetricFiles;
  readonly log: Logger;
  /** the project id for a manifest's `project` (id, name or null = active); undefined = none yet */
  readonly resolveProject: (project: string | null) => string | undefined;
  /** live points of running runs (metricPoints events) */
  readonly publish?: (event: BackendEvent) => void;
  readonly isAlive?: (pid: number) => boolean;
  /** bytes of events.jsonl read and committed at a time */
  readonly chunkBytes?: number;
  /**
   * Registers a model a run logged (a `model` event), before the pass that read it is committed;
   * called again for the same `key` after a crash, so it must be idempotent.
   */
  readonly onModel?: (model: LoggedModel) => Promise<void>;
}

/** A `model` event of a run, to register (see RunEvent). */
export interface LoggedModel {
  readonly runId: string;
  readonly projectId: string;
  readonly runDir: string;
  readonly name: string;
  /** relative to the run directory */
  readonly path: string;
  readonly entryPoint: string | null;
  readonly description: string;
  readonly tags: readonly string[];
  /** unique per event: the run id and the line's byte offset in events.jsonl */
  readonly key: string;
}

/**
 * What one ingest pass found: `missing` (no readable run.json yet), `pending` (no project to put the
 * run in), `unchanged`, or `updated` (the run's row changed: publish it).
 */
export type IngestOutcome = 'missing' | 'pending' | 'unchanged' | 'updated';

/**
 * The writes of several passes, committed in one store transaction (`RunIngest.flush`): a slice of a
 * big backlog costs one journal line and one fdatasync instead of one per run. A pass that fails
 * takes its run out of the batch (its in-memory state is reloaded from the store next time).
 */
export class IngestBatch {
  /** by run id */
  readonly saves = new Map<string, BatchedSave>();

  get size(): number {
    return this.saves.size;
  }
}

interface BatchedSave {
  readonly state: RunState;
  readonly changed: Set<string>;
  readonly isNew: boolean;
  manifestChanged: boolean;
  /** points to publish once committed (runs followed live) */
  readonly points: Pending[];
}

const STATUSES: ReadonlySet<string> = new Set(['running', 'completed', 'failed', 'interrupted']);
const MAX_WARNINGS_PER_PASS = 5;

interface RunState {
  record: RunRecord;
  keys: Map<string, KeyState>;
  isNew: boolean;
  /** run.json changed since the last commit */
  manifestDirty: boolean;
  /** `model` events read in this pass, registered before it commits */
  models: LoggedModel[];
  /** a warning was added to the run since the last commit */
  warned: boolean;
  /** characters of JSON the run's params, tags, artifacts, inputs, outputs and result take (about) */
  recorded: number;
  /**
   * The line at the committed offset is longer than RUN_LIMITS.lineBytes and has no newline before
   * `scanned` (a file position): it is skipped to its newline, reading only what is new each pass.
   */
  longLine?: { scanned: number };
}

/** A name or value for a message: at most 40 characters of it. */
function shown(text: string): string {
  return text.length > 40
    ? `${JSON.stringify(text.slice(0, 40))}... (${text.length} characters)`
    : JSON.stringify(text);
}

/** The JSON text length of a recorded value (undefined counts as nothing). */
function jsonChars(v: unknown): number {
  if (v === undefined) {
    return 0;
  }
  if (typeof v === 'string') {
    return v.length + 2;
  }
  return JSON.stringify(v)?.length ?? 0;
}

/** One key's points of the current pass. */
interface Pending {
  readonly key: string;
  readonly state: KeyState;
  readonly points: PointBuffer;
}

function iso(text: unknown, fallback: string): string {
  const ms = typeof text === 'string' ? Date.parse(text) : NaN;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : fallback;
}

/**
 * Ingests run directories (`run.json` + `events.jsonl`, see src/protocol/experiments.ts) into the
 * store and the metric files, incrementally: events.jsonl is read from the stored byte offset, only
 * up to its last newline (a line being written waits until it is complete). Points are appended to
 * the files first, then the summaries and the new offset are committed in one transaction: the
 * store is the commit point, and a points tail beyond the committed count (a crash in between) is
 * cut off before the next append, so nothing is counted twice.
 *
 * Callers serialize passes per run (ExperimentTracker does).
 */
export class RunIngest {
  private readonly live = new Map<string, RunState>();
  private readonly fields: MetricFields = {
    key: '',
    value: 0,
    numeric: true,
    step: null,
    stepValid: true,
    time: 0,
  };
  private readonly hostname = os.hostname();
  /** the status of the run of the last `ingest` that did not answer missing or pending */
  lastStatus: RunStatus | undefined;
  /** the `project` its manifest names (null: the active one), when the last `ingest` answered pending */
  pendingProject: string | null = null;

  constructor(private readonly deps: IngestDeps) {}

  /** Forgets the in-memory state of a run (after it finished, or was deleted). */
  forget(id: string): void {
    this.live.delete(id);
  }

  /**
   * One pass over a run directory. With `batch`, the pass's store writes are added to it and
   * committed by `flush(batch)` (the caller flushes before the run's next pass); without, they are
   * committed before this resolves. Errors of the file system (EMFILE included) are thrown, with
   * nothing of the pass kept: the caller retries the run later. `stored: false` says the run is
   * known not to be in the store (saves a query per new run in a backlog).
   */
  async ingest(dir: string, batch?: IngestBatch, stored?: boolean): Promise<IngestOutcome> {
    const id = path.basename(dir);
    this.lastStatus = undefined;
    try {
      return await this.pass(id, dir, batch, stored);
    } catch (e) {
      // the in-memory state may be ahead of the store: reload it (and cut the point tails) next time
      this.live.delete(id);
      batch?.saves.delete(id);
      throw e;
    }
  }

  /** Commits the writes of a batch in one transaction, then publishes the live points it holds. */
  async flush(batch: IngestBatch): Promise<void> {
    if (batch.saves.size === 0) {
      return;
    }
    const saves = [...batch.saves.values()];
    batch.saves.clear();
    try {
      await this.deps.store.write((tx) => {
        for (const s of saves) {
          this.deps.repo.save(tx, s.state.record, s.state.keys, s.changed, {
            isNew: s.isNew,
            manifestChanged: s.manifestChanged,
          });
        }
      });
    } catch (e) {
      for (const s of saves) {
        this.live.delete(s.state.record.id);
      }
      throw e;
    }
    for (const s of saves) {
      this.publishPoints(s.state.record.id, s.points);
    }
  }

  private async pass(
    id: string,
    dir: string,
    batch: IngestBatch | undefined,
    stored: boolean | undefined,
  ): Promise<IngestOutcome> {
    let manifestText = this.readManifest(id, dir);
    if (manifestText === undefined) {
      return 'missing';
    }
    let manifest = this.parseManifest(id, manifestText);
    if (!manifest) {
      return 'missing';
    }
    const state = await this.stateOf(id, dir, manifest, stored);
    if (!state) {
      return 'pending';
    }
    const { record } = state;
    const refused = this.refusedManifests.get(id);
    if (refused !== undefined) {
      this.warn(state, `run.json ${refused}: it was not read (the run keeps what was read before)`);
    }
    // the pid is checked before the events are read: whatever a dead process wrote is then complete
    let dead = false;
    if (manifest.status === 'running' && record.logged.final === null && this.sameHost(manifest)) {
      dead = !(this.deps.isAlive ?? isProcessAlive)(manifest.pid);
      if (dead) {
        manifestText = this.readManifest(id, dir) ?? manifestText;
        manifest = this.parseManifest(id, manifestText) ?? manifest;
      }
    }
    const manifestChanged = manifestText !== record.manifestText;
    if (manifestChanged) {
      record.manifestText = manifestText;
      record.manifest = manifest;
      state.manifestDirty = true;
    }
    const changed = await this.readEvents(state, dir, dead, batch);
    if (record.status !== 'running') {
      this.live.delete(id);
    }
    this.lastStatus = record.status;
    return changed ? 'updated' : 'unchanged';
  }

  /** run.json files refused (a link, not a regular file, too big): why, by run id */
  private readonly refusedManifests = new Map<string, string>();

  /**
   * The text of run.json, read without following a symbolic link (a job writes its run directory).
   * A refused run.json leaves the manifest read before (if any) in place, with a warning.
   */
  private readManifest(id: string, dir: string): string | undefined {
    let opened: { fd: number; size: number };
    try {
      opened = openInside(dir, 'run.json', RUN_LIMITS.manifestBytes);
    } catch (e) {
      if (e instanceof UnsafePathError && e.reason !== 'missing') {
        const reason = e.message.replace(/^"run.json" /, '');
        if (this.refusedManifests.get(id) !== reason) {
          this.refusedManifests.set(id, reason);
          this.deps.log.warn(`experiments: run ${id}: run.json ${reason}: it is not read`);
        }
        return this.live.get(id)?.record.manifestText || this.deps.repo.load(id)?.record.manifestText || undefined;
      }
      if (!(e instanceof UnsafePathError)) {
        throw e; // EMFILE, EIO...: not a missing run.json, the caller retries the run
      }
      return undefined; // not written yet (the client writes it atomically)
    }
    this.refusedManifests.delete(id);
    try {
      const buffer = Buffer.allocUnsafe(opened.size);
      let got = 0;
      while (got < opened.size) {
        const n = fs.readSync(opened.fd, buffer, got, opened.size - got, got);
        if (n === 0) {
          break;
        }
        got += n;
      }
      return buffer.toString('utf8', 0, got);
    } catch {
      return undefined;
    } finally {
      fs.closeSync(opened.fd);
    }
  }

  private readonly badManifests = new Map<string, string>();

  private parseManifest(id: string, text: string): RunManifest | undefined {
    let m: Partial<RunManifest> | null;
    try {
      m = JSON.parse(text) as Partial<RunManifest> | null;
    } catch (e) {
      m = null;
      text = `${text.length}:${(e as Error).message}`;
    }
    if (m && typeof m === 'object' && typeof m.status === 'string' && STATUSES.has(m.status)) {
      this.badManifests.delete(id);
      return m as RunManifest;
    }
    if (this.badManifests.get(id) !== text) {
      this.badManifests.set(id, text);
      this.deps.log.warn(
        `experiments: run ${id}: run.json is not a valid run manifest (no known "status"); it is ingested once it is`,
      );
    }
    return undefined;
  }

  private sameHost(manifest: RunManifest): boolean {
    // a run written in a container or on another machine (bind mount) has a pid we cannot check
    const host = manifest.host?.hostname;
    return typeof manifest.pid === 'number' && (typeof host !== 'string' || host === this.hostname);
  }

  private async stateOf(
    id: string,
    dir: string,
    manifest: RunManifest,
    stored: boolean | undefined,
  ): Promise<RunState | undefined> {
    const cached = this.live.get(id);
    if (cached) {
      return cached;
    }
    const loaded = stored === false ? undefined : this.deps.repo.load(id);
    if (loaded) {
      const state: RunState = {
        ...loaded,
        isNew: false,
        manifestDirty: false,
        models: [],
        warned: false,
        recorded: jsonChars(loaded.record.logged),
      };
      // cut uncommitted point tails; a file shorter than committed means points were lost: start over
      let damaged = false;
      for (const k of loaded.keys.values()) {
        if (this.deps.files.settle(id, k.index, k.count) < k.count) {
          damaged = true;
        }
      }
      if (damaged) {
        this.deps.log.warn(`experiments: run ${id}: its metric files lost points; ingesting events.jsonl again`);
        await this.restart(state);
      }
      this.live.set(id, state);
      return state;
    }
    const named = typeof manifest.project === 'string' && manifest.project ? manifest.project : null;
    const projectId = this.deps.resolveProject(named);
    if (projectId === undefined) {
      this.pendingProject = named; // the caller says it (once for many runs)
      return undefined;
    }
    this.deps.files.remove(id); // points of a first pass that never committed
    const now = new Date().toISOString();
    const state: RunState = {
      isNew: true,
      manifestDirty: true,
      models: [],
      warned: false,
      recorded: 0,
      keys: new Map(),
      record: {
        id,
        projectId,
        name: typeof manifest.name === 'string' && manifest.name ? manifest.name : id,
        status: 'running',
        startedAt: iso(manifest.startedAt, now),
        endedAt: null,
        exitCode: null,
        operator: typeof manifest.operator === 'string' ? manifest.operator : '',
        dir,
        manifestText: '',
        manifest,
        logged: emptyLogged(),
        offset: 0,
        corruptLines: 0,
        skippedPoints: 0,
      },
    };
    this.live.set(id, state);
    return state;
  }

  private async restart(state: RunState): Promise<void> {
    const { record } = state;
    await this.deps.store.write((tx) => this.deps.repo.reset(tx, record.id));
    this.deps.files.remove(record.id);
    state.keys.clear();
    record.offset = 0;
    record.corruptLines = 0;
    record.skippedPoints = 0;
    record.logged = emptyLogged();
    state.recorded = 0;
    state.longLine = undefined;
  }

  /**
   * Records a warning in the run (shown with it; kept once per text, at most
   * RUN_LIMITS.warningsPerRun, more are counted) and in the backend's log.
   */
  private warn(state: RunState, message: string): void {
    const logged = state.record.logged;
    const list = (logged.warnings ??= []);
    if (list.includes(message)) {
      return;
    }
    state.warned = true;
    if (list.length < RUN_LIMITS.warningsPerRun) {
      list.push(message);
      this.deps.log.warn(`experiments: run ${state.record.id}: ${message}`);
    } else {
      logged.moreWarnings = (logged.moreWarnings ?? 0) + 1;
    }
  }

  /**
   * Reads complete lines from the offset in big chunks, committing each; true if anything changed.
   * Memory stays bounded whatever the file holds: a line longer than RUN_LIMITS.lineBytes is skipped
   * to its newline (one warning), never buffered whole, and an unfinished one is not read again.
   */
  private async readEvents(
    state: RunState,
    dir: string,
    dead: boolean,
    into: IngestBatch | undefined,
  ): Promise<boolean> {
    const { record } = state;
    let fd: number | undefined;
    let size = 0;
    try {
      ({ fd, size } = openInside(dir, 'events.jsonl'));
    } catch (e) {
      if (!(e instanceof UnsafePathError)) {
        throw e;
      }
      if (e.reason !== 'missing') {
        this.warn(state, `events.jsonl ${e.message.replace(/^"events.jsonl" /, '')}: it was not read`);
      }
      // else no events yet
    }
    let changed = false;
    const cap = RUN_LIMITS.lineBytes;
    try {
      if (fd !== undefined && size < record.offset) {
        this.deps.log.warn(
          `experiments: run ${record.id}: events.jsonl is shorter than what was ingested (it was replaced); ingesting it again`,
        );
        await this.restart(state);
        changed = true;
      }
      const chunk = Math.max(this.deps.chunkBytes ?? 16 * 1024 * 1024, 1);
      // skipping a long line, only what is new since the last pass is read
      const from = state.longLine ? Math.max(state.longLine.scanned, record.offset) : record.offset;
      let buffer = Buffer.allocUnsafe(Math.min(chunk, Math.max(size - from, 1)));
      while (fd !== undefined && record.offset < size) {
        if (state.longLine) {
          const from = Math.max(state.longLine.scanned, record.offset);
          const newline = await this.findNewline(fd, from, size, buffer);
          if (newline < 0) {
            state.longLine.scanned = size;
            break; // the long line is still being written
          }
          record.corruptLines++;
          this.warn(
            state,
            `skipped a line of events.jsonl of ${newline + 1 - record.offset} bytes at byte ${record.offset}: lines are limited to ${cap} bytes`,
          );
          state.longLine = undefined;
          record.offset = newline + 1;
          await this.commit(state, new Map(), dead, into);
          changed = true;
          continue;
        }
        const want = Math.min(buffer.length, size - record.offset);
        const got = this.readAt(fd, buffer, want, record.offset);
        const cut = buffer.lastIndexOf(10, got - 1) + 1;
        if (cut === 0) {
          if (got > cap) {
            state.longLine = { scanned: record.offset + got }; // no newline in more than a line may hold
            continue;
          }
          if (got === buffer.length && record.offset + got < size) {
            buffer = Buffer.allocUnsafe(Math.min(buffer.length * 2, cap + 1)); // a line longer than a chunk
            continue;
          }
          break; // only a line still being written
        }
        const batch = this.parseLines(state, buffer.toString('utf8', 0, cut), record.offset);
        record.offset += cut;
        await this.commit(state, batch, dead, into);
        changed = true;
      }
    } finally {
      if (fd !== undefined) {
        fs.closeSync(fd);
      }
    }
    const before = record.status;
    this.settleStatus(record, dead);
    if (!changed && (state.manifestDirty || state.isNew || state.warned || record.status !== before)) {
      await this.commit(state, new Map(), dead, into);
      changed = true;
    }
    return changed || record.status !== before;
  }

  private readAt(fd: number, buffer: Buffer, want: number, position: number): number {
    let got = 0;
    while (got < want) {
      const n = fs.readSync(fd, buffer, got, want - got, position + got);
      if (n === 0) {
        break;
      }
      got += n;
    }
    return got;
  }

  /**
   * The position of the first newline in [from, size), or -1; reads a buffer at a time and lets
   * other work (requests) run in between, so skipping hundreds of megabytes never stalls the backend.
   */
  private async findNewline(fd: number, from: number, size: number, buffer: Buffer): Promise<number> {
    let position = from;
    while (position < size) {
      const got = this.readAt(fd, buffer, Math.min(buffer.length, size - position), position);
      if (got === 0) {
        return -1;
      }
      const i = buffer.indexOf(10);
      if (i >= 0 && i < got) {
        return position + i;
      }
      position += got;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return -1;
  }

  /** Parses complete lines into per-key point buffers; other events go into the record. */
  private parseLines(state: RunState, text: string, offset: number): Map<string, Pending> {
    const { record, keys } = state;
    const batch = new Map<string, Pending>();
    const f = this.fields;
    const warnings = { corrupt: 0, skipped: 0 };
    let start = 0;
    const length = text.length;
    while (start < length) {
      const nl = text.indexOf('\n', start);
      const lineEnd = nl < 0 ? length : nl;
      const end = lineEnd > start && text.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd;
      let metric = scanMetricLine(text, start, end, f);
      if (!metric) {
        const line = text.slice(start, end);
        if (end - start >= RUN_LIMITS.lineBytes) {
          // a line over the limit that came whole within a chunk: skipped like one that did not
          record.corruptLines++;
          this.warn(
            state,
            `skipped a line of events.jsonl of ${end - start} characters at byte ${offset + Buffer.byteLength(text.slice(0, start))}: lines are limited to ${RUN_LIMITS.lineBytes} bytes`,
          );
        } else if (line.trim() !== '') {
          let event: unknown;
          try {
            event = JSON.parse(line);
          } catch {
            event = undefined;
          }
          const kind = this.applyEvent(state, event, f);
          if (kind === 'model') {
            const e = event as {
              name: string;
              path: string;
              entryPoint?: unknown;
              description?: unknown;
              tags?: unknown;
            };
            const tags = Array.isArray(e.tags) ? e.tags.filter((t): t is string => typeof t === 'string') : [];
            state.models.push({
              runId: record.id,
              projectId: record.projectId,
              runDir: record.dir,
              name: e.name,
              path: e.path,
              entryPoint: typeof e.entryPoint === 'string' ? cutText(e.entryPoint, RUN_LIMITS.nameChars) : null,
              description: typeof e.description === 'string' ? cutText(e.description, RUN_LIMITS.textChars) : '',
              tags: tags.slice(0, RUN_LIMITS.listItems).map((t) => cutText(t, RUN_LIMITS.nameChars)),
              key: `${record.id}@${offset + Buffer.byteLength(text.slice(0, start))}`,
            });
          }
          if (kind === 'metric') {
            metric = true;
          } else if (kind === 'corrupt') {
            record.corruptLines++;
            if (++warnings.corrupt <= MAX_WARNINGS_PER_PASS) {
              this.deps.log.warn(
                `experiments: run ${record.id}: skipped a corrupt line of events.jsonl at byte ${offset + Buffer.byteLength(text.slice(0, start))}: ${line.slice(0, 120)}`,
              );
            }
          }
        }
      }
      if (metric) {
        if (!f.numeric || !f.stepValid || f.key === '') {
          record.skippedPoints++;
          if (++warnings.skipped <= MAX_WARNINGS_PER_PASS) {
            this.deps.log.warn(
              `experiments: run ${record.id}: skipped a metric point of "${f.key}" whose ${f.numeric ? 'step' : 'value'} is not a number`,
            );
          }
        } else {
          let p = batch.get(f.key);
          if (!p) {
            let ks = keys.get(f.key);
            if (!ks && f.key.length > RUN_LIMITS.keyChars) {
              record.skippedPoints++;
              this.warn(
                state,
                `skipped the points of the metric ${shown(f.key)}: keys are limited to ${RUN_LIMITS.keyChars} characters`,
              );
              start = lineEnd + 1;
              continue;
            }
            if (!ks) {
              ks = { index: keys.size, count: 0, last: null, lastRaw: 0, lastStep: 0, min: null, max: null };
              keys.set(f.key, ks);
              this.deps.files.settle(record.id, ks.index, 0); // a file left by a pass that never committed
            }
            p = { key: f.key, state: ks, points: new PointBuffer() };
            batch.set(f.key, p);
          }
          const ks = p.state;
          const step = f.step ?? (ks.count === 0 ? 0 : ks.lastStep + 1);
          const v = f.value;
          ks.count++;
          ks.lastStep = step;
          if (v - v === 0) {
            // finite
            ks.last = v;
            ks.lastRaw = v;
            if (ks.min === null || v < ks.min) {
              ks.min = v;
            }
            if (ks.max === null || v > ks.max) {
              ks.max = v;
            }
          } else {
            ks.lastRaw = rawOf(v);
          }
          p.points.push(step, Number.isNaN(f.time) ? Date.now() : f.time, v);
        }
      }
      start = lineEnd + 1;
    }
    const extra = (n: number, what: string) =>
      n > MAX_WARNINGS_PER_PASS &&
      this.deps.log.warn(`experiments: run ${record.id}: ... and ${n - MAX_WARNINGS_PER_PASS} more ${what}`);
    extra(warnings.corrupt, 'corrupt lines');
    extra(warnings.skipped, 'non-numeric metric points');
    return batch;
  }

  /**
   * Whether the run may record `added` more characters (`removed` are replaced); else a warning.
   * Keeps the run's row in the store bounded (RUN_LIMITS.recordedChars).
   */
  private fits(state: RunState, what: string, added: number, removed = 0): boolean {
    if (state.recorded + added - removed > RUN_LIMITS.recordedChars) {
      this.warn(
        state,
        `refused ${what}: a run records at most ${RUN_LIMITS.recordedChars} characters of params, tags, artifacts, inputs, outputs and result`,
      );
      return false;
    }
    state.recorded += added - removed;
    return true;
  }

  /** A value for the store: as it is, or (too long) its text cut to `max` characters, with a warning. */
  private bounded(state: RunState, what: string, v: unknown, max: number): unknown {
    if (typeof v === 'string' ? v.length <= max : jsonChars(v) <= max) {
      return v;
    }
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    this.warn(state, `${what} has ${text.length} characters: kept its first ${max}`);
    return cutText(text, max);
  }

  /** A key within RUN_LIMITS.keyChars, else a warning and false. */
  private keyFits(state: RunState, kind: string, key: string): boolean {
    if (key.length <= RUN_LIMITS.keyChars) {
      return true;
    }
    this.warn(state, `refused the ${kind} ${shown(key)}: keys are limited to ${RUN_LIMITS.keyChars} characters`);
    return false;
  }

  /** A path within RUN_LIMITS.pathChars, else a warning and false. */
  private pathFits(state: RunState, kind: string, p: string): boolean {
    if (p.length <= RUN_LIMITS.pathChars) {
      return true;
    }
    this.warn(state, `refused the ${kind} ${shown(p)}: paths are limited to ${RUN_LIMITS.pathChars} characters`);
    return false;
  }

  /**
   * Applies a parsed line that is not a fast-path metric; `metric` fills `f` for the caller. Every
   * value is bounded (RUN_LIMITS): too long keys and paths are refused, too long values cut, each
   * with a warning in the run ('applied': nothing else to do).
   */
  private applyEvent(state: RunState, e: unknown, f: MetricFields): 'metric' | 'model' | 'applied' | 'corrupt' {
    if (!e || typeof e !== 'object' || Array.isArray(e)) {
      return 'corrupt';
    }
    const ev = e as Record<string, unknown>;
    const logged = state.record.logged;
    const str = (v: unknown): v is string => typeof v === 'string';
    switch (ev.k) {
      case 'm': {
        if (!str(ev.key)) {
          return 'corrupt';
        }
        const v = metricValue(ev.v);
        f.key = ev.key;
        f.numeric = v !== undefined;
        f.value = v ?? NaN;
        f.step = typeof ev.s === 'number' ? ev.s : null;
        f.stepValid = ev.s === null || ev.s === undefined || (typeof ev.s === 'number' && Number.isFinite(ev.s));
        f.time = typeof ev.t === 'number' ? ev.t : NaN;
        return 'metric';
      }
      case 'param': {
        if (!str(ev.key)) {
          return 'corrupt';
        }
        if (!this.keyFits(state, 'param', ev.key)) {
          return 'applied';
        }
        const v = this.bounded(state, `the value of the param ${shown(ev.key)}`, ev.v, RUN_LIMITS.paramValueChars);
        const old = Object.prototype.hasOwnProperty.call(logged.params, ev.key) ? logged.params[ev.key] : undefined;
        const key = ev.key;
        const size = (x: unknown) => (x === undefined ? 0 : key.length + 4 + jsonChars(x));
        if (this.fits(state, `the param ${shown(ev.key)}`, size(v), size(old))) {
          logged.params[ev.key] = v;
        }
        return 'applied';
      }
      case 'tag': {
        if (!str(ev.key)) {
          return 'corrupt';
        }
        if (!this.keyFits(state, 'tag', ev.key)) {
          return 'applied';
        }
        const v = String(
          this.bounded(state, `the value of the tag ${shown(ev.key)}`, String(ev.v), RUN_LIMITS.tagValueChars),
        );
        const old = Object.prototype.hasOwnProperty.call(logged.tags, ev.key) ? logged.tags[ev.key] : undefined;
        const key = ev.key;
        const size = (x: string | undefined) => (x === undefined ? 0 : key.length + 6 + x.length);
        if (this.fits(state, `the tag ${shown(ev.key)}`, size(v), size(old))) {
          logged.tags[ev.key] = v;
        }
        return 'applied';
      }
      case 'artifact': {
        if (!str(ev.path)) {
          return 'corrupt';
        }
        const source = str(ev.source) ? cutText(ev.source, RUN_LIMITS.pathChars) : '';
        if (
          this.pathFits(state, 'artifact', ev.path) &&
          this.fits(state, `the artifact ${shown(ev.path)}`, ev.path.length + source.length + 24)
        ) {
          logged.artifacts.push({ path: ev.path, source });
        }
        return 'applied';
      }
      case 'input': {
        if (!str(ev.dataset)) {
          return 'corrupt';
        }
        if (ev.dataset.length > RUN_LIMITS.nameChars) {
          this.warn(
            state,
            `refused the input ${shown(ev.dataset)}: dataset names are limited to ${RUN_LIMITS.nameChars} characters`,
          );
        } else if (this.fits(state, `the input ${shown(ev.dataset)}`, ev.dataset.length + 40)) {
          logged.inputs.push({ dataset: ev.dataset, version: typeof ev.version === 'number' ? ev.version : null });
        }
        return 'applied';
      }
      case 'output':
        if (!str(ev.path)) {
          return 'corrupt';
        }
        if (
          this.pathFits(state, 'output', ev.path) &&
          this.fits(state, `the output ${shown(ev.path)}`, ev.path.length + 3)
        ) {
          logged.outputs.push(ev.path);
        }
        return 'applied';
      case 'result': {
        const v = this.bounded(state, 'the result', ev.v ?? null, RUN_LIMITS.textChars);
        if (this.fits(state, 'the result', jsonChars(v), jsonChars(logged.result))) {
          logged.result = v;
        }
        return 'applied';
      }
      case 'model':
        // registered by the caller (deps.onModel); the file is an artifact, listed by its own event
        if (!str(ev.name) || !str(ev.path)) {
          return 'corrupt';
        }
        if (ev.name.length > RUN_LIMITS.nameChars) {
          this.warn(
            state,
            `refused the model ${shown(ev.name)}: names are limited to ${RUN_LIMITS.nameChars} characters`,
          );
          return 'applied';
        }
        return this.pathFits(state, 'model file', ev.path) ? 'model' : 'applied';
      case 'warning':
        // a client's warning about what it was asked to log (a value it cut, ...)
        if (str(ev.message)) {
          this.warn(state, cutText(ev.message, RUN_LIMITS.textChars));
        }
        return 'applied';
      case 'status':
        if (!str(ev.status) || !STATUSES.has(ev.status)) {
          return 'corrupt';
        }
        logged.final = {
          status: ev.status as RunStatus,
          exitCode: typeof ev.exitCode === 'number' ? ev.exitCode : null,
          t: typeof ev.t === 'number' ? ev.t : Date.now(),
        };
        return 'applied';
      default:
        // a kind from a newer client: not an error, nothing to keep
        return str(ev.k) ? 'applied' : 'corrupt';
    }
  }

  /** Status, end and exit code from (in order) a status line, a final manifest, a dead pid. */
  private settleStatus(record: RunRecord, dead: boolean): void {
    const m = record.manifest;
    record.name = typeof m.name === 'string' && m.name ? m.name : record.id;
    record.operator = typeof m.operator === 'string' ? m.operator : record.operator;
    record.startedAt = iso(m.startedAt, record.startedAt);
    const final = record.logged.final;
    if (final) {
      record.status = final.status;
      record.exitCode = final.exitCode ?? (typeof m.exitCode === 'number' ? m.exitCode : null);
      record.endedAt = iso(m.endedAt, iso(new Date(final.t).toISOString(), new Date().toISOString()));
    } else if (m.status !== 'running') {
      record.status = m.status;
      record.exitCode = typeof m.exitCode === 'number' ? m.exitCode : null;
      record.endedAt = iso(m.endedAt, record.endedAt ?? new Date().toISOString());
    } else if (dead) {
      if (record.status !== 'interrupted') {
        this.deps.log.info(
          `experiments: run ${record.id}: its process ${m.pid} ended without a final status: marked interrupted`,
        );
      }
      record.status = 'interrupted';
      record.endedAt ??= new Date().toISOString();
      record.exitCode = null;
    } else {
      record.status = 'running';
      record.endedAt = null;
      record.exitCode = null;
    }
  }

  /**
   * Registers the pass's `model` events before its offset is committed: a crash in between
   * registers them again, which the registry ignores (same key). A model that cannot be registered
   * (its file is missing) is logged and skipped: the run's other records go on.
   */
  private async registerModels(state: RunState): Promise<void> {
    for (const m of state.models.splice(0)) {
      try {
        await this.deps.onModel?.(m);
      } catch (e) {
        this.warn(state, `the model ${shown(m.name)} (${shown(m.path)}) was not registered: ${(e as Error).message}`);
      }
    }
  }

  /**
   * Appends the batch's points (one write per key), then commits summaries + offset at once: now, or
   * with the other writes of `into` (see flush).
   */
  private async commit(
    state: RunState,
    batch: Map<string, Pending>,
    dead: boolean,
    into: IngestBatch | undefined,
  ): Promise<void> {
    const { record } = state;
    // a run followed live keeps publishing through the pass that ends it (its last buffered points)
    const wasLive = !state.isNew && record.status === 'running';
    this.settleStatus(record, dead);
    for (const p of batch.values()) {
      this.deps.files.append(record.id, p.state.index, p.points.floats, p.points.length);
    }
    await this.registerModels(state);
    const target = into ?? new IngestBatch();
    let save = target.saves.get(record.id);
    if (!save) {
      save = { state, changed: new Set(), isNew: state.isNew, manifestChanged: false, points: [] };
      target.saves.set(record.id, save);
    }
    save.manifestChanged ||= state.manifestDirty;
    for (const key of batch.keys()) {
      save.changed.add(key);
    }
    if (this.deps.publish && (wasLive || record.status === 'running')) {
      save.points.push(...batch.values());
    }
    // whatever fails before the flush makes the caller reload the state from the store
    state.isNew = false;
    state.manifestDirty = false;
    state.warned = false;
    if (!into) {
      await this.flush(target);
    }
  }

  private publishPoints(runId: string, points: readonly Pending[]): void {
    const publish = this.deps.publish;
    if (!publish) {
      return;
    }
    for (const p of points) {
      const steps: number[] = [];
      const times: number[] = [];
      const values: (number | null)[] = [];
      const f = p.points.floats;
      for (let i = 0; i < p.points.length; i += 3) {
        steps.push(f[i]);
        times.push(f[i + 1]);
        values.push(Number.isFinite(f[i + 2]) ? f[i + 2] : null);
      }
      publish({ type: 'metricPoints', runId, key: p.key, steps, times, values });
    }
  }
}

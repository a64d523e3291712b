import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isProcessAlive } from '../../common/home';
import type { BackendEvent } from '../../protocol/api';
import type { RunManifest, RunStatus } from '../../protocol/experiments';
import { RUN_LIMITS } from '../../protocol/limits';
import { openInside, UnsafePathError } from '../files/copy';
import type { Logger } from '../log';
import type { Store } from '../store/database';
import { type ApplyHooks, applyLines } from './apply-lines';
import { findNewline, readAt } from './events-file';
import type { MetricFields } from './line-scanner';
import type { MetricFiles } from './metric-files';
import { emptyLogged, type ExperimentRepository } from './repository';
import { ManifestReader } from './run-manifest';
import { iso, jsonChars, type LoggedModel, type Pending, type RunState, shown } from './run-state';
import { warn } from './run-warnings';
import { settleStatus } from './settle-status';
import { heartbeatTimeoutMs, lastBeat } from './upload/heartbeat';

export type { LoggedModel } from './run-state';

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
  /** a running run sent over the network is interrupted once its sender is silent this long (see upload/heartbeat.ts) */
  readonly heartbeatTimeoutMs?: number;
  /** bytes of events.jsonl read and committed at a time */
  readonly chunkBytes?: number;
  /**
   * Registers a model a run logged (a `model` event), before the pass that read it is committed;
   * called again for the same `key` after a crash, so it must be idempotent.
   */
  readonly onModel?: (model: LoggedModel) => Promise<void>;
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
  private readonly startedAt = Date.now();
  private readonly heartbeatTimeoutMs: number;
  private readonly manifests: ManifestReader;
  /** what applying lines needs from outside (see applyLines) */
  private readonly hooks: ApplyHooks;
  /** the status of the run of the last `ingest` that did not answer missing or pending */
  lastStatus: RunStatus | undefined;
  /** the `project` its manifest names (null: the active one), when the last `ingest` answered pending */
  pendingProject: string | null = null;

  constructor(private readonly deps: IngestDeps) {
    this.manifests = new ManifestReader(deps.log);
    this.heartbeatTimeoutMs = deps.heartbeatTimeoutMs ?? heartbeatTimeoutMs();
    this.hooks = {
      log: deps.log,
      // a file left by a pass that never committed
      newKey: (runId, index) => void deps.files.settle(runId, index, 0),
    };
  }

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
    const readBefore = () =>
      this.live.get(id)?.record.manifestText || this.deps.repo.load(id)?.record.manifestText || undefined;
    let manifestText = this.manifests.read(id, dir, readBefore);
    if (manifestText === undefined) {
      return 'missing';
    }
    let manifest = this.manifests.parse(id, manifestText);
    if (!manifest) {
      return 'missing';
    }
    const state = await this.stateOf(id, dir, manifest, stored);
    if (!state) {
      return 'pending';
    }
    const { record } = state;
    const refused = this.manifests.refusal(id);
    if (refused !== undefined) {
      warn(state, `run.json ${refused}: it was not read (the run keeps what was read before)`, this.deps.log);
    }
    // the pid is checked before the events are read: whatever a dead process wrote is then complete
    let dead = false;
    if (manifest.status === 'running' && record.logged.final === null) {
      if (this.sameHost(manifest)) {
        dead = !(this.deps.isAlive ?? isProcessAlive)(manifest.pid);
      }
      const shipped = dead ? undefined : lastBeat(dir);
      if (shipped !== undefined) {
        // sent over the network, its process elsewhere: its sender falling silent tells (a lab that
        // just started counts from its start, so that the senders have the time to come back)
        dead = Date.now() - Math.max(shipped, this.startedAt) > this.heartbeatTimeoutMs;
      }
      if (dead) {
        manifestText = this.manifests.read(id, dir, readBefore) ?? manifestText;
        manifest = this.manifests.parse(id, manifestText) ?? manifest;
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
        warn(state, `events.jsonl ${e.message.replace(/^"events.jsonl" /, '')}: it was not read`, this.deps.log);
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
          const newline = await findNewline(fd, from, size, buffer);
          if (newline < 0) {
            state.longLine.scanned = size;
            break; // the long line is still being written
          }
          record.corruptLines++;
          warn(
            state,
            `skipped a line of events.jsonl of ${newline + 1 - record.offset} bytes at byte ${record.offset}: lines are limited to ${cap} bytes`,
            this.deps.log,
          );
          state.longLine = undefined;
          record.offset = newline + 1;
          await this.commit(state, new Map(), dead, into);
          changed = true;
          continue;
        }
        const want = Math.min(buffer.length, size - record.offset);
        const got = readAt(fd, buffer, want, record.offset);
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
        const batch = applyLines(state, buffer.toString('utf8', 0, cut), record.offset, this.fields, this.hooks);
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
    settleStatus(record, dead, this.deps.log);
    if (!changed && (state.manifestDirty || state.isNew || state.warned || record.status !== before)) {
      await this.commit(state, new Map(), dead, into);
      changed = true;
    }
    return changed || record.status !== before;
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
        warn(
          state,
          `the model ${shown(m.name)} (${shown(m.path)}) was not registered: ${(e as Error).message}`,
          this.deps.log,
        );
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
    settleStatus(record, dead, this.deps.log);
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

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isProcessAlive } from '../../common/home';
import type { BackendEvent } from '../../protocol/api';
import type { RunManifest, RunStatus } from '../../protocol/experiments';
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
  /** runs waiting for a project (logged once) */
  private readonly waiting = new Set<string>();

  constructor(private readonly deps: IngestDeps) {}

  /** Forgets the in-memory state of a run (after it finished, or was deleted). */
  forget(id: string): void {
    this.live.delete(id);
  }

  async ingest(dir: string): Promise<IngestOutcome> {
    const id = path.basename(dir);
    let manifestText = this.readManifest(dir);
    if (manifestText === undefined) {
      return 'missing';
    }
    let manifest = this.parseManifest(id, manifestText);
    if (!manifest) {
      return 'missing';
    }
    const state = await this.stateOf(id, dir, manifest);
    if (!state) {
      return 'pending';
    }
    const { record } = state;
    // the pid is checked before the events are read: whatever a dead process wrote is then complete
    let dead = false;
    if (manifest.status === 'running' && record.logged.final === null && this.sameHost(manifest)) {
      dead = !(this.deps.isAlive ?? isProcessAlive)(manifest.pid);
      if (dead) {
        manifestText = this.readManifest(dir) ?? manifestText;
        manifest = this.parseManifest(id, manifestText) ?? manifest;
      }
    }
    const manifestChanged = manifestText !== record.manifestText;
    if (manifestChanged) {
      record.manifestText = manifestText;
      record.manifest = manifest;
      state.manifestDirty = true;
    }
    let changed: boolean;
    try {
      changed = await this.readEvents(state, path.join(dir, 'events.jsonl'), dead);
    } catch (e) {
      // the in-memory state may be ahead of the store: reload it (and cut the point tails) next time
      this.live.delete(id);
      throw e;
    }
    if (record.status !== 'running') {
      this.live.delete(id);
    }
    return changed ? 'updated' : 'unchanged';
  }

  private readManifest(dir: string): string | undefined {
    try {
      return fs.readFileSync(path.join(dir, 'run.json'), 'utf8');
    } catch {
      return undefined; // not written yet (the client writes it atomically)
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

  private async stateOf(id: string, dir: string, manifest: RunManifest): Promise<RunState | undefined> {
    const cached = this.live.get(id);
    if (cached) {
      return cached;
    }
    const loaded = this.deps.repo.load(id);
    if (loaded) {
      const state: RunState = { ...loaded, isNew: false, manifestDirty: false, models: [] };
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
    const projectId = this.deps.resolveProject(typeof manifest.project === 'string' ? manifest.project : null);
    if (projectId === undefined) {
      if (!this.waiting.has(id)) {
        this.waiting.add(id);
        this.deps.log.info(
          manifest.project
            ? `experiments: run ${id} names project "${manifest.project}", which does not exist: it is ingested once that project is created`
            : `experiments: run ${id} waits for an active project: it is ingested once one is active`,
        );
      }
      return undefined;
    }
    this.waiting.delete(id);
    this.deps.files.remove(id); // points of a first pass that never committed
    const now = new Date().toISOString();
    const state: RunState = {
      isNew: true,
      manifestDirty: true,
      models: [],
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
  }

  /** Reads complete lines from the offset in big chunks, committing each; true if anything changed. */
  private async readEvents(state: RunState, file: string, dead: boolean): Promise<boolean> {
    const { record } = state;
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      // no events yet
    }
    let changed = false;
    try {
      const size = fd === undefined ? 0 : fs.fstatSync(fd).size;
      if (size < record.offset) {
        this.deps.log.warn(
          `experiments: run ${record.id}: events.jsonl is shorter than what was ingested (it was replaced); ingesting it again`,
        );
        await this.restart(state);
        changed = true;
      }
      const chunk = this.deps.chunkBytes ?? 16 * 1024 * 1024;
      let buffer = Buffer.allocUnsafe(Math.min(chunk, Math.max(size - record.offset, 1)));
      while (fd !== undefined && record.offset < size) {
        const want = Math.min(buffer.length, size - record.offset);
        let got = 0;
        while (got < want) {
          const n = fs.readSync(fd, buffer, got, want - got, record.offset + got);
          if (n === 0) {
            break;
          }
          got += n;
        }
        const cut = buffer.lastIndexOf(10, got - 1) + 1;
        if (cut === 0) {
          if (got === buffer.length && record.offset + got < size) {
            buffer = Buffer.allocUnsafe(buffer.length * 2); // a line longer than a chunk
            continue;
          }
          break; // only a line still being written
        }
        const batch = this.parseLines(state, buffer.toString('utf8', 0, cut), record.offset);
        record.offset += cut;
        await this.commit(state, batch, dead);
        changed = true;
      }
    } finally {
      if (fd !== undefined) {
        fs.closeSync(fd);
      }
    }
    const before = record.status;
    this.settleStatus(record, dead);
    if (!changed && (state.manifestDirty || state.isNew || record.status !== before)) {
      await this.commit(state, new Map(), dead);
      changed = true;
    }
    return changed || record.status !== before;
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
        if (line.trim() !== '') {
          let event: unknown;
          try {
            event = JSON.parse(line);
          } catch {
            event = undefined;
          }
          const kind = this.applyEvent(record, event, f);
          if (kind === 'model') {
            const e = event as {
              name: string;
              path: string;
              entryPoint?: unknown;
              description?: unknown;
              tags?: unknown;
            };
            state.models.push({
              runId: record.id,
              projectId: record.projectId,
              runDir: record.dir,
              name: e.name,
              path: e.path,
              entryPoint: typeof e.entryPoint === 'string' ? e.entryPoint : null,
              description: typeof e.description === 'string' ? e.description : '',
              tags: Array.isArray(e.tags) ? e.tags.filter((t): t is string => typeof t === 'string') : [],
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

  /** Applies a parsed line that is not a fast-path metric; `metric` fills `f` for the caller. */
  private applyEvent(record: RunRecord, e: unknown, f: MetricFields): 'metric' | 'model' | 'applied' | 'corrupt' {
    if (!e || typeof e !== 'object' || Array.isArray(e)) {
      return 'corrupt';
    }
    const ev = e as Record<string, unknown>;
    const logged = record.logged;
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
      case 'param':
        if (!str(ev.key)) {
          return 'corrupt';
        }
        logged.params[ev.key] = ev.v;
        return 'applied';
      case 'tag':
        if (!str(ev.key)) {
          return 'corrupt';
        }
        logged.tags[ev.key] = String(ev.v);
        return 'applied';
      case 'artifact':
        if (!str(ev.path)) {
          return 'corrupt';
        }
        logged.artifacts.push({ path: ev.path, source: str(ev.source) ? ev.source : '' });
        return 'applied';
      case 'input':
        if (!str(ev.dataset)) {
          return 'corrupt';
        }
        logged.inputs.push({ dataset: ev.dataset, version: typeof ev.version === 'number' ? ev.version : null });
        return 'applied';
      case 'output':
        if (!str(ev.path)) {
          return 'corrupt';
        }
        logged.outputs.push(ev.path);
        return 'applied';
      case 'result':
        logged.result = ev.v ?? null;
        return 'applied';
      case 'model':
        // registered by the caller (deps.onModel); the file is an artifact, listed by its own event
        return str(ev.name) && str(ev.path) ? 'model' : 'corrupt';
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
        this.deps.log.warn(
          `experiments: run ${m.runId}: the model "${m.name}" (${m.path}) was not registered: ${(e as Error).message}`,
        );
      }
    }
  }

  /** Appends the batch's points (one write per key), then commits summaries + offset at once. */
  private async commit(state: RunState, batch: Map<string, Pending>, dead: boolean): Promise<void> {
    const { record } = state;
    // a run followed live keeps publishing through the pass that ends it (its last buffered points)
    const wasLive = !state.isNew && record.status === 'running';
    this.settleStatus(record, dead);
    for (const p of batch.values()) {
      this.deps.files.append(record.id, p.state.index, p.points.floats, p.points.length);
    }
    await this.registerModels(state);
    const how = { isNew: state.isNew, manifestChanged: state.manifestDirty };
    await this.deps.store.write((tx) => this.deps.repo.save(tx, record, state.keys, batch.keys(), how));
    state.isNew = false;
    state.manifestDirty = false;
    const publish = this.deps.publish;
    if (publish && (wasLive || record.status === 'running')) {
      for (const p of batch.values()) {
        const steps: number[] = [];
        const times: number[] = [];
        const values: (number | null)[] = [];
        const f = p.points.floats;
        for (let i = 0; i < p.points.length; i += 3) {
          steps.push(f[i]);
          times.push(f[i + 1]);
          values.push(Number.isFinite(f[i + 2]) ? f[i + 2] : null);
        }
        publish({ type: 'metricPoints', runId: record.id, key: p.key, steps, times, values });
      }
    }
  }
}

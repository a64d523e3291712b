import * as fs from 'fs';
import * as path from 'path';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import type { ProjectRepository } from '../projects/repository';
import type { Store } from '../store/database';
import { FollowedRuns } from './followed-runs';
import { IngestBatch, type IngestDeps, RunIngest } from './ingest';
import { IngestWave } from './ingest-wave';
import { MetricFiles } from './metric-files';
import type { ExperimentRepository } from './repository';
import { descriptorsExhausted, RETRY_MS, RunRetries } from './run-retries';

export interface TrackerOptions {
  readonly home: string;
  readonly store: Store;
  readonly repo: ExperimentRepository;
  readonly projects: ProjectRepository;
  readonly events: EventBus;
  readonly log: Logger;
  /** safety-net re-check of followed runs (fs.watch misses appends on some file systems) */
  readonly pollMs?: number;
  readonly isAlive?: (pid: number) => boolean;
  /** registers a model a run logged (see IngestDeps.onModel) */
  readonly onModel?: IngestDeps['onModel'];
  /** fs.watch handles on run directories at most (default WATCH_BUDGET) */
  readonly watchBudget?: number;
}

/** experimentUpdated at most this often per followed run */
const PUBLISH_INTERVAL_MS = 100;
/** ingest passes of a live run at most this often */
const PASS_INTERVAL_MS = 50;
/** how often runs waiting for a project check whether there is one now */
const PROJECT_CHECK_MS = 100;
const TRASH = '.deleted-';
/**
 * Run directories watched at most. fs.watch costs a descriptor per directory on some platforms
 * and an inotify watch (a per-user budget) on Linux: whatever the number of runs, following them
 * costs this many at most. Running runs beyond it are re-checked every `pollMs`.
 */
const WATCH_BUDGET = 32;
/** a slice of the ingest: at most this many runs ... */
const SLICE_RUNS = 256;
/** ... and about this long; then requests waiting for the thread are answered */
const SLICE_MS = 8;

/** What a queued run needs: `check` = a pass only if something changed since the last one. */
type Need = 'pass' | 'check';

interface Outcome {
  readonly id: string;
  /** its row changed */
  readonly updated: boolean;
  readonly running: boolean;
}

interface Queued {
  need: Need;
  /** counted in the wave's progress (not the re-checks of followed runs) */
  counted: boolean;
}

function signatureOf(dir: string): string {
  const a = fs.statSync(path.join(dir, 'run.json'), { throwIfNoEntry: false });
  const b = fs.statSync(path.join(dir, 'events.jsonl'), { throwIfNoEntry: false });
  return `${a?.size}:${a?.mtimeMs}:${a?.ino}|${b?.size}:${b?.mtimeMs}:${b?.ino}`;
}

/**
 * Follows `<home>/runs/`: queues every run directory at start, then watches the folder, and follows
 * the runs that are not settled (running, or without a readable run.json, or just finished):
 * a bounded set of them with fs.watch, all of them with a re-check every `pollMs`. Finished runs
 * cost nothing: no watcher, no timer, no entry in a map.
 *
 * One loop does every pass, in slices of at most SLICE_RUNS runs or about SLICE_MS: the writes of a
 * slice are committed in one transaction, then the loop yields, so requests are answered while a
 * backlog of 100,000 runs is ingested, and `stop` waits for one slice at most. Only one run
 * directory is open at a time. A run whose pass fails (EMFILE included) is retried later, never
 * dropped.
 */
export class ExperimentTracker {
  readonly runsDir: string;
  readonly files: MetricFiles;
  private readonly ingest: RunIngest;
  /** the runs not settled, and their watchers */
  private readonly followed: FollowedRuns;
  /** runs to pass, in order */
  private readonly queue = new Map<string, Queued>();
  /** runs to retry after a failure */
  private readonly retries: RunRetries;
  /** runs waiting for a project */
  private readonly pending = new Set<string>();
  private draining: Promise<void> | undefined;
  /** serializes slices and deletions */
  private lock: Promise<void> = Promise.resolve();
  /** the commit of the last slice, until it is on disk (the next slice reads meanwhile) */
  private flushing: Promise<void> = Promise.resolve();
  /** project ids by the name a manifest gives (null: the active one), for one slice */
  private readonly projectIds = new Map<string | null, string | undefined>();
  private rootWatcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private projectTimer: NodeJS.Timeout | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private projectSignature = '';
  private stopped = false;
  /** the runs queued since the queue was last empty, and the progress said about them */
  private readonly wave: IngestWave;

  constructor(private readonly o: TrackerOptions) {
    this.runsDir = path.join(o.home, 'runs');
    this.files = new MetricFiles(path.join(o.home, 'metrics'));
    this.retries = new RunRetries(o.log, (id) => this.schedule(id, 'pass', false));
    this.followed = new FollowedRuns({
      runsDir: this.runsDir,
      watchBudget: o.watchBudget ?? WATCH_BUDGET,
      onChange: (id) => this.schedule(id, 'pass'),
      publishNow: (id) => this.publishNow(id),
      stopped: () => this.stopped,
    });
    this.wave = new IngestWave({
      events: o.events,
      log: o.log,
      retries: this.retries,
      pending: this.pending,
      queued: () => this.queue.size,
      stopped: () => this.stopped,
    });
    this.ingest = new RunIngest({
      store: o.store,
      repo: o.repo,
      files: this.files,
      log: o.log,
      isAlive: o.isAlive,
      onModel: o.onModel,
      publish: (e) => o.events.publish(e),
      resolveProject: (project) => {
        if (this.projectIds.has(project)) {
          return this.projectIds.get(project);
        }
        const id =
          project !== null
            ? o.projects.list().find((p) => p.id === project || p.name.toLowerCase() === project.toLowerCase())?.id
            : (o.projects.activeId() ?? undefined);
        this.projectIds.set(project, id);
        return id;
      },
    });
    o.repo.onDeleted = (ids) => ids.forEach((id) => this.removeFiles(id));
  }

  /** Starts following the runs folder; the first scan goes on in the background (see `idle`). */
  start(): void {
    fs.mkdirSync(this.runsDir, { recursive: true });
    const names = fs.readdirSync(this.runsDir); // listed once (100,000 runs: about 100 ms)
    for (const name of names) {
      if (name.startsWith(TRASH)) {
        this.finishDelete(name.slice(TRASH.length));
      }
    }
    this.watchRoot();
    this.scan(names); // (the trash names start with a dot: not runs)
    this.timer = setInterval(() => this.tick(), this.o.pollMs ?? 2000);
    this.timer.unref();
    // runs waiting for a project go in as soon as one is created or made active (a cheap check; a
    // subscription to the event bus would count as a client and keep an idle backend alive)
    this.projectTimer = setInterval(() => {
      if (this.pending.size > 0) {
        const signature = `${this.o.projects.activeId()}|${this.o.projects.list().length}`;
        if (signature !== this.projectSignature) {
          this.projectSignature = signature;
          [...this.pending].forEach((id) => this.schedule(id, 'pass'));
        }
      }
    }, PROJECT_CHECK_MS);
    this.projectTimer.unref();
  }

  /** Runs recorded but not ingested because their project does not exist or none is active. */
  get waitingRuns(): number {
    return this.pending.size;
  }

  /** Runs queued for a pass or a retry (0 once the backlog is ingested). */
  get backlog(): number {
    return this.queue.size + this.retries.size;
  }

  /** Resolves once nothing is queued or being ingested (tests, the benchmark); retries included. */
  async idle(): Promise<void> {
    while (!this.stopped && (this.draining || this.queue.size > 0 || this.retries.size > 0)) {
      await (this.draining ?? new Promise((r) => setTimeout(r, 20)));
    }
    await this.flushing;
  }

  /** Stops following; waits for the slice being ingested, never for the backlog. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.projectTimer);
    this.retries.stop();
    clearTimeout(this.scanTimer);
    this.rootWatcher?.close();
    for (const id of this.followed.ids()) {
      this.unfollow(id, false);
    }
    this.queue.clear();
    this.wave.cleared();
    await this.lock;
    await this.flushing;
  }

  /** Deletes an experiment: its row and summaries, its points and its run directory. */
  async delete(id: string): Promise<void> {
    this.o.repo.get(id); // 404 for an unknown id
    await this.exclusive(async () => {
      this.unfollow(id, false);
      this.dequeue(id);
      this.retries.delete(id);
      this.ingest.forget(id);
      // moved aside first so that no watcher or restart ingests it again; removed once committed
      const dir = path.join(this.runsDir, id);
      const trash = path.join(this.runsDir, TRASH + id);
      try {
        fs.renameSync(dir, trash);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw e;
        }
      }
      await this.o.store.write((tx) => this.o.repo.remove(tx, id));
      this.finishDelete(id);
    });
    this.o.events.publish({ type: 'experimentDeleted', id });
  }

  private finishDelete(id: string): void {
    if (this.o.store.get('SELECT 1 AS x FROM experiments WHERE id = ?', [id])) {
      // the crash came before the delete was committed: the run stays
      fs.renameSync(path.join(this.runsDir, TRASH + id), path.join(this.runsDir, id));
      return;
    }
    this.files.remove(id);
    fs.rmSync(path.join(this.runsDir, TRASH + id), { recursive: true, force: true });
  }

  /** After a project deletion was committed. */
  private removeFiles(id: string): void {
    this.unfollow(id, false);
    this.dequeue(id);
    this.retries.delete(id);
    this.ingest.forget(id);
    this.files.remove(id);
    fs.rmSync(path.join(this.runsDir, id), { recursive: true, force: true });
    this.o.events.publish({ type: 'experimentDeleted', id });
  }

  private watchRoot(): void {
    try {
      this.rootWatcher = fs.watch(this.runsDir, (_event, name) => {
        if (name && !name.startsWith('.')) {
          this.schedule(name, 'pass');
        } else if (!name) {
          this.scan();
        }
      });
      this.rootWatcher.on('error', () => {
        this.rootWatcher?.close();
        this.rootWatcher = undefined;
        this.retryScan(); // polls the folder until it can be watched again
      });
    } catch (e) {
      this.rootWatcher = undefined;
      if (!descriptorsExhausted(e)) {
        this.o.log.warn(`experiments: cannot watch ${this.runsDir} (${(e as Error).message}); polling instead`);
      }
      this.retryScan();
    }
  }

  /** Until the root folder is watched: scans it every few seconds (what was missed is queued). */
  private retryScan(): void {
    if (this.stopped || this.scanTimer) {
      return;
    }
    this.scanTimer = setTimeout(() => {
      this.scanTimer = undefined;
      if (!this.rootWatcher) {
        this.watchRoot();
      }
      this.scan();
    }, RETRY_MS * 2);
    this.scanTimer.unref();
  }

  /**
   * Queues every run directory for a check: a pass only when it holds something not ingested (a run
   * finished and fully ingested is skipped for the price of a stat).
   */
  private scan(listed?: readonly string[]): void {
    let names: readonly string[];
    try {
      names = listed ?? fs.readdirSync(this.runsDir);
    } catch (e) {
      if (descriptorsExhausted(e)) {
        this.retries.noteExhausted();
        this.retryScan();
      }
      return;
    }
    for (const name of names) {
      if (!name.startsWith('.')) {
        this.schedule(name, 'check');
      }
    }
  }

  /** Re-checks the followed runs: running ones get a pass (their pid is checked), others a check. */
  private tick(): void {
    const now = Date.now();
    for (const [id, f] of this.followed.entries()) {
      if (f.until !== undefined && now >= f.until) {
        this.unfollow(id, true);
      } else if (!this.queue.has(id)) {
        this.schedule(id, f.running ? 'pass' : 'check', false);
      }
    }
  }

  private schedule(id: string, need: Need, counted = true): void {
    if (this.stopped) {
      return;
    }
    const f = this.followed.get(id);
    if (f && need === 'pass') {
      if (f.delay) {
        return; // a pass is due
      }
      // at most one pass per PASS_INTERVAL_MS and run: a client appending a line at a time would
      // otherwise cost a journaled transaction per line
      const wait = f.lastPass + PASS_INTERVAL_MS - Date.now();
      if (wait > 0) {
        f.delay = setTimeout(() => {
          f.delay = undefined;
          this.schedule(id, 'pass');
        }, wait);
        f.delay.unref();
        return;
      }
    }
    let queued = this.queue.get(id);
    if (!queued) {
      queued = { need, counted: false };
      this.queue.set(id, queued);
    } else if (need === 'pass') {
      queued.need = 'pass';
    }
    if (counted && !queued.counted) {
      queued.counted = true;
      this.wave.counted();
    }
    this.kick();
  }

  private kick(): void {
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
      if (this.queue.size > 0 && !this.stopped) {
        this.kick(); // queued while the last commit was settling
      }
    });
  }

  private dequeue(id: string): void {
    const queued = this.queue.get(id);
    if (queued) {
      this.queue.delete(id);
      if (queued.counted) {
        this.wave.dequeued();
      }
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.lock.then(fn);
    this.lock = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private async drain(): Promise<void> {
    await new Promise((r) => setImmediate(r)); // a burst of schedule() calls lands in one slice
    while (!this.stopped && this.queue.size > 0) {
      await this.exclusive(() => this.slice());
      await new Promise((r) => setImmediate(r)); // requests waiting for the thread go first
    }
    await this.flushing;
    this.wave.end();
  }

  /** Passes up to SLICE_RUNS queued runs (about SLICE_MS of work), committed in one transaction. */
  private async slice(): Promise<void> {
    const started = Date.now();
    const ids: [string, Queued][] = [];
    for (const [id, queued] of this.queue) {
      ids.push([id, queued]);
      if (ids.length >= SLICE_RUNS) {
        break;
      }
    }
    const known = this.known(ids.filter(([id, q]) => q.need === 'check' && !this.followed.has(id)).map(([id]) => id));
    const batch = new IngestBatch();
    const outcomes: Outcome[] = [];
    this.projectIds.clear(); // projects may have changed since the last slice
    for (const [id, queued] of ids) {
      if (this.stopped || Date.now() - started > SLICE_MS) {
        break;
      }
      this.dequeue(id);
      try {
        const outcome = await this.pass(id, queued.need, known, batch);
        if (outcome === 'waiting' && queued.counted) {
          this.wave.leftWaiting();
        }
        const o = typeof outcome === 'object' ? outcome : undefined;
        outcomes.push({ id, updated: o?.updated ?? false, running: o?.running ?? false });
      } catch (e) {
        this.failed(id, e);
      }
    }
    // one commit in flight at most: it is applied in memory at once; its fdatasync overlaps the
    // reading of the next slice, and what depends on it being on disk waits for it
    await this.flushing;
    this.flushing = this.ingest.flush(batch).then(
      () => this.committed(outcomes),
      (e) => outcomes.forEach((o) => this.failed(o.id, e)),
    );
  }

  private committed(outcomes: readonly Outcome[]): void {
    for (const o of outcomes) {
      this.retries.succeeded(o.id);
      if (o.updated) {
        this.published(o.id, o.running);
      }
    }
    this.wave.progress();
  }

  /** status and offset of the finished runs among `ids` that are in the store (one query) */
  private known(ids: readonly string[]): Map<string, { running: boolean; offset: number }> {
    const out = new Map<string, { running: boolean; offset: number }>();
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      const rows = this.o.store.all(
        `SELECT id, status, events_offset FROM experiments WHERE id IN (${part.map(() => '?').join(',')})`,
        part,
      );
      for (const r of rows) {
        out.set(String(r.id), { running: r.status === 'running', offset: Number(r.events_offset) });
      }
    }
    return out;
  }

  /**
   * One run: a pass, or for a `check` first a look at what changed. Returns what the pass did, or
   * undefined when nothing was read.
   */
  private async pass(
    id: string,
    need: Need,
    known: ReadonlyMap<string, { running: boolean; offset: number }>,
    batch: IngestBatch,
  ): Promise<{ updated: boolean; running: boolean } | 'waiting' | undefined> {
    const row = known.get(id);
    const dir = path.join(this.runsDir, id);
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      this.unfollow(id, false);
      this.dropWaiting(id);
      return undefined;
    }
    const f = this.followed.get(id);
    if (need === 'check' && !this.retries.has(id)) {
      if (f) {
        if (f.signature !== undefined && signatureOf(dir) === f.signature) {
          return undefined;
        }
      } else if (row && !row.running && !this.pending.has(id)) {
        const size = fs.statSync(path.join(dir, 'events.jsonl'), { throwIfNoEntry: false })?.size ?? 0;
        if (size === row.offset) {
          return undefined; // finished and fully ingested
        }
      }
    }
    const signature = signatureOf(dir);
    if (f) {
      f.lastPass = Date.now();
    }
    // a run checked by the slice's query and not found is not in the store (no query of its own)
    const stored = need === 'check' && !f && !row ? false : undefined;
    const outcome = await this.ingest.ingest(dir, batch, stored);
    if (outcome === 'pending') {
      this.unfollow(id, false);
      if (!this.pending.has(id)) {
        this.pending.add(id);
        this.wave.noteWaiting(this.ingest.pendingProject, id);
      }
      return 'waiting';
    }
    this.dropWaiting(id);
    if (outcome === 'missing') {
      this.followed.follow(id, false, signature);
      return undefined;
    }
    const running = this.ingest.lastStatus === 'running';
    if (running) {
      this.followed.follow(id, true, undefined);
    } else if (f || need === 'pass') {
      // seen running, or it appeared while we follow the folder: a writer may still append
      this.followed.linger(id, signatureOf(dir));
    } else {
      this.unfollow(id, false); // found finished at start: settled
    }
    return { updated: outcome === 'updated', running };
  }

  private dropWaiting(id: string): void {
    this.pending.delete(id);
  }

  /** A run whose pass failed: retried later (see RunRetries). */
  private failed(id: string, e: unknown): void {
    if (!this.stopped) {
      this.retries.failed(id, e);
    }
  }

  private unfollow(id: string, publishDue: boolean): void {
    this.followed.unfollow(id, publishDue);
  }

  /**
   * After a committed pass that changed a run: experimentUpdated, at most every PUBLISH_INTERVAL_MS
   * per followed run (the latest state wins). During a backlog, finished runs are not announced one
   * by one: ingestProgress says when to reload the listing.
   */
  private published(id: string, running: boolean): void {
    if (this.stopped || (this.wave.inBacklog && !running)) {
      return;
    }
    const f = this.followed.get(id);
    if (!f) {
      this.publishNow(id);
      return;
    }
    if (f.publishTimer) {
      return; // a publish is already due and will carry the latest state
    }
    const wait = f.lastPublished + PUBLISH_INTERVAL_MS - Date.now();
    if (wait <= 0) {
      f.lastPublished = Date.now();
      this.publishNow(id);
      return;
    }
    f.publishTimer = setTimeout(() => {
      f.publishTimer = undefined;
      f.lastPublished = Date.now();
      this.publishNow(id);
    }, wait);
    f.publishTimer.unref();
  }

  private publishNow(id: string): void {
    if (this.stopped) {
      return;
    }
    const row = this.o.store.get('SELECT 1 AS x FROM experiments WHERE id = ?', [id]);
    if (row) {
      this.o.events.publish({ type: 'experimentUpdated', experiment: this.o.repo.get(id) });
    }
  }
}

import * as fs from 'fs';
import * as path from 'path';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import type { ProjectRepository } from '../projects/repository';
import type { Store } from '../store/database';
import { type IngestDeps, RunIngest } from './ingest';
import { MetricFiles } from './metric-files';
import type { ExperimentRepository } from './repository';

export interface TrackerOptions {
  readonly home: string;
  readonly store: Store;
  readonly repo: ExperimentRepository;
  readonly projects: ProjectRepository;
  readonly events: EventBus;
  readonly log: Logger;
  /** safety-net re-check of running runs (fs.watch misses appends on some file systems) */
  readonly pollMs?: number;
  readonly isAlive?: (pid: number) => boolean;
  /** registers a model a run logged (see IngestDeps.onModel) */
  readonly onModel?: IngestDeps['onModel'];
}

/** experimentUpdated at most this often per run */
const PUBLISH_INTERVAL_MS = 100;
/** ingest passes of a live run at most this often */
const PASS_INTERVAL_MS = 50;
/** how often runs waiting for a project check whether there is one now */
const PROJECT_CHECK_MS = 100;
const TRASH = '.deleted-';

interface Active {
  watcher: fs.FSWatcher | undefined;
  /** when the run was first seen finished: it is followed a little longer (see LINGER_MS) */
  finishedAt?: number;
}

/**
 * A finished run stays followed this long: a writer may still append (a wrapper that records the
 * end before the last lines of its child land, a copy of a run directory made file by file).
 */
const LINGER_MS = 10_000;

/**
 * Follows `<home>/runs/`: ingests every run directory at start, then watches the folder and each
 * running run's directory, re-checking running runs every `pollMs` as well (appends that fs.watch
 * misses, and processes that died: interrupted). Passes are serialized per run.
 */
export class ExperimentTracker {
  readonly runsDir: string;
  readonly files: MetricFiles;
  private readonly ingest: RunIngest;
  /** runs not finished yet (running, pending a project, or without a readable run.json) */
  private readonly active = new Map<string, Active>();
  private readonly queue = new Map<string, { started: boolean; done: Promise<void> }>();
  private readonly lastPublished = new Map<string, number>();
  private readonly publishTimers = new Map<string, NodeJS.Timeout>();
  private readonly lastPass = new Map<string, number>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private rootWatcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private projectTimer: NodeJS.Timeout | undefined;
  /** runs waiting for a project */
  private readonly pending = new Set<string>();
  private projectSignature = '';
  private stopped = false;

  constructor(private readonly o: TrackerOptions) {
    this.runsDir = path.join(o.home, 'runs');
    this.files = new MetricFiles(path.join(o.home, 'metrics'));
    this.ingest = new RunIngest({
      store: o.store,
      repo: o.repo,
      files: this.files,
      log: o.log,
      isAlive: o.isAlive,
      onModel: o.onModel,
      publish: (e) => o.events.publish(e),
      resolveProject: (project) => {
        if (project !== null) {
          return o.projects.list().find((p) => p.id === project || p.name.toLowerCase() === project.toLowerCase())?.id;
        }
        return o.projects.activeId() ?? undefined;
      },
    });
    o.repo.onDeleted = (ids) => ids.forEach((id) => this.removeFiles(id));
  }

  /** Starts following the runs folder; the first scan continues in the background (see `idle`). */
  start(): void {
    fs.mkdirSync(this.runsDir, { recursive: true });
    for (const name of fs.readdirSync(this.runsDir)) {
      if (name.startsWith(TRASH)) {
        this.finishDelete(name.slice(TRASH.length));
      }
    }
    try {
      this.rootWatcher = fs.watch(this.runsDir, (_event, name) => {
        if (name && !name.startsWith('.')) {
          this.schedule(name);
        } else if (!name) {
          this.scan(false);
        }
      });
      this.rootWatcher.on('error', () => this.rootWatcher?.close());
    } catch (e) {
      this.o.log.warn(`experiments: cannot watch ${this.runsDir} (${(e as Error).message}); polling instead`);
    }
    this.scan(true);
    this.timer = setInterval(() => this.tick(), this.o.pollMs ?? 2000);
    this.timer.unref();
    // runs waiting for a project go in as soon as one is created or made active (a cheap check; a
    // subscription to the event bus would count as a client and keep an idle backend alive)
    this.projectTimer = setInterval(() => {
      if (this.pending.size > 0) {
        const signature = `${this.o.projects.activeId()}|${this.o.projects.list().length}`;
        if (signature !== this.projectSignature) {
          this.projectSignature = signature;
          [...this.pending].forEach((id) => this.schedule(id));
        }
      }
    }, PROJECT_CHECK_MS);
    this.projectTimer.unref();
  }

  /** Runs recorded but not ingested because their project does not exist or none is active. */
  get waitingRuns(): number {
    return this.pending.size;
  }

  /** Resolves once no pass is queued or running (tests, the benchmark). */
  async idle(): Promise<void> {
    while (this.queue.size > 0) {
      await Promise.all([...this.queue.values()].map((q) => q.done.catch(() => undefined)));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.projectTimer);
    this.rootWatcher?.close();
    for (const a of this.active.values()) {
      a.watcher?.close();
    }
    this.active.clear();
    for (const t of [...this.publishTimers.values(), ...this.delayed.values()]) {
      clearTimeout(t);
    }
    await this.idle();
  }

  /** Deletes an experiment: its row and summaries, its points and its run directory. */
  async delete(id: string): Promise<void> {
    this.o.repo.get(id); // 404 for an unknown id
    await this.serialized(id, async () => {
      this.unwatch(id);
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
    clearTimeout(this.publishTimers.get(id));
    this.publishTimers.delete(id);
    this.lastPublished.delete(id);
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
    this.unwatch(id);
    this.ingest.forget(id);
    this.files.remove(id);
    fs.rmSync(path.join(this.runsDir, id), { recursive: true, force: true });
    this.o.events.publish({ type: 'experimentDeleted', id });
  }

  /** Queues every run directory that may hold something new (at start: all unfinished or grown ones). */
  private scan(initial: boolean): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.runsDir);
    } catch {
      return;
    }
    const known = new Map(this.o.repo.all().map((r) => [r.id, r]));
    for (const name of names) {
      if (name.startsWith('.')) {
        continue;
      }
      const row = known.get(name);
      if (row && row.status !== 'running' && initial) {
        let size = 0;
        try {
          size = fs.statSync(path.join(this.runsDir, name, 'events.jsonl')).size;
        } catch {
          // no events
        }
        if (size === row.offset) {
          continue; // finished and fully ingested
        }
      }
      this.schedule(name);
    }
  }

  private tick(): void {
    for (const id of this.active.keys()) {
      this.schedule(id);
    }
  }

  private schedule(id: string): void {
    if (this.stopped || this.delayed.has(id)) {
      return;
    }
    // at most one pass per PASS_INTERVAL_MS and run: a client appending a line at a time would
    // otherwise cost a journaled transaction per line
    const wait = (this.lastPass.get(id) ?? 0) + PASS_INTERVAL_MS - Date.now();
    if (wait > 0) {
      const t = setTimeout(() => {
        this.delayed.delete(id);
        this.schedule(id);
      }, wait);
      t.unref();
      this.delayed.set(id, t);
      return;
    }
    this.lastPass.set(id, Date.now());
    void this.serialized(id, () => this.pass(id), true).catch((e: Error) =>
      this.o.log.error(`experiments: run ${id}: ingest failed: ${e.message}`),
    );
  }

  /**
   * Runs `fn` after the run's current pass. With `coalesce`, a request while a pass waits to start is
   * folded into that pass (a burst of watch events makes one pass, not hundreds).
   */
  private serialized(id: string, fn: () => Promise<void>, coalesce = false): Promise<void> {
    const current = this.queue.get(id);
    if (coalesce && current && !current.started) {
      return current.done;
    }
    const entry = { started: false, done: Promise.resolve() };
    entry.done = (current ? current.done.catch(() => undefined) : Promise.resolve())
      .then(() => {
        entry.started = true;
        return fn();
      })
      .finally(() => {
        if (this.queue.get(id) === entry) {
          this.queue.delete(id);
        }
      });
    this.queue.set(id, entry);
    return entry.done;
  }

  private async pass(id: string): Promise<void> {
    const dir = path.join(this.runsDir, id);
    if (this.stopped || !fs.existsSync(dir)) {
      this.unwatch(id);
      if (this.pending.delete(id)) {
        this.o.events.publish({ type: 'runsWaiting', count: this.pending.size });
      }
      return;
    }
    const outcome = await this.ingest.ingest(dir);
    const waitingBefore = this.pending.size;
    if (outcome === 'pending') {
      this.pending.add(id);
    } else {
      this.pending.delete(id);
    }
    if (this.pending.size !== waitingBefore) {
      this.o.events.publish({ type: 'runsWaiting', count: this.pending.size });
    }
    let running = outcome === 'missing' || outcome === 'pending';
    if (outcome === 'updated' || outcome === 'unchanged') {
      const row = this.o.store.get('SELECT status FROM experiments WHERE id = ?', [id]);
      running = row?.status === 'running';
    }
    if (running) {
      this.watch(id, dir);
    } else {
      this.linger(id, dir);
    }
    if (outcome === 'updated') {
      this.publishUpdated(id);
    }
  }

  private watch(id: string, dir: string): void {
    if (this.active.has(id)) {
      return;
    }
    const entry: Active = { watcher: undefined };
    this.active.set(id, entry);
    try {
      entry.watcher = fs.watch(dir, () => this.schedule(id));
      entry.watcher.on('error', () => entry.watcher?.close());
    } catch {
      // the poll timer covers it
    }
  }

  /** Follows a finished run until LINGER_MS after it was first seen finished. */
  private linger(id: string, dir: string): void {
    this.watch(id, dir);
    const entry = this.active.get(id)!;
    entry.finishedAt ??= Date.now();
    if (Date.now() - entry.finishedAt >= LINGER_MS) {
      this.unwatch(id);
    }
  }

  private unwatch(id: string): void {
    this.active.get(id)?.watcher?.close();
    this.active.delete(id);
    this.lastPass.delete(id);
  }

  /** experimentUpdated, at most every PUBLISH_INTERVAL_MS per run (the latest state wins). */
  private publishUpdated(id: string): void {
    if (this.publishTimers.has(id) || this.stopped) {
      return; // a publish is already due and will carry the latest state
    }
    const wait = (this.lastPublished.get(id) ?? 0) + PUBLISH_INTERVAL_MS - Date.now();
    const send = () => {
      this.publishTimers.delete(id);
      if (this.stopped) {
        return;
      }
      this.lastPublished.set(id, Date.now());
      const row = this.o.store.get('SELECT 1 AS x FROM experiments WHERE id = ?', [id]);
      if (row) {
        this.o.events.publish({ type: 'experimentUpdated', experiment: this.o.repo.get(id) });
      }
    };
    if (wait <= 0) {
      send();
    } else {
      const t = setTimeout(send, wait);
      t.unref();
      this.publishTimers.set(id, t);
    }
  }
}

import * as fs from 'fs';
import * as os from 'os';
import type { RunEvent, RunManifest, RunStatus } from '../../protocol/experiments';
import { newRunId } from '../../common/run-directory/files';
import { readRunManifest } from '../experiments/run-manifest';
import { appendEvents } from '../experiments/upload/events-append';
import { OpenAppends } from '../experiments/upload/open-appends';
import { writeManifest } from '../experiments/upload/manifest';
import { existingRunFolder, runFolder, RunLocks, touchRun } from '../experiments/upload/run-folder';
import { invalid, MlflowError } from './errors';

/** The tag that marks a run deleted through MLflow (MLflow's delete is a mark that restore takes back). */
export const DELETED_TAG = 'mllab.deleted';
/** The manifest's `runtime` entry of a run begun through the MLflow API (its process is the lab). */
const MLFLOW_RUNTIME = 'mlflow';
/** Runs whose params and tags are kept in memory at most (the oldest are read again when needed). */
const OPEN_RUNS = 256;
/** The events file read at most to learn a run's params and tags (a bigger one is read no further). */
const SCAN_BYTES = 256 * 1024 * 1024;

export const notFoundRun = (id: string) =>
  new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run '${id.slice(0, 100)}' not found`);

/** What the writer knows of a run it writes: its directory, manifest, and the params and tags it holds. */
interface OpenRun {
  readonly id: string;
  readonly dir: string;
  manifest: RunManifest;
  readonly params: Map<string, string>;
  readonly tags: Map<string, string>;
}

export interface NewRun {
  readonly projectId: string;
  readonly name: string | undefined;
  readonly startTime: number;
  readonly user: string;
  readonly tags: ReadonlyMap<string, string>;
}

/** A param value as MLflow holds it: text (a lab client's non-text value as its JSON). */
export function paramText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Records what MLflow's clients log as the lab's own clients do: a run directory in `<home>/runs/`
 * with its run.json and events.jsonl (written with the run-upload code: the manifest through a temp
 * file, whole lines appended and synced), which the ingest follows and publishes like any other run.
 * One change at a time per run; `written` tells readers how far the events of a run go, so a read
 * through the MLflow API can wait for the ingest to have taken what was written before it.
 */
export class MlflowRunWriter {
  private readonly locks = new RunLocks();
  private readonly open = new Map<string, OpenRun>();
  /** the events files of the runs being logged stay open between requests, as the run upload's do */
  private readonly appends = new OpenAppends();
  /** run id -> bytes of events.jsonl after the last append of this API */
  readonly written = new Map<string, number>();

  constructor(private readonly home: string) {}

  /** Begins a run: its directory and run.json, its tags as events (so that delete-tag can take them back). */
  async create(run: NewRun): Promise<string> {
    const start = new Date(run.startTime);
    const id = newRunId(Number.isFinite(start.getTime()) ? start : new Date());
    const git = run.tags.get('mlflow.source.git.commit');
    const source = run.tags.get('mlflow.source.name');
    const manifest: RunManifest = {
      format: 1,
      id,
      name: run.name || id,
      project: run.projectId,
      status: 'running',
      startedAt: start.toISOString(),
      endedAt: null,
      exitCode: null,
      // the lab's own process: the run lives while the lab does (see `revive` after a restart)
      pid: process.pid,
      operator: run.user,
      command: source ? [source] : [],
      cwd: '',
      script: null,
      host: { hostname: os.hostname(), os: '', cpus: 0, memoryBytes: 0, gpus: [] },
      runtime: { [MLFLOW_RUNTIME]: 'REST API 2.0' },
      packages: null,
      git: git
        ? { commit: git, branch: run.tags.get('mlflow.source.git.branch') ?? null, dirty: false, diff: null }
        : null,
      params: {},
      tags: {},
    };
    await this.locks.run(id, async () => {
      const dir = runFolder(this.home, id);
      await writeManifest(dir, Buffer.from(JSON.stringify(manifest, null, 2)));
      const entry: OpenRun = { id, dir, manifest, params: new Map(), tags: new Map() };
      this.remember(entry);
      const t = Date.now();
      // MLflow's server tags every run with its name; the first line also tells readers when the ingest has the run
      const tags = new Map([...run.tags, ['mlflow.runName', manifest.name]]);
      await this.appendLocked(
        entry,
        [...tags].map(([key, v]) => ({ k: 'tag', key, v, t })),
      );
    });
    return id;
  }

  /**
   * Appends events to a run after `check` accepted them against what the run holds (a param whose
   * value would change, a deleted run): all or nothing.
   */
  async append(id: string, events: (run: OpenRun) => RunEvent[]): Promise<void> {
    await this.locks.run(id, async () => {
      const run = this.load(id);
      await this.appendLocked(run, events(run));
    });
  }

  /** Appends metric lines already checked (log-batch's fast path): no params or tags among them. */
  async appendLines(id: string, lines: Buffer): Promise<void> {
    await this.locks.run(id, async () => {
      await this.appendLocked(this.load(id), [], lines);
    });
  }

  /** Rewrites run.json (status, end, name), then appends `events` (a status line, a tag). */
  async update(id: string, change: (m: RunManifest) => RunManifest, events: RunEvent[]): Promise<void> {
    await this.locks.run(id, async () => {
      const run = this.load(id);
      run.manifest = change(run.manifest);
      await writeManifest(run.dir, Buffer.from(JSON.stringify(run.manifest, null, 2)));
      await this.appendLocked(run, events);
    });
  }

  /** Closes the files held open (the lab stops). */
  close(): Promise<void> {
    return this.appends.closeAll();
  }

  /** The params and tags a run holds now (for checks before writing). */
  state(id: string): Pick<OpenRun, 'params' | 'tags' | 'manifest'> {
    return this.load(id);
  }

  /** Appends `events` (as `text`, their lines, when given), and keeps the params and tags among them. */
  private async appendLocked(
    run: OpenRun,
    events: readonly RunEvent[],
    lines: Buffer = Buffer.from(linesOf(events)),
  ): Promise<void> {
    if (lines.length === 0) {
      return;
    }
    await this.revive(run);
    const size = fs.lstatSync(`${run.dir}/events.jsonl`, { throwIfNoEntry: false })?.size ?? 0;
    const answer = await appendEvents(run.dir, size, lines, this.appends);
    if ('error' in answer && answer.error) {
      throw new MlflowError(
        'INTERNAL_ERROR',
        `The events of run ${run.id} could not be appended: ${answer.error.message}`,
      );
    }
    for (const e of events) {
      if (e.k === 'param') {
        run.params.set(e.key, paramText(e.v));
      } else if (e.k === 'tag') {
        if (e.v === null) {
          run.tags.delete(e.key);
        } else {
          run.tags.set(e.key, e.v);
        }
      }
    }
    this.written.set(run.id, answer.size);
    touchRun(run.dir);
  }

  /**
   * A run begun through this API that is still running names the lab's process as its own: after a
   * restart of the lab that is another pid, and the ingest would mark the run interrupted; its next
   * write names the lab's pid again.
   */
  private async revive(run: OpenRun): Promise<void> {
    const m = run.manifest;
    if (m.status === 'running' && m.runtime[MLFLOW_RUNTIME] !== undefined && m.pid !== process.pid) {
      run.manifest = { ...m, pid: process.pid };
      await writeManifest(run.dir, Buffer.from(JSON.stringify(run.manifest, null, 2)));
    }
  }

  private remember(run: OpenRun): void {
    this.open.delete(run.id);
    this.open.set(run.id, run);
    if (this.open.size > OPEN_RUNS) {
      const oldest = this.open.keys().next().value!;
      this.open.delete(oldest);
      this.written.delete(oldest);
    }
  }

  /** The run `id` as written: from memory, else read from its directory (run.json, then the params and tags of events.jsonl). */
  private load(id: string): OpenRun {
    const known = this.open.get(id);
    if (known && fs.existsSync(known.dir)) {
      this.remember(known);
      return known;
    }
    const dir = existingRunFolder(this.home, id);
    if (dir === undefined) {
      throw notFoundRun(id);
    }
    const read = readRunManifest(dir);
    if ('problem' in read) {
      throw new MlflowError('INVALID_STATE', `Run '${id}' cannot be written: its run.json ${read.problem}.`);
    }
    const run: OpenRun = { id, dir, manifest: read.manifest, params: new Map(), tags: new Map() };
    for (const [key, v] of Object.entries(read.manifest.params ?? {})) {
      run.params.set(key, paramText(v));
    }
    for (const [key, v] of Object.entries(read.manifest.tags ?? {})) {
      run.tags.set(key, String(v));
    }
    scanEvents(dir, run);
    this.remember(run);
    return run;
  }
}

/**
 * The lines of events: a metric point written field by field (a log-batch is 1,000 of them; its key
 * through JSON.stringify once per distinct key of the batch, its numbers as they are, NaN and
 * infinities already strings), others as JSON.
 */
export function linesOf(events: readonly RunEvent[]): string {
  const keys = new Map<string, string>();
  let text = '';
  for (const e of events) {
    if (e.k === 'm') {
      let key = keys.get(e.key);
      if (key === undefined) {
        key = JSON.stringify(e.key);
        keys.set(e.key, key);
      }
      const v = typeof e.v === 'number' ? String(e.v) : `"${e.v}"`;
      text += `{"k":"m","key":${key},"v":${v},"s":${e.s},"t":${e.t}}\n`;
    } else {
      text += `${JSON.stringify(e)}\n`;
    }
  }
  return text;
}

/** Reads the params and tags of a run's events.jsonl (whole lines, at most SCAN_BYTES). */
function scanEvents(dir: string, run: OpenRun): void {
  let text: string;
  try {
    const fd = fs.openSync(`${dir}/events.jsonl`, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    try {
      const size = Math.min(fs.fstatSync(fd).size, SCAN_BYTES);
      const bytes = Buffer.alloc(size);
      fs.readSync(fd, bytes, 0, size, 0);
      text = bytes.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('"param"') && !line.includes('"tag"')) {
      continue;
    }
    try {
      const e = JSON.parse(line) as RunEvent;
      if (e.k === 'param' && typeof e.key === 'string') {
        run.params.set(e.key, paramText(e.v));
      } else if (e.k === 'tag' && typeof e.key === 'string') {
        if (e.v === null) {
          run.tags.delete(e.key);
        } else {
          run.tags.set(e.key, String(e.v));
        }
      }
    } catch {
      // an unfinished or damaged line: the ingest warns about it
    }
  }
}

/** The lab's status of an MLflow run status (RUNNING and SCHEDULED are both running). */
export function labStatus(status: string): RunStatus {
  switch (status) {
    case 'RUNNING':
    case 'SCHEDULED':
      return 'running';
    case 'FINISHED':
      return 'completed';
    case 'FAILED':
      return 'failed';
    case 'KILLED':
      return 'interrupted';
  }
  throw invalid(
    `Invalid value "${status.slice(0, 50)}" for parameter 'status': use RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.`,
  );
}

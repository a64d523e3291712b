import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RunEvent, RunManifest, RunStatus } from '../../protocol/experiments';
import { gitState, hostInfo } from './environment';

/** A sortable unique run id: `<yyyyMMdd-HHmmss>-<6 hex>` (UTC). */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Run directories and their files are private to their owner, whatever the umask. */
export const RUN_DIR_MODE = 0o700;
export const RUN_FILE_MODE = 0o600;

/**
 * Writes `file` through a fresh temp file (created exclusively and private: a name prepared in
 * advance, e.g. a symbolic link planted by a job in its run directory, is never written through),
 * then renames it over `file` (which replaces a link instead of following it).
 */
export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(value, null, 2), { flag: 'wx', mode: RUN_FILE_MODE });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Creates a run directory (and `runs/`) private to the owner. */
export function makeRunDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: RUN_DIR_MODE });
}

/** Opens a file of the run directory to append to: private, never through a symbolic link. */
export function openRunFile(file: string): number {
  return fs.openSync(
    file,
    fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0),
    RUN_FILE_MODE,
  );
}

export interface NewRun {
  readonly home: string;
  readonly name: string;
  readonly project: string | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly command: readonly string[];
  readonly cwd: string;
  /** a file of the command to keep a copy of (the script) */
  readonly script?: string;
}

/**
 * Writes a run directory (see src/protocol/experiments.ts): run.json at start and end, events
 * appended as whole lines. Works without a backend; the backend ingests what it finds.
 */
export class RunWriter {
  /** undefined when attached to a run that another process owns and finishes */
  private manifest: RunManifest | undefined;
  private readonly events: number;

  private constructor(
    readonly dir: string,
    manifest: RunManifest | undefined,
  ) {
    this.manifest = manifest;
    this.events = openRunFile(path.join(dir, 'events.jsonl'));
  }

  /** Appends to a run that another process owns (`mllab run` sets MLLAB_RUN_DIR for its command). */
  static attach(dir: string): RunWriter {
    if (!fs.existsSync(path.join(dir, 'run.json'))) {
      throw new Error(
        `MLLAB_RUN_DIR points to ${dir}, which holds no run.json: unset it or start the run with mllab run.`,
      );
    }
    return new RunWriter(dir, undefined);
  }

  static create(run: NewRun): RunWriter {
    const id = newRunId();
    const dir = path.join(run.home, 'runs', id);
    makeRunDir(dir);
    const git = gitState(run.cwd);
    if (git.diff) {
      fs.writeFileSync(path.join(dir, 'git.diff'), git.diff, { flag: 'wx', mode: RUN_FILE_MODE });
    }
    let script: RunManifest['script'] = null;
    if (run.script) {
      const copy = path.join('source', path.basename(run.script));
      fs.mkdirSync(path.join(dir, 'source'), { mode: RUN_DIR_MODE });
      fs.copyFileSync(run.script, path.join(dir, copy), fs.constants.COPYFILE_EXCL);
      fs.chmodSync(path.join(dir, copy), RUN_FILE_MODE);
      script = { path: path.resolve(run.script), copy };
    }
    const manifest: RunManifest = {
      format: 1,
      id,
      name: run.name,
      project: run.project,
      status: 'running',
      startedAt: new Date().toISOString(),
      endedAt: null,
      exitCode: null,
      pid: process.pid,
      operator: os.userInfo().username,
      command: run.command,
      cwd: run.cwd,
      script,
      host: hostInfo(),
      runtime: { node: process.versions.node },
      packages: null,
      git: git.state,
      params: run.params,
      tags: {},
    };
    writeJsonAtomic(path.join(dir, 'run.json'), manifest);
    return new RunWriter(dir, manifest);
  }

  get id(): string {
    return this.manifest?.id ?? path.basename(this.dir);
  }

  append(event: RunEvent): void {
    this.appendLines(JSON.stringify(event) + '\n');
  }

  /** Appends whole lines (each ending with a newline) in one write. */
  appendLines(text: string): void {
    fs.writeSync(this.events, text);
  }

  /** Records the end: a status event, then the final run.json (only by the process that owns the run). */
  finish(status: RunStatus, exitCode: number | null): void {
    if (this.manifest) {
      this.append({ k: 'status', status, exitCode, t: Date.now() });
      this.manifest = { ...this.manifest, status, exitCode, endedAt: new Date().toISOString() };
      writeJsonAtomic(path.join(this.dir, 'run.json'), this.manifest);
    }
    fs.closeSync(this.events);
  }
}

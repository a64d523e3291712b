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

export function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2));
  fs.renameSync(tmp, file);
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
    this.events = fs.openSync(path.join(dir, 'events.jsonl'), 'a');
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
    fs.mkdirSync(dir, { recursive: true });
    const git = gitState(run.cwd);
    if (git.diff) {
      fs.writeFileSync(path.join(dir, 'git.diff'), git.diff);
    }
    let script: RunManifest['script'] = null;
    if (run.script) {
      const copy = path.join('source', path.basename(run.script));
      fs.mkdirSync(path.join(dir, 'source'), { recursive: true });
      fs.copyFileSync(run.script, path.join(dir, copy));
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

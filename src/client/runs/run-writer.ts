import * as fs from 'fs';
import * as path from 'path';
import type { RunEvent, RunManifest, RunStatus } from '../../protocol/experiments';
import { cutText, RUN_LIMITS } from '../../protocol/limits';
import { gitState, hostInfo } from '../../common/run-directory/environment';
import {
  createRunDir,
  newRunId,
  openRunFile,
  RUN_DIR_MODE,
  RUN_FILE_MODE,
  writeJsonAtomic,
} from '../../common/run-directory/files';
import { startedRunManifest } from '../../common/run-directory/manifest';

/** Throws when a key or name is longer than its limit (RUN_LIMITS): it would be refused. */
export function checkLength(what: string, text: string, max: number): void {
  if (typeof text !== 'string' || text.length === 0) {
    throw new TypeError(`The ${what} must be a non-empty string, not ${JSON.stringify(text)}.`);
  }
  if (text.length > max) {
    throw new RangeError(
      `The ${what} "${text.slice(0, 40)}..." has ${text.length} characters: at most ${max} are allowed.`,
    );
  }
}

/**
 * A param or tag value within `max` characters: a longer one is cut (a non-string one as its JSON
 * text), and `warnings` gets a sentence saying so.
 */
export function boundValue(what: string, value: unknown, max: number, warnings: string[]): unknown {
  if (typeof value === 'string' ? value.length <= max : (JSON.stringify(value)?.length ?? 0) <= max) {
    return value;
  }
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  warnings.push(`${what} has ${text.length} characters: kept its first ${max} (the limit)`);
  return cutText(text, max);
}

/** Params bounded by RUN_LIMITS (keys checked, values cut with a warning). */
export function boundParams(params: Readonly<Record<string, unknown>>, warnings: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    checkLength('param key', k, RUN_LIMITS.keyChars);
    out[k] = boundValue(`the value of the param "${k}"`, v, RUN_LIMITS.paramValueChars, warnings);
  }
  return out;
}

export interface NewRun {
  /** the lab home whose runs/ holds the run directory */
  readonly home?: string;
  /** instead of a lab home: the local journal of a lab over the network (see ./journal.ts) */
  readonly journal?: string;
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
    checkLength('experiment name', run.name, RUN_LIMITS.nameChars);
    const warnings: string[] = [];
    const params = boundParams(run.params, warnings);
    const { id, dir } = run.journal !== undefined ? journalRunDir(run.journal) : createRunDir(homeOf(run));
    // the script's repository (as the Python client does), which may not be the working directory's
    const git = gitState(run.script ? path.dirname(path.resolve(run.cwd, run.script)) : run.cwd, run.script);
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
    const manifest = startedRunManifest({
      id,
      name: run.name,
      project: run.project,
      command: run.command,
      cwd: run.cwd,
      script,
      host: hostInfo(),
      runtime: { node: process.versions.node },
      git: git.state,
      params,
      tags: {},
    });
    writeJsonAtomic(path.join(dir, 'run.json'), manifest);
    const writer = new RunWriter(dir, manifest);
    warnings.forEach((w) => writer.warn(w));
    return writer;
  }

  /** the run's name (after `finish`, the one the code inside gave, if it gave one) */
  get name(): string {
    return this.manifest?.name ?? path.basename(this.dir);
  }

  get id(): string {
    return this.manifest?.id ?? path.basename(this.dir);
  }

  append(event: RunEvent): void {
    this.appendLines(JSON.stringify(event) + '\n');
  }

  /** Records a warning in the run (shown with it) and says it on stderr. */
  warn(message: string): void {
    process.stderr.write(`mllab: run ${this.id}: ${message}\n`);
    this.append({ k: 'warning', message, t: Date.now() });
  }

  /** Appends whole lines (each ending with a newline) in one write. */
  appendLines(text: string): void {
    fs.writeSync(this.events, text);
  }

  /**
   * Records the end: a status event, then the final run.json (only by the process that owns the run).
   * What the code inside recorded in run.json meanwhile (the name it gave, its interpreter and
   * packages: the Python client does) is kept.
   */
  finish(status: RunStatus, exitCode: number | null): void {
    if (this.manifest) {
      this.append({ k: 'status', status, exitCode, t: Date.now() });
      const inside = readFromInside(path.join(this.dir, 'run.json'));
      this.manifest = { ...this.manifest, ...inside, status, exitCode, endedAt: new Date().toISOString() };
      writeJsonAtomic(path.join(this.dir, 'run.json'), this.manifest);
    }
    fs.closeSync(this.events);
  }
}

function homeOf(run: NewRun): string {
  if (run.home === undefined) {
    throw new Error('A new run needs a lab home or a journal to be recorded in.');
  }
  return run.home;
}

/** A new run's id and its directory in the journal, made private and exclusively (never one that exists). */
function journalRunDir(journal: string): { id: string; dir: string } {
  fs.mkdirSync(journal, { recursive: true, mode: RUN_DIR_MODE });
  for (;;) {
    const id = newRunId();
    const dir = path.join(journal, id);
    try {
      fs.mkdirSync(dir, { mode: RUN_DIR_MODE });
      return { id, dir };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw e;
      }
    }
  }
}

/** The fields of run.json that the code inside a run may set (see `finish`), read through no link. */
function readFromInside(file: string): Partial<Pick<RunManifest, 'name' | 'runtime' | 'packages'>> {
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    try {
      text = fs.fstatSync(fd).size <= RUN_LIMITS.manifestBytes ? fs.readFileSync(fd, 'utf8') : '';
    } finally {
      fs.closeSync(fd);
    }
    const m = JSON.parse(text) as Partial<RunManifest> | null;
    const out: { name?: string; runtime?: RunManifest['runtime']; packages?: string } = {};
    if (typeof m?.name === 'string' && m.name.length > 0 && m.name.length <= RUN_LIMITS.nameChars) {
      out.name = m.name;
    }
    if (m?.runtime && typeof m.runtime === 'object' && Object.values(m.runtime).every((v) => typeof v === 'string')) {
      out.runtime = m.runtime;
    }
    if (typeof m?.packages === 'string' && m.packages === 'packages.txt') {
      out.packages = m.packages;
    }
    return out;
  } catch {
    return {};
  }
}

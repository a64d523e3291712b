import * as fs from 'fs';
import * as path from 'path';
import { RUN_DIR_MODE } from '../../../common/run-directory/files';
import { RUN_FILE_PATH_CHARS } from '../../../protocol/routes/run-upload';
import { ApiError } from '../../errors';
import { HEARTBEAT_FILE } from './heartbeat';

/** Files of a run with a route of their own: never written through the files route. */
const OWN_ROUTES = new Set(['run.json', 'events.jsonl']);
/** Folders deep at most below the run directory (`artifacts/a/b/...`). */
const MAX_DEPTH = 32;

function refuse(message: string): never {
  throw new ApiError(400, 'invalid_path', message);
}

/**
 * The parts of a relative path sent for a file of a run (`artifacts/model.pkl`), checked: relative,
 * "/" between parts, no "." or ".." part, no NUL or backslash, bounded. Says what to send otherwise.
 */
export function relativeParts(relative: string): string[] {
  const shown = JSON.stringify(relative.slice(0, 200));
  if (relative.length === 0 || relative.length > RUN_FILE_PATH_CHARS) {
    refuse(`The file path has ${relative.length} characters: send 1 to ${RUN_FILE_PATH_CHARS}.`);
  }
  if (relative.includes('\0') || relative.includes('\\')) {
    refuse(`The file path ${shown} holds a NUL or a backslash: send a relative path with "/" between its parts.`);
  }
  if (relative.startsWith('/') || /^[A-Za-z]:/.test(relative)) {
    refuse(`The file path ${shown} is absolute: send it relative to the run directory, e.g. "artifacts/model.pkl".`);
  }
  const parts = relative.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    refuse(`The file path ${shown} has an empty, "." or ".." part: send a plain path inside the run directory.`);
  }
  if (parts.length > MAX_DEPTH) {
    refuse(`The file path ${shown} is ${parts.length} folders deep: at most ${MAX_DEPTH} are allowed.`);
  }
  if (parts.length === 1 && OWN_ROUTES.has(parts[0])) {
    refuse(`${parts[0]} is sent with its own route (/manifest or /events), not as a file.`);
  }
  if (parts.length === 1 && parts[0] === HEARTBEAT_FILE) {
    refuse(`${HEARTBEAT_FILE} is the lab's own record of the run's sender: it is not sent.`);
  }
  return parts;
}

/** A folder that must be a real folder (never a symbolic link), created private when missing. */
function ensureFolder(dir: string, what: string): void {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!st) {
    try {
      fs.mkdirSync(dir, { mode: RUN_DIR_MODE });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw e;
      }
    }
    return ensureFolder(dir, what);
  }
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new ApiError(409, 'not_a_folder', `${what} is not a folder in the lab: nothing can be stored in it.`);
  }
}

/** `<home>/runs/<id>`, created (private) when missing; never through a symbolic link. */
export function runFolder(home: string, id: string): string {
  const runs = path.join(home, 'runs');
  ensureFolder(runs, 'runs/');
  const dir = path.join(runs, id);
  ensureFolder(dir, `The run directory of ${id}`);
  return dir;
}

/** `<home>/runs/<id>` when it exists as a real folder, else undefined. */
export function existingRunFolder(home: string, id: string): string | undefined {
  const dir = path.join(home, 'runs', id);
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  return st?.isDirectory() ? dir : undefined;
}

/** The folders of `parts` (all but the last) below `dir`, each checked and created as needed. */
export function ensureParents(dir: string, parts: readonly string[]): string {
  let current = dir;
  for (const part of parts.slice(0, -1)) {
    current = path.join(current, part);
    ensureFolder(current, `"${parts.join('/').slice(0, 200)}" goes through "${part}", which`);
  }
  return path.join(current, parts[parts.length - 1]);
}

/** One change at a time per run: appends and manifest writes of a run never interleave. */
export class RunLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(id: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.tails.set(id, tail);
    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(id) === tail) {
        this.tails.delete(id);
      }
    }
  }
}

/**
 * Tells the ingest that a run changed: it watches runs/, where a change inside a run directory is no
 * event, but a run directory's own times changing is (inotify's IN_ATTRIB of a child). A run that
 * had settled (its process gone, its directory no longer followed) is read again at once.
 */
export function touchRun(runDir: string): void {
  const now = new Date();
  try {
    fs.utimesSync(runDir, now, now);
  } catch {
    // the periodic re-check of followed runs and the scan at start still find it
  }
}

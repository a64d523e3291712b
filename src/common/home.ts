import * as fs from 'fs';
import * as path from 'path';
import type { Registration } from '../protocol/api';

/** The layout of a lab home folder (default `.mllab/` in the first workspace folder). */
export function homePaths(home: string) {
  return {
    home,
    run: path.join(home, 'run'),
    registration: path.join(home, 'run', 'backend.json'),
    /** how to start a backend for this home (node, script), for clients that are not Node (Python) */
    launcher: path.join(home, 'run', 'launcher.json'),
    /** unpacked packages, by content hash */
    unpacked: path.join(home, 'cache', 'datasets'),
    db: path.join(home, 'db'),
    logs: path.join(home, 'logs'),
    log: path.join(home, 'logs', 'backend.log'),
  } as const;
}

/** The folders directly inside a lab home (see the layout in docs/ARCHITECTURE.md). */
export const HOME_FOLDERS = ['run', 'db', 'blobs', 'cache', 'tmp', 'runs', 'metrics', 'jobs', 'logs'] as const;

/** Whether a mode gives any access to the group or to others. */
export function isShared(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

/**
 * Makes a folder exist and be private to its owner (0700), whatever the umask. Returns the mode it
 * had when it was wider (an existing folder that has been tightened), else undefined.
 */
export function privateFolder(dir: string): number | undefined {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === 'win32') {
    return undefined; // access there is by ACL, inherited from the user's profile
  }
  const mode = fs.statSync(dir).mode & 0o7777;
  if (mode === 0o700) {
    return undefined;
  }
  fs.chmodSync(dir, 0o700);
  return isShared(mode) ? mode : undefined;
}

/**
 * Makes the lab home and its top folders private (0700): what is in a lab home (datasets, runs,
 * metrics, the API token) belongs to its owner alone. Returns a line per folder that was readable
 * by others before, for the log.
 */
export function makeHomePrivate(home: string): string[] {
  const tightened: string[] = [];
  for (const dir of [home, ...HOME_FOLDERS.map((f) => path.join(home, f))]) {
    const was = privateFolder(dir);
    if (was !== undefined) {
      tightened.push(
        `${dir} was readable by others (mode ${was.toString(8).padStart(4, '0')}): made it private (0700)`,
      );
    }
  }
  return tightened;
}

/**
 * Resolves the lab home: an explicit value, then MLLAB_HOME, then the nearest `.mllab` folder in
 * `cwd` or a folder above it (as git finds `.git`), else `.mllab` in `cwd` (created on first use).
 */
export function resolveHome(explicit: string | undefined, cwd = process.cwd()): string {
  const chosen = explicit ?? process.env.MLLAB_HOME;
  if (chosen && chosen.length > 0) {
    return path.resolve(cwd, chosen);
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, '.mllab');
    if (fs.existsSync(candidate) && fs.statSync(candidate).isDirectory()) {
      return candidate;
    }
    if (path.dirname(dir) === dir) {
      return path.resolve(cwd, '.mllab');
    }
  }
}

export function readRegistration(home: string): Registration | undefined {
  let text: string;
  try {
    text = fs.readFileSync(homePaths(home).registration, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const r = JSON.parse(text) as Registration;
    return typeof r.pid === 'number' && typeof r.token === 'string' ? r : undefined;
  } catch {
    // a registration being written right now is empty for an instant; treat as absent
    return undefined;
  }
}

/** Whether a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

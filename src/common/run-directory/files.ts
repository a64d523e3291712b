import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

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

/** A new run's id and its directory `<home>/runs/<id>`, created private to the owner. */
export function createRunDir(home: string): { id: string; dir: string } {
  const id = newRunId();
  const dir = path.join(home, 'runs', id);
  makeRunDir(dir);
  return { id, dir };
}

/** Opens a file of the run directory to append to: private, never through a symbolic link. */
export function openRunFile(file: string): number {
  return fs.openSync(
    file,
    fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NOFOLLOW ?? 0),
    RUN_FILE_MODE,
  );
}

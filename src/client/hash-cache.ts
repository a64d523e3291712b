import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * The sha256 of files sent to labs, by path, in the local cache of the clients (the Python client's
 * `_blob_cache.py` keeps the same: `<cache>/hashes/<sha256 of the path>.json`). An entry holds while
 * the file's size, change times and inode are those it was hashed with: sending the same file again
 * asks the lab whether it holds the content before sending a byte, without hashing the file first.
 */
export class HashCache {
  constructor(readonly root: string = cacheRoot()) {}

  private entryOf(file: string): string {
    return path.join(this.root, 'hashes', `${createHash('sha256').update(path.resolve(file)).digest('hex')}.json`);
  }

  /** The sha256 recorded for the file as it is now, or undefined. */
  lookup(file: string): string | undefined {
    try {
      const entry = JSON.parse(fs.readFileSync(this.entryOf(file), 'utf8')) as { stamp?: unknown; sha256?: unknown };
      return entry.stamp === stampOf(file) && typeof entry.sha256 === 'string' && /^[0-9a-f]{64}$/.test(entry.sha256)
        ? entry.sha256
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records the sha256 of the file as it was when `stamp` was taken (nothing when the cache cannot be written). */
  remember(file: string, stamp: string, sha256: string): void {
    const entry = this.entryOf(file);
    const temp = `${entry}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(entry), { recursive: true, mode: 0o700 });
      fs.writeFileSync(temp, JSON.stringify({ path: path.resolve(file), stamp, sha256 }), { mode: 0o600 });
      fs.renameSync(temp, entry);
    } catch {
      fs.rmSync(temp, { force: true }); // a cache only: the next send hashes the file again
    }
  }
}

/** `$MLLAB_CACHE_DIR`, else `$XDG_CACHE_HOME/mllab/blobs` (`~/.cache/mllab/blobs`), as the Python client. */
export function cacheRoot(): string {
  const chosen = process.env.MLLAB_CACHE_DIR;
  if (chosen) {
    return path.resolve(chosen.replace(/^~(?=$|\/)/, os.homedir()));
  }
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mllab', 'blobs');
}

/** What identifies a file's content unless it was changed: size, modification and change times (ns), inode. */
export function stampOf(file: string): string | undefined {
  const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  return st ? `${st.size}:${st.mtimeNs}:${st.ctimeNs}:${st.ino}` : undefined;
}

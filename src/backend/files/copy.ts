import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';

/**
 * Copies one file to `target` (a temp path of the blob store), hashing it on the way, and syncs it
 * to disk. `source` is a path, or the descriptor of an open file (see openInside), which is closed.
 * Returns the sha256 (hex) of the content.
 */
export async function copyHashed(
  source: string | { readonly fd: number },
  target: string,
  signal?: AbortSignal,
  progress: (bytes: number) => void = () => undefined,
): Promise<string> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      progress(bytes);
      done(null, chunk);
    },
  });
  const input =
    typeof source === 'string'
      ? fs.createReadStream(source, { highWaterMark: 1024 * 1024 })
      : fs.createReadStream('', { fd: source.fd, highWaterMark: 1024 * 1024, autoClose: true });
  const out = fs.createWriteStream(target, { mode: 0o600 });
  await pipeline(input, tap, out, { signal });
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** Why a path named by a run cannot be read (see openInside). */
export class UnsafePathError extends Error {
  constructor(
    message: string,
    readonly reason: 'outside' | 'link' | 'not_a_file' | 'missing' | 'too_big',
  ) {
    super(message);
  }
}

const NO_FOLLOW = fs.constants.O_NOFOLLOW ?? 0;
/** a FIFO would block the open (and the backend's thread) until someone writes to it */
const NO_BLOCK = fs.constants.O_NONBLOCK ?? 0;

/**
 * Opens the regular file `relative` inside the folder `root` (a run directory) for reading, never
 * following a symbolic link below `root`: a job writes its run directory and could otherwise make
 * the backend read (or copy into the blob store, which every job reads) any file of the host.
 * Every folder on the way is checked with lstat, the file is opened with O_NOFOLLOW (and
 * O_NONBLOCK: a FIFO must not block the backend), and must be a regular file. On Linux the opened
 * file's real path is checked too, which catches a folder swapped for a link between the checks and
 * the open. `maxBytes` refuses a bigger file. Throws UnsafePathError; the caller closes the fd.
 */
export function openInside(root: string, relative: string, maxBytes = Infinity): { fd: number; size: number } {
  const parts = relative.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (path.isAbsolute(relative) || relative.includes('\0') || parts.length === 0 || parts.includes('..')) {
    throw new UnsafePathError(`"${relative}" is not a path inside the run directory`, 'outside');
  }
  let current = root;
  for (const part of parts.slice(0, -1)) {
    current = path.join(current, part);
    const st = fs.lstatSync(current, { throwIfNoEntry: false });
    if (!st) {
      throw new UnsafePathError(`"${relative}" does not exist`, 'missing');
    }
    if (st.isSymbolicLink()) {
      throw new UnsafePathError(`"${relative}" goes through a symbolic link (${part}): links are not followed`, 'link');
    }
    if (!st.isDirectory()) {
      throw new UnsafePathError(`"${relative}" goes through "${part}", which is not a folder`, 'not_a_file');
    }
  }
  let fd: number;
  try {
    fd = fs.openSync(path.join(root, ...parts), fs.constants.O_RDONLY | NO_FOLLOW | NO_BLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') {
      throw new UnsafePathError(`"${relative}" is a symbolic link: links are not followed`, 'link');
    }
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UnsafePathError(`"${relative}" does not exist`, 'missing');
    }
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      throw new UnsafePathError(`"${relative}" is not a regular file`, 'not_a_file');
    }
    if (st.size > maxBytes) {
      throw new UnsafePathError(`"${relative}" has ${st.size} bytes, more than ${maxBytes}`, 'too_big');
    }
    if (process.platform === 'linux' && parts.length > 1) {
      let real: string | undefined;
      try {
        real = fs.readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        real = undefined; // no /proc: the checks above stand
      }
      if (real !== undefined && !real.startsWith(fs.realpathSync(root) + path.sep)) {
        throw new UnsafePathError(`"${relative}" leads outside the run directory`, 'link');
      }
    }
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

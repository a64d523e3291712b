import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { pipeline } from 'stream/promises';
import { RUN_FILE_MAX_BYTES, type UploadedFile, type UploadState } from '../../../protocol/routes/run-upload';
import { ApiError } from '../../errors';
import { openInside, UnsafePathError } from '../../files/copy';
import { syncFile, writeHashed, type RawBody } from './body';
import { HEARTBEAT_FILE } from './heartbeat';
import { ensureParents, existingRunFolder, relativeParts, runFolder, touchRun } from './run-folder';

/** Files listed by the upload state at most. */
const MAX_LISTED = 10_000;
/** Hashes remembered (by path, size, change time and inode) at most: beyond, the oldest go. */
const MAX_CACHED = 20_000;

interface Cached {
  readonly key: string;
  readonly sha256: string;
}

/** The stored files of uploaded runs: written by hash, looked up by hash. */
export class RunFiles {
  private readonly hashes = new Map<string, Cached>();

  constructor(private readonly home: string) {}

  /** size and sha256 of the regular file `relative` of a run (no link followed), or undefined. */
  async stored(runDir: string, relative: string): Promise<{ size: number; sha256: string } | undefined> {
    let opened: { fd: number; size: number };
    try {
      opened = openInside(runDir, relative);
    } catch (e) {
      if (e instanceof UnsafePathError) {
        return undefined;
      }
      throw e;
    }
    const file = path.join(runDir, relative);
    const st = fs.fstatSync(opened.fd);
    const key = `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`;
    const cached = this.hashes.get(file);
    if (cached?.key === key) {
      fs.closeSync(opened.fd);
      return { size: st.size, sha256: cached.sha256 };
    }
    const hash = createHash('sha256');
    await pipeline(fs.createReadStream('', { fd: opened.fd, highWaterMark: 1 << 20, autoClose: true }), hash);
    const sha256 = hash.digest('hex');
    this.remember(file, { key, sha256 });
    return { size: st.size, sha256 };
  }

  private remember(file: string, entry: Cached): void {
    this.hashes.delete(file);
    this.hashes.set(file, entry);
    if (this.hashes.size > MAX_CACHED) {
      this.hashes.delete(this.hashes.keys().next().value!);
    }
  }

  /**
   * Stores the body as the file `relative` of the run, if its sha256 is `sha256`: streamed into the
   * lab's tmp/ folder while hashed, synced, then renamed into place (which replaces a link instead of
   * following it). A file already stored with that hash is answered at once: the body is not read.
   * A wrong hash stores nothing (400).
   */
  async put(id: string, relative: string, sha256: string, body: RawBody, length?: number): Promise<UploadedFile> {
    const parts = relativeParts(relative);
    const rel = parts.join('/');
    const existing = existingRunFolder(this.home, id);
    const already = existing === undefined ? undefined : await this.stored(existing, rel);
    if (already?.sha256 === sha256) {
      return { path: rel, ...already };
    }
    if (length !== undefined && length > RUN_FILE_MAX_BYTES) {
      throw new ApiError(413, 'body_too_large', `The file has ${length} bytes, more than ${RUN_FILE_MAX_BYTES}.`);
    }
    const tmpDir = path.join(this.home, 'tmp');
    fs.mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
    const tmp = path.join(tmpDir, `run-file-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let renamed = false;
    try {
      const size = await writeHashed(body, tmp, {
        flags: 'wx',
        hash,
        max: RUN_FILE_MAX_BYTES,
        tooBig: () => new ApiError(413, 'body_too_large', `The file is larger than ${RUN_FILE_MAX_BYTES} bytes.`),
      });
      const got = hash.digest('hex');
      if (got !== sha256) {
        throw new ApiError(
          400,
          'hash_mismatch',
          `The ${size} bytes received for "${rel.slice(0, 200)}" have sha256 ${got}, not ${sha256}: nothing was stored; send the file again.`,
        );
      }
      const runDir = runFolder(this.home, id); // made only for a file that is stored
      const target = ensureParents(runDir, parts);
      if (fs.lstatSync(target, { throwIfNoEntry: false })?.isDirectory()) {
        throw new ApiError(409, 'not_a_file', `"${rel.slice(0, 200)}" is a folder in the lab: it is not replaced.`);
      }
      fs.renameSync(tmp, target);
      renamed = true;
      await syncFile(path.dirname(target));
      const st = fs.lstatSync(target);
      this.remember(target, { key: `${st.size}:${st.mtimeMs}:${st.ctimeMs}:${st.ino}`, sha256 });
      touchRun(runDir);
      return { path: rel, size, sha256 };
    } finally {
      if (!renamed) {
        fs.rmSync(tmp, { force: true });
      }
    }
  }

  /** What the lab holds of a run, so that a sender that restarted goes on from there. */
  async state(id: string): Promise<UploadState> {
    const dir = existingRunFolder(this.home, id);
    if (!dir) {
      return { eventsSize: 0, manifestSha256: null, files: [] };
    }
    const events = fs.lstatSync(path.join(dir, 'events.jsonl'), { throwIfNoEntry: false });
    const manifest = await this.stored(dir, 'run.json');
    const files: UploadedFile[] = [];
    for (const rel of listFiles(dir)) {
      const found = await this.stored(dir, rel);
      if (found) {
        files.push({ path: rel, ...found });
      }
    }
    return { eventsSize: events?.isFile() ? events.size : 0, manifestSha256: manifest?.sha256 ?? null, files };
  }
}

/** The regular files of a run directory (no link followed) but run.json, events.jsonl and the heartbeat, at most MAX_LISTED. */
function listFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string, prefix: string): void => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      if (found.length >= MAX_LISTED) {
        return;
      }
      const rel = prefix + entry.name;
      if (entry.isDirectory()) {
        walk(path.join(folder, entry.name), `${rel}/`);
      } else if (entry.isFile() && rel !== 'run.json' && rel !== 'events.jsonl' && rel !== HEARTBEAT_FILE) {
        found.push(rel);
      }
    }
  };
  walk(dir, '');
  return found.sort();
}

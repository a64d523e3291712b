import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { fsyncDir } from '../../common/fsync';
import { isShared } from '../../common/home';

/** The folder of tmp/ that holds partial uploads (blobs/uploads.ts), kept when the lab restarts. */
export const UPLOADS_FOLDER = 'uploads';

/** Stored content is read-only and private: only its owner reads it (the folders are 0700). */
const BLOB_MODE = 0o400;

/**
 * Content-addressed storage of files in the lab home: `blobs/sha256/ab/cdef...`, read-only once
 * stored, identical content stored once. New content is written to `tmp/` first and renamed into
 * place only when complete and on disk, so the store never points to a missing or partial blob.
 * Blobs are 0400 in 0700 folders, whatever the umask: a dataset may hold private data.
 */
export class BlobStore {
  readonly root: string;
  readonly tmp: string;

  constructor(home: string) {
    this.root = path.join(home, 'blobs', 'sha256');
    this.tmp = path.join(home, 'tmp');
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) {
      throw new Error(`not a sha256: ${sha256}`);
    }
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2));
  }

  has(sha256: string): boolean {
    return fs.existsSync(this.pathOf(sha256));
  }

  /** A fresh path in tmp/ for content being written. */
  tempPath(suffix = '.part'): string {
    mkdirPrivate(this.tmp);
    return path.join(this.tmp, `${randomUUID()}${suffix}`);
  }

  /**
   * Moves a complete, fsync'ed temp file into the store under its hash. When the content is already
   * stored, the temp file is removed and `deduplicated` is true.
   */
  commit(tempFile: string, sha256: string): { path: string; deduplicated: boolean } {
    const target = this.pathOf(sha256);
    if (fs.existsSync(target)) {
      fs.rmSync(tempFile, { force: true });
      return { path: target, deduplicated: true };
    }
    mkdirPrivate(path.dirname(target));
    fs.chmodSync(tempFile, BLOB_MODE);
    fs.renameSync(tempFile, target);
    fsyncDir(path.dirname(target));
    return { path: target, deduplicated: false };
  }

  remove(sha256: string): void {
    fs.rmSync(this.pathOf(sha256), { force: true });
  }

  /**
   * Removes what interrupted writes left in tmp/ (at start, when no write can be running), except
   * the partial uploads of tmp/uploads/: a sender goes on from their bytes after the lab restarted
   * (they are checked against their sha256 before anything is stored, and bounded in age and size).
   */
  cleanTemp(): number {
    if (!fs.existsSync(this.tmp)) {
      return 0;
    }
    const leftovers = fs.readdirSync(this.tmp).filter((f) => f !== UPLOADS_FOLDER);
    for (const f of leftovers) {
      fs.rmSync(path.join(this.tmp, f), { recursive: true, force: true });
    }
    return leftovers.length;
  }

  /**
   * Makes stored content that is readable by others (stored by an older version, or changed by hand)
   * private again: folders 0700, blobs 0400. Returns how many blobs were changed.
   */
  makePrivate(): number {
    if (process.platform === 'win32' || !fs.existsSync(this.root)) {
      return 0;
    }
    let changed = 0;
    for (const dir of [path.dirname(this.root), this.root]) {
      fs.chmodSync(dir, 0o700);
    }
    for (const prefix of fs.readdirSync(this.root)) {
      const dir = path.join(this.root, prefix);
      fs.chmodSync(dir, 0o700);
      for (const name of fs.readdirSync(dir)) {
        const file = path.join(dir, name);
        if (isShared(fs.lstatSync(file).mode)) {
          fs.chmodSync(file, BLOB_MODE);
          changed++;
        }
      }
    }
    return changed;
  }

  /** Every stored hash, for garbage collection against the store's references. */
  list(): string[] {
    if (!fs.existsSync(this.root)) {
      return [];
    }
    return fs
      .readdirSync(this.root)
      .flatMap((prefix) => fs.readdirSync(path.join(this.root, prefix)).map((rest) => prefix + rest));
  }
}

/** Creates a folder and its missing parents accessible to their owner only (a umask can only narrow 0700). */
function mkdirPrivate(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

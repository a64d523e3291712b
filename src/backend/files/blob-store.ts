import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { fsyncDir } from '../../common/fsync';

/**
 * Content-addressed storage of files in the lab home: `blobs/sha256/ab/cdef...`, read-only once
 * stored, identical content stored once. New content is written to `tmp/` first and renamed into
 * place only when complete and on disk, so the store never points to a missing or partial blob.
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
    fs.mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
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
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.chmodSync(tempFile, 0o444);
    fs.renameSync(tempFile, target);
    fsyncDir(path.dirname(target));
    return { path: target, deduplicated: false };
  }

  remove(sha256: string): void {
    fs.rmSync(this.pathOf(sha256), { force: true });
  }

  /** Removes what interrupted writes left in tmp/ (at start, when no write can be running). */
  cleanTemp(): number {
    if (!fs.existsSync(this.tmp)) {
      return 0;
    }
    const leftovers = fs.readdirSync(this.tmp);
    for (const f of leftovers) {
      fs.rmSync(path.join(this.tmp, f), { recursive: true, force: true });
    }
    return leftovers.length;
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

import { createHash, type Hash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { BLOB_MAX_BYTES, type BlobUploadState } from '../../protocol/routes/blobs';
import { ApiError } from '../errors';
import { writeHashed, type RawBody } from '../experiments/upload/body';
import type { BlobStore } from '../files/blob-store';
import type { Logger } from '../log';

/** How long and how much partial uploads are kept. */
export interface PartialLimits {
  /** a partial upload untouched for longer is dropped */
  readonly maxAgeMs: number;
  /** beyond this many bytes of partial uploads in all, the oldest are dropped */
  readonly maxBytes: number;
}

export const DEFAULT_PARTIAL_LIMITS: PartialLimits = {
  maxAgeMs: 24 * 60 * 60 * 1000,
  maxBytes: 64 * 1024 * 1024 * 1024,
};

/** One upload: where its bytes go. */
export interface BlobPut {
  readonly offset: number;
  readonly size: number;
  readonly body: RawBody;
  /** Content-Length, when declared */
  readonly length?: number;
}

function diskFull(): ApiError {
  return new ApiError(
    507,
    'disk_full',
    'The disk of the lab home is full: free some space on the lab and send the content again (nothing was stored).',
  );
}

/**
 * Uploads of blobs, resumable: bytes are appended to `<home>/tmp/uploads/<sha256>.part` at the
 * offset the lab holds, hashed on the way (the hash of the bytes held is kept in memory while the
 * upload goes on; after a break it is computed again from the file), and the whole is renamed into
 * the blob store only when its last byte came and its sha256 matches. A wrong hash removes the
 * partial file; a full disk removes it too (507), so nothing half-written stays.
 */
export class BlobUploads {
  readonly dir: string;
  private readonly hashes = new Map<string, { readonly hash: Hash; readonly bytes: number }>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly log: Logger,
    private readonly limits: PartialLimits = DEFAULT_PARTIAL_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.dir = path.join(blobs.tmp, 'uploads');
  }

  private partOf(sha256: string): string {
    this.blobs.pathOf(sha256); // checks the hash's form
    return path.join(this.dir, `${sha256}.part`);
  }

  private held(sha256: string): number {
    return fs.statSync(this.partOf(sha256), { throwIfNoEntry: false })?.size ?? 0;
  }

  state(sha256: string): BlobUploadState {
    const stored = fs.statSync(this.blobs.pathOf(sha256), { throwIfNoEntry: false });
    return stored
      ? { sha256, stored: true, received: stored.size }
      : { sha256, stored: false, received: this.held(sha256) };
  }

  /** Appends a body at `offset`; stores the blob when it is whole. */
  async put(sha256: string, put: BlobPut): Promise<{ state: BlobUploadState; conflict?: ApiError }> {
    const already = this.state(sha256);
    if (already.stored) {
      return { state: already };
    }
    if (put.size > BLOB_MAX_BYTES) {
      throw new ApiError(413, 'body_too_large', `The content has ${put.size} bytes, more than ${BLOB_MAX_BYTES}.`);
    }
    if (this.busy.has(sha256)) {
      return {
        state: already,
        conflict: new ApiError(
          409,
          'upload_busy',
          'Another upload of this content is going on: wait for it, then ask for the upload state again.',
        ),
      };
    }
    if (put.offset !== already.received) {
      return {
        state: already,
        conflict: new ApiError(
          409,
          'wrong_offset',
          `The lab holds ${already.received} bytes of this content, not ${put.offset}: send from byte ${already.received}.`,
        ),
      };
    }
    const rest = put.size - put.offset;
    if (rest < 0 || (put.length !== undefined && put.length > rest)) {
      throw new ApiError(
        400,
        'too_much',
        `Bytes from ${put.offset} (${put.length ?? '?'} of them) go past the size given (${put.size}): check size and offset.`,
      );
    }
    this.busy.add(sha256);
    try {
      return { state: await this.append(sha256, put) };
    } finally {
      this.busy.delete(sha256);
    }
  }

  private async append(sha256: string, put: BlobPut): Promise<BlobUploadState> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.prune(sha256);
    this.checkSpace(put.size - put.offset);
    const file = this.partOf(sha256);
    if (put.offset > 0) {
      this.log.info(`blobs: the upload of ${sha256.slice(0, 12)} goes on from byte ${put.offset}`);
    }
    const hash = await this.hashOfHeld(sha256, file, put.offset);
    this.hashes.delete(sha256); // kept again only once the bytes it covers are on disk
    let written: number;
    try {
      written = await writeHashed(put.body, file, {
        flags: 'a',
        hash,
        max: put.size - put.offset,
        tooBig: () =>
          new ApiError(400, 'too_much', `More bytes came than the size given (${put.size}): nothing more was kept.`),
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC') {
        fs.rmSync(file, { force: true });
        throw diskFull();
      }
      if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (e as Error).message === 'aborted') {
        const held = this.held(sha256);
        this.log.info(`blobs: the upload of ${sha256.slice(0, 12)} broke off at byte ${held}; kept to be resumed`);
        throw new ApiError(
          400,
          'upload_broken',
          `The connection closed at byte ${held}: ask for the upload state and send the rest.`,
        );
      }
      throw e;
    }
    const received = put.offset + written;
    if (received < put.size) {
      this.hashes.set(sha256, { hash, bytes: received });
      return { sha256, stored: false, received };
    }
    const got = hash.digest('hex');
    if (got !== sha256) {
      fs.rmSync(file, { force: true });
      throw new ApiError(
        400,
        'hash_mismatch',
        `The ${received} bytes received have sha256 ${got}, not ${sha256}: nothing was stored; send the content again.`,
      );
    }
    const { deduplicated } = this.blobs.commit(file, sha256);
    this.log.info(
      `blobs: stored ${sha256.slice(0, 12)} (${received} bytes)${deduplicated ? ', content already stored' : ''}`,
    );
    return { sha256, stored: true, received };
  }

  /** The hash of the first `bytes` held: from memory when the upload went on without a break. */
  private async hashOfHeld(sha256: string, file: string, bytes: number): Promise<Hash> {
    const kept = this.hashes.get(sha256);
    if (kept?.bytes === bytes) {
      return kept.hash;
    }
    const hash = createHash('sha256');
    if (bytes > 0) {
      for await (const chunk of fs.createReadStream(file, { start: 0, end: bytes - 1, highWaterMark: 1 << 20 })) {
        hash.update(chunk as Buffer);
      }
    }
    return hash;
  }

  private checkSpace(needed: number): void {
    let free: number;
    try {
      const st = fs.statfsSync(this.dir);
      free = st.bavail * st.bsize;
    } catch {
      return;
    }
    if (free < needed) {
      throw new ApiError(
        507,
        'disk_full',
        `The disk of the lab home has ${free} bytes free, and this content needs ${needed} more: free some space on the lab and send it again (nothing was stored).`,
      );
    }
  }

  /** Drops partial uploads older than the age bound, then the oldest beyond the size bound. */
  private prune(keep: string): void {
    const now = this.now();
    const parts = fs
      .readdirSync(this.dir)
      .filter((name) => name.endsWith('.part'))
      .map((name) => {
        const st = fs.statSync(path.join(this.dir, name), { throwIfNoEntry: false });
        return { name, sha256: name.slice(0, -'.part'.length), size: st?.size ?? 0, mtime: st?.mtimeMs ?? 0 };
      })
      .filter((p) => p.sha256 !== keep && !this.busy.has(p.sha256))
      .sort((a, b) => a.mtime - b.mtime);
    let total = parts.reduce((sum, p) => sum + p.size, 0) + this.held(keep);
    for (const p of parts) {
      if (now - p.mtime > this.limits.maxAgeMs || total > this.limits.maxBytes) {
        fs.rmSync(path.join(this.dir, p.name), { force: true });
        this.hashes.delete(p.sha256);
        total -= p.size;
        this.log.info(
          `blobs: dropped the partial upload of ${p.sha256.slice(0, 12)} (${p.size} bytes, too old or too much)`,
        );
      }
    }
  }
}

import { createHash, type Hash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  BLOB_MAX_BYTES,
  type BlobUploadState,
  type FinishUploadRequest,
  type IdUploadState,
} from '../../protocol/routes/blobs';
import { OWNER } from '../../protocol/users';
import { ApiError } from '../errors';
import { writeHashed, type RawBody } from '../experiments/upload/body';
import { UPLOADS_FOLDER, type BlobStore } from '../files/blob-store';
import type { Logger } from '../log';
import { BlobGrants } from './grants';

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

/** One upload: where its bytes go, and who sends them. */
export interface BlobPut {
  readonly offset: number;
  readonly size: number;
  readonly body: RawBody;
  /** Content-Length, when declared */
  readonly length?: number;
  /** the user sending (default: the lab's owner): a partial upload is continued by its sender only */
  readonly sender?: string;
}

/** A partial upload: its file's key in tmp/uploads/ and how the log names it. */
interface Partial {
  readonly key: string;
  readonly label: string;
}

/** Large writes: an upload's bytes come in TLS records of 16 KiB, written to disk in batches. */
const WRITE_BUFFER = 4 * 1024 * 1024;

function diskFull(): ApiError {
  return new ApiError(
    507,
    'disk_full',
    'The disk of the lab home is full: free some space on the lab and send the content again (nothing was stored).',
  );
}

/** A short tag of a user's name in the names of their partial uploads (names are free text). */
function senderTag(sender: string): string {
  return createHash('sha256').update(sender).digest('hex').slice(0, 16);
}

/**
 * Uploads of blobs, resumable: bytes are appended to `<home>/tmp/uploads/<key>.part` at the offset
 * the lab holds, hashed on the way (the hash of the bytes held is kept in memory while the upload
 * goes on; after a break, or after the lab restarted, it is computed again from the file), and the
 * whole is renamed into the blob store only once its sha256 matches: when its last byte came, for
 * content named by its sha256, or when the sender says what it is, for content named by an id. A
 * wrong hash removes the partial file; a full disk removes it too (507), so nothing half-written
 * stays. A partial upload belongs to its sender (its key names them): another user neither sees
 * nor continues it, so that the bytes held say nothing about what others send.
 */
export class BlobUploads {
  readonly dir: string;
  /** who sent which content: they may learn that the lab holds it */
  readonly grants = new BlobGrants();
  private readonly hashes = new Map<string, { readonly hash: Hash; readonly bytes: number }>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly blobs: BlobStore,
    private readonly log: Logger,
    private readonly limits: PartialLimits = DEFAULT_PARTIAL_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    this.dir = path.join(blobs.tmp, UPLOADS_FOLDER);
  }

  private bySha(sha256: string, sender = OWNER): Partial {
    this.blobs.pathOf(sha256); // checks the hash's form
    return { key: `${sha256}-${senderTag(sender)}`, label: sha256.slice(0, 12) };
  }

  private byId(id: string, sender = OWNER): Partial {
    if (!/^[0-9a-f]{32}$/.test(id)) {
      throw new Error(`not an upload id: ${id}`);
    }
    return { key: `${id}-${senderTag(sender)}`, label: id.slice(0, 12) };
  }

  /** The partial file of content named by its sha256 (or of an upload named by its id) that `sender` sends. */
  partOf(name: { readonly sha256: string } | { readonly id: string }, sender?: string): string {
    const p = 'sha256' in name ? this.bySha(name.sha256, sender) : this.byId(name.id, sender);
    return this.file(p);
  }

  private file(p: Partial): string {
    return path.join(this.dir, `${p.key}.part`);
  }

  private held(p: Partial): number {
    return fs.statSync(this.file(p), { throwIfNoEntry: false })?.size ?? 0;
  }

  /**
   * Where the upload of `sha256` by `sender` stands. `mayKnow`: whether the sender may learn that
   * the lab holds the content (else stored content is answered as not stored).
   */
  state(sha256: string, sender?: string, mayKnow = true): BlobUploadState {
    const stored = mayKnow ? fs.statSync(this.blobs.pathOf(sha256), { throwIfNoEntry: false }) : undefined;
    return stored
      ? { sha256, stored: true, received: stored.size }
      : { sha256, stored: false, received: this.held(this.bySha(sha256, sender)) };
  }

  idState(id: string, sender?: string): IdUploadState {
    return { id, received: this.held(this.byId(id, sender)) };
  }

  /**
   * Appends a body at `offset` of content named by its sha256; stores the blob when it is whole.
   * Content the lab holds is answered at once when `mayKnow`, else received like any other (and
   * stored once).
   */
  async put(sha256: string, put: BlobPut, mayKnow = true): Promise<{ state: BlobUploadState; conflict?: ApiError }> {
    const already = this.state(sha256, put.sender, mayKnow);
    if (already.stored) {
      return { state: already };
    }
    const p = this.bySha(sha256, put.sender);
    const answer = await this.receive(p, put);
    if ('conflict' in answer) {
      return { state: { sha256, stored: false, received: answer.received }, conflict: answer.conflict };
    }
    if (answer.received < put.size) {
      return { state: { sha256, stored: false, received: answer.received } };
    }
    return { state: this.store(p, sha256, answer.received, answer.hash, put.sender) };
  }

  /** Appends a body at `offset` of an upload named by its id (its sha256 comes with `finish`). */
  async putById(id: string, put: BlobPut): Promise<{ state: IdUploadState; conflict?: ApiError }> {
    const answer = await this.receive(this.byId(id, put.sender), put);
    return 'conflict' in answer
      ? { state: { id, received: answer.received }, conflict: answer.conflict }
      : { state: { id, received: answer.received } };
  }

  /** Stores an upload named by its id once it holds `size` bytes whose sha256 is the one given. */
  async finish(id: string, end: FinishUploadRequest, sender?: string): Promise<BlobUploadState> {
    const p = this.byId(id, sender);
    if (this.busy.has(p.key)) {
      throw new ApiError(409, 'upload_busy', 'The bytes of this upload are still coming: finish it once they came.');
    }
    const received = this.held(p);
    if (received !== end.size) {
      throw new ApiError(
        409,
        'upload_incomplete',
        `The lab holds ${received} bytes of this upload, not ${end.size}: send the rest from byte ${received}, then finish it.`,
      );
    }
    this.busy.add(p.key);
    try {
      if (received === 0) {
        // empty content: no byte was sent, so no file was made
        fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        fs.writeFileSync(this.file(p), '', { mode: 0o600 });
      }
      const hash = await this.hashOfHeld(p, received);
      return this.store(p, end.sha256, received, hash, sender);
    } finally {
      this.busy.delete(p.key);
    }
  }

  /** Checks the hash of a whole upload and moves it into the blob store (removed when it is wrong). */
  private store(p: Partial, sha256: string, received: number, hash: Hash, sender = OWNER): BlobUploadState {
    this.hashes.delete(p.key); // digested here: never used again
    const file = this.file(p);
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
    this.grants.add(sender, sha256);
    this.log.info(
      `blobs: stored ${sha256.slice(0, 12)} (${received} bytes)${deduplicated ? ', content already stored' : ''}`,
    );
    return { sha256, stored: true, received };
  }

  /** Appends a body to a partial upload; answers the bytes held and their hash, or a conflict. */
  private async receive(
    p: Partial,
    put: BlobPut,
  ): Promise<{ received: number; hash: Hash } | { received: number; conflict: ApiError }> {
    if (put.size > BLOB_MAX_BYTES) {
      throw new ApiError(413, 'body_too_large', `The content has ${put.size} bytes, more than ${BLOB_MAX_BYTES}.`);
    }
    const held = this.held(p);
    if (this.busy.has(p.key)) {
      return {
        received: held,
        conflict: new ApiError(
          409,
          'upload_busy',
          'Another upload of this content is going on: wait for it, then ask for the upload state again.',
        ),
      };
    }
    if (put.offset !== held) {
      return {
        received: held,
        conflict: new ApiError(
          409,
          'wrong_offset',
          `The lab holds ${held} bytes of this content, not ${put.offset}: send from byte ${held}.`,
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
    this.busy.add(p.key);
    try {
      return await this.append(p, put);
    } finally {
      this.busy.delete(p.key);
    }
  }

  private async append(p: Partial, put: BlobPut): Promise<{ received: number; hash: Hash }> {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.prune(p.key);
    this.checkSpace(put.size - put.offset);
    const file = this.file(p);
    if (put.offset > 0) {
      this.log.info(`blobs: the upload of ${p.label} goes on from byte ${put.offset}`);
    }
    const hash = await this.hashOfHeld(p, put.offset);
    this.hashes.delete(p.key); // kept again only once the bytes it covers are on disk
    let written: number;
    try {
      written = await writeHashed(put.body, file, {
        flags: 'a',
        hash,
        max: put.size - put.offset,
        highWaterMark: WRITE_BUFFER,
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
        const held = this.held(p);
        this.log.info(`blobs: the upload of ${p.label} broke off at byte ${held}; kept to be resumed`);
        throw new ApiError(
          400,
          'upload_broken',
          `The connection closed at byte ${held}: ask for the upload state and send the rest.`,
        );
      }
      throw e;
    }
    const received = put.offset + written;
    // kept also when the bytes are all there: an upload by id is finished by a later request
    this.hashes.set(p.key, { hash, bytes: received });
    return { received, hash };
  }

  /** The hash of the first `bytes` held: from memory when the upload went on without a break. */
  private async hashOfHeld(p: Partial, bytes: number): Promise<Hash> {
    const kept = this.hashes.get(p.key);
    if (kept?.bytes === bytes) {
      return kept.hash;
    }
    const hash = createHash('sha256');
    if (bytes > 0) {
      for await (const chunk of fs.createReadStream(this.file(p), {
        start: 0,
        end: bytes - 1,
        highWaterMark: WRITE_BUFFER,
      })) {
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
        return { name, key: name.slice(0, -'.part'.length), size: st?.size ?? 0, mtime: st?.mtimeMs ?? 0 };
      })
      .filter((p) => p.key !== keep && !this.busy.has(p.key))
      .sort((a, b) => a.mtime - b.mtime);
    let total =
      parts.reduce((sum, p) => sum + p.size, 0) +
      (fs.statSync(path.join(this.dir, `${keep}.part`), { throwIfNoEntry: false })?.size ?? 0);
    for (const p of parts) {
      if (now - p.mtime > this.limits.maxAgeMs || total > this.limits.maxBytes) {
        fs.rmSync(path.join(this.dir, p.name), { force: true });
        this.hashes.delete(p.key);
        total -= p.size;
        this.log.info(`blobs: dropped the partial upload ${p.key.slice(0, 12)} (${p.size} bytes, too old or too much)`);
      }
    }
  }
}

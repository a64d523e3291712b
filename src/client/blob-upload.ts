import { createHash, randomBytes, type Hash } from 'crypto';
import * as fs from 'fs';
import { blobRoutes, type BlobUploadState, type IdUploadState } from '../protocol/routes/blobs';
import { urlOf } from '../protocol/routes/route';
import { BackendError, type ApiClient } from './api-client';
import { HashCache, stampOf } from './hash-cache';
import { sendBody } from './raw-body';
import { sleep, TRANSFER_CHUNK, withRetries, type TransferOptions } from './transfer';

/** Files up to this size are hashed before anything is sent (cheap), so that held content is never sent. */
const HASH_FIRST_BYTES = 16 * 1024 * 1024;

/** The sha256 (hex) and size of a file. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: TRANSFER_CHUNK })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Sends `file` from `offset` in one PUT to `url`; each chunk read goes to `onChunk` as it is sent.
 * Resolves with the lab's answer (a 409 carries the state to go on from).
 */
async function putFrom<T>(
  client: ApiClient,
  url: string,
  file: string,
  size: number,
  offset: number,
  onChunk: (chunk: Buffer) => void,
  signal?: AbortSignal,
): Promise<{ status: number; state: T }> {
  const { status, body } = await sendBody(client, {
    method: 'PUT',
    url,
    type: 'application/octet-stream',
    body: { file, start: offset, end: size },
    alsoOk: [409],
    onChunk,
    signal,
  });
  return { status, state: body as T };
}

/** Waits a little while another upload of the same content goes on; gives up after 30 s without progress. */
class BusyWait {
  private waits = 0;
  private last = -1;

  async next(received: number): Promise<void> {
    this.waits = received > this.last ? 0 : this.waits + 1;
    this.last = received;
    if (this.waits > 150) {
      throw new BackendError(
        409,
        'upload_busy',
        'Another upload of this content has been going on for 30 s without progress: try again later.',
      );
    }
    await sleep(200);
  }
}

/** What a send did: nothing when the lab held the content already, else the bytes sent. */
export interface SentBlob {
  readonly sha256: string;
  readonly size: number;
  readonly deduplicated: boolean;
  readonly sent: number;
}

/**
 * Sends a file to the lab as a blob whose sha256 is known, unless the lab holds it already (then
 * nothing is sent). After a dropped connection it asks the lab how much it holds and goes on from
 * there. Resolves once the lab stored the content, its sha256 checked.
 */
export async function uploadBlob(
  client: ApiClient,
  file: string,
  content: { readonly sha256: string; readonly size: number },
  options: TransferOptions = {},
): Promise<{ readonly deduplicated: boolean; readonly sent: number }> {
  const { sha256, size } = content;
  let sent = 0;
  let held = 0;
  const report = () => options.onProgress?.(Math.min(size, held), size);
  const stored = await withRetries(
    options,
    () =>
      client.checkBlob(sha256).then(
        () => true,
        (e: unknown) => {
          if (e instanceof BackendError && e.status === 404) {
            return false;
          }
          throw e;
        },
      ),
    () => 0,
  );
  if (stored) {
    held = size;
    report();
    return { deduplicated: true, sent: 0 };
  }
  const url = (offset: number) =>
    urlOf(blobRoutes.put.path, { sha256 }, { offset: String(offset), size: String(size) });
  await withRetries(
    options,
    async () => {
      const busy = new BusyWait();
      for (;;) {
        const state = await client.blobUploadState(sha256);
        held = state.received;
        report();
        if (state.stored) {
          return;
        }
        const answer = await putFrom<BlobUploadState>(
          client,
          url(state.received),
          file,
          size,
          state.received,
          (chunk) => {
            sent += chunk.length;
            held += chunk.length;
            report();
          },
          options.signal,
        );
        if (answer.state.stored) {
          held = size;
          report();
          return;
        }
        if (answer.status === 409) {
          // another upload of the same content, or the lab has not yet seen the break
          await busy.next(answer.state.received);
        }
      }
    },
    () => held,
  );
  return { deduplicated: false, sent };
}

/** The sha256 of the first `bytes` bytes of a file being sent or fetched. */
export interface RunningHash {
  hash: Hash;
  bytes: number;
}

/** Makes `h` the hash of the first `have` bytes of `file` (hashing them again when it is not). */
export async function catchUp(h: RunningHash, file: string, have: number): Promise<void> {
  if (h.bytes === have) {
    return;
  }
  h.hash = createHash('sha256');
  h.bytes = 0;
  if (have > 0) {
    for await (const chunk of fs.createReadStream(file, { start: 0, end: have - 1, highWaterMark: TRANSFER_CHUNK })) {
      h.hash.update(chunk as Buffer);
      h.bytes += (chunk as Buffer).length;
    }
  }
}

/**
 * Sends new content without hashing it first: the bytes are hashed as they are read and sent under
 * an upload id, the lab hashes them as they arrive, and the upload is finished with the sha256 the
 * sender computed (the lab stores the content only when its own hash is the same). Resumed from the
 * bytes the lab holds after a dropped connection or a restart of the lab.
 */
async function uploadNew(
  client: ApiClient,
  file: string,
  size: number,
  options: TransferOptions,
): Promise<{ sha256: string; sent: number }> {
  const id = randomBytes(16).toString('hex');
  const hash: RunningHash = { hash: createHash('sha256'), bytes: 0 };
  let sent = 0;
  let held = 0;
  const report = () => options.onProgress?.(Math.min(size, held), size);
  const url = (offset: number) =>
    urlOf(blobRoutes.putUpload.path, { id }, { offset: String(offset), size: String(size) });
  await withRetries(
    options,
    async () => {
      const busy = new BusyWait();
      for (;;) {
        const state: IdUploadState = held === 0 && sent === 0 ? { id, received: 0 } : await client.idUploadState(id);
        held = state.received;
        report();
        if (held === size) {
          return;
        }
        await catchUp(hash, file, held);
        const answer = await putFrom<IdUploadState>(
          client,
          url(held),
          file,
          size,
          held,
          (chunk) => {
            hash.hash.update(chunk);
            hash.bytes += chunk.length;
            sent += chunk.length;
            held += chunk.length;
            report();
          },
          options.signal,
        );
        held = answer.state.received;
        if (answer.status === 409) {
          await busy.next(held);
        }
      }
    },
    () => held,
  );
  await catchUp(hash, file, size);
  const sha256 = hash.hash.digest('hex');
  await withRetries(
    options,
    () => client.finishUpload(id, { sha256, size }),
    () => held,
  );
  return { sha256, sent };
}

/**
 * Sends a file to the lab as a blob: the way that costs least. When its sha256 is known (recorded by
 * an earlier send of the same unchanged file) or cheap (a small file), the lab is asked first and
 * nothing is sent for content it holds; a new big file is sent at once, hashed on the way. Resolves
 * once the lab stored the content, its sha256 checked on both sides.
 */
export async function sendFile(
  client: ApiClient,
  file: string,
  options: TransferOptions & { readonly cache?: HashCache } = {},
): Promise<SentBlob> {
  const cache = options.cache ?? new HashCache();
  const stamp = stampOf(file);
  const size = fs.statSync(file).size;
  let sha256 = cache.lookup(file);
  if (sha256 === undefined && size <= HASH_FIRST_BYTES) {
    sha256 = (await hashFile(file)).sha256;
  }
  if (sha256 !== undefined) {
    const done = await uploadBlob(client, file, { sha256, size }, options);
    if (stamp) {
      cache.remember(file, stamp, sha256);
    }
    return { sha256, size, ...done };
  }
  const done = await uploadNew(client, file, size, options);
  if (stamp && stamp === stampOf(file)) {
    cache.remember(file, stamp, done.sha256);
  }
  return { sha256: done.sha256, size, deduplicated: false, sent: done.sent };
}

import * as fs from 'fs';
import type * as http from 'http';
import type { ApiClient } from './api-client';
import { cancelledError, TRANSFER_CHUNK, transferFailure } from './transfer';

/** A request's body: bytes in memory, or the bytes [start, end) of a file, streamed in large reads. */
export type RawBody = Buffer | { readonly file: string; readonly start: number; readonly end: number };

export interface RawBodyRequest {
  readonly method: string;
  /** the path and query */
  readonly url: string;
  /** the body's content type (none without a body) */
  readonly type?: string;
  readonly body?: RawBody;
  /** statuses besides 2xx whose JSON answer resolves too (409: the state to go on from) */
  readonly alsoOk?: readonly number[];
  /** each chunk of a file as it goes out (to hash what is sent on the way) */
  readonly onChunk?: (chunk: Buffer) => void;
  readonly signal?: AbortSignal;
}

/** No byte either way for this long: the request fails as timed out (a lab that stopped answering). */
const IDLE_MS = 60_000;

/**
 * One request with a raw body (the uploads of runs and blobs): resolves with the status and parsed
 * answer of a success (or of a status in `alsoOk`); rejects with a BackendError saying why otherwise
 * (status 0 when the connection failed or went idle, code "cancelled" when `signal` aborted it).
 */
export function sendBody(client: ApiClient, request: RawBodyRequest): Promise<{ status: number; body: unknown }> {
  const { method, url, body, signal } = request;
  const size = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : body.end - body.start;
  const headers: http.OutgoingHttpHeaders =
    body === undefined ? {} : { 'content-type': request.type, 'content-length': size };
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelledError()); // cancelled before it started
      return;
    }
    const source =
      body === undefined || Buffer.isBuffer(body) || size === 0
        ? undefined
        : fs.createReadStream(body.file, { start: body.start, end: body.end - 1, highWaterMark: TRANSFER_CHUNK });
    const req = client.rawRequest(method, url, headers, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => reject(client.transportError(e)));
      res.on('end', () => {
        source?.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if ((status >= 200 && status < 300) || request.alsoOk?.includes(status)) {
          try {
            resolve({ status, body: text ? JSON.parse(text) : undefined });
            return;
          } catch {
            // not the lab's JSON: said by errorAnswer
          }
        }
        reject(client.errorAnswer(method, url.split('?')[0], res, text));
      });
    });
    // the body goes in large writes: no small segment waits for an acknowledgement
    req.on('socket', (socket) => socket.setNoDelay(true));
    req.setTimeout(IDLE_MS, () => {
      const error: NodeJS.ErrnoException = new Error(`no answer within ${IDLE_MS / 1000} s`);
      error.code = 'ETIMEDOUT';
      req.destroy(error);
    });
    const onAbort = () => req.destroy(new Error('cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', (e) => {
      source?.destroy();
      reject(transferFailure(signal, (x) => client.transportError(x), e));
    });
    if (source === undefined) {
      req.end(Buffer.isBuffer(body) ? body : undefined);
      return;
    }
    if (request.onChunk) {
      const onChunk = request.onChunk;
      source.on('data', (chunk) => onChunk(chunk as Buffer));
    }
    source.on('error', (e) => req.destroy(e));
    source.pipe(req);
  });
}

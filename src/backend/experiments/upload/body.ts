import type { Hash } from 'crypto';
import type { FastifyInstance } from 'fastify';
import * as fs from 'fs';
import type { Readable } from 'stream';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';
import { ApiError } from '../../errors';

/**
 * The upload routes take their body as it comes (see `streamedScope`): a stream, or undefined when
 * the request has none.
 */
export type RawBody = Readable | undefined;

function tooLarge(what: string, max: number): ApiError {
  return new ApiError(413, 'body_too_large', `${what} is larger than ${max} bytes: send at most that much at once.`);
}

/**
 * Registers routes in a fastify scope of their own where every body comes as a stream (raw bytes,
 * or JSON bigger than the API's limit): each handler reads it with its own bound, and the other
 * routes keep their JSON-only parsing.
 */
export function streamedScope(app: FastifyInstance, routes: (scope: FastifyInstance) => void): void {
  void app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    routes(scope);
  });
}

/** The declared length of a request (Content-Length), or undefined. */
export function declaredLength(header: string | undefined): number | undefined {
  const n = header === undefined ? NaN : Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Reads a whole body of at most `max` bytes (refused with 413 as soon as it is known to be bigger). */
export async function readBounded(body: RawBody, max: number, what: string, length?: number): Promise<Buffer> {
  if (length !== undefined && length > max) {
    throw tooLarge(what, max);
  }
  if (body === undefined) {
    return Buffer.alloc(0);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    total += buffer.length;
    if (total > max) {
      throw tooLarge(what, max);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Streams a body into `file` (`wx`: a new file; `a`: appended to what it holds), feeding each chunk
 * to `hash` before it is written, then syncs the file. More than `max` bytes fail with
 * `tooBig()` before the chunk that goes over is written. Returns the bytes written.
 */
export async function writeHashed(
  body: RawBody,
  file: string,
  options: {
    readonly flags: 'wx' | 'a';
    readonly hash: Hash;
    readonly max: number;
    readonly tooBig: () => Error;
    /** bytes the file stream buffers before it holds the body back (written together, in fewer calls) */
    readonly highWaterMark?: number;
  },
): Promise<number> {
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > options.max) {
        done(options.tooBig());
        return;
      }
      options.hash.update(chunk);
      done(null, chunk);
    },
  });
  const out = fs.createWriteStream(file, {
    flags: options.flags,
    mode: 0o600,
    ...(options.highWaterMark ? { highWaterMark: options.highWaterMark } : {}),
  });
  if (body === undefined) {
    out.end();
    await new Promise<void>((resolve, reject) => out.once('close', resolve).once('error', reject));
  } else {
    await pipeline(body, tap, out);
  }
  await syncFile(file);
  return size;
}

/**
 * fsync of a file or a folder (a rename or create in it made durable) off the event loop: a lab
 * receiving many runs at once keeps answering while the disk syncs.
 */
export async function syncFile(file: string): Promise<void> {
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

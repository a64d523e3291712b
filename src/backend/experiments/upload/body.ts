import type { Readable } from 'stream';
import { ApiError } from '../../errors';

/**
 * The upload routes take their body as it comes (see routes.ts): a stream, or undefined when the
 * request has none.
 */
export type RawBody = Readable | undefined;

function tooLarge(what: string, max: number): ApiError {
  return new ApiError(413, 'body_too_large', `${what} is larger than ${max} bytes: send at most that much at once.`);
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

import type { FastifyReply, FastifyRequest } from 'fastify';
import * as fs from 'fs';
import { pipeline } from 'stream/promises';

/** What a GET of content answers (RFC 9110, section 14): all of it, one range, or 416. */
export type RangeChoice =
  | { readonly kind: 'whole' }
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

/** A Range header longer than this, or with more ranges, is ignored (the whole content is sent). */
const MAX_RANGE_HEADER = 1000;
const MAX_RANGES = 50;

/**
 * Chooses the answer to `Range` and `If-Range` for content of `size` bytes whose strong entity tag is
 * `etag` (quoted). Ignored, as RFC 9110 allows, so that the whole content is sent: a Range of another
 * unit or not well formed, an If-Range that does not match by strong comparison (a weak tag or a
 * date never does: no Last-Modified is sent), and several satisfiable ranges (a client resuming
 * asks for one; a multipart answer is not worth its cost here). No satisfiable range: 416.
 */
export function chooseRange(
  range: string | undefined,
  ifRange: string | undefined,
  size: number,
  etag: string,
): RangeChoice {
  if (range === undefined || range.length > MAX_RANGE_HEADER) {
    return { kind: 'whole' };
  }
  if (ifRange !== undefined && ifRange.trim() !== etag) {
    return { kind: 'whole' };
  }
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(range);
  if (!m) {
    return { kind: 'whole' };
  }
  const specs = m[1].split(',').map((s) => s.trim());
  if (specs.length > MAX_RANGES) {
    return { kind: 'whole' };
  }
  const satisfiable: { start: number; end: number }[] = [];
  for (const spec of specs) {
    if (spec === '') {
      continue; // RFC 9110 list rules: empty elements are allowed and ignored
    }
    const r = /^([0-9]{1,15})?-([0-9]{1,15})?$/.exec(spec);
    if (!r || (r[1] === undefined && r[2] === undefined)) {
      return { kind: 'whole' };
    }
    if (r[1] === undefined) {
      const suffix = Number(r[2]);
      if (suffix > 0 && size > 0) {
        satisfiable.push({ start: Math.max(0, size - suffix), end: size - 1 });
      }
      continue;
    }
    const first = Number(r[1]);
    const last = r[2] === undefined ? Infinity : Number(r[2]);
    if (last < first) {
      return { kind: 'whole' };
    }
    if (first < size) {
      satisfiable.push({ start: first, end: Math.min(last, size - 1) });
    }
  }
  if (satisfiable.length === 0) {
    return specs.some((s) => s !== '') ? { kind: 'unsatisfiable' } : { kind: 'whole' };
  }
  return satisfiable.length === 1 ? { kind: 'range', ...satisfiable[0] } : { kind: 'whole' };
}

/** A stored file to answer with: its path, sha256 (its entity tag), size, type and name. */
export interface ServedFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly mediaType: string;
  readonly fileName: string;
}

/**
 * Answers a GET (or HEAD) of stored content: 200 with all of it, 206 with the range asked for, or 416;
 * `ETag` is the sha256, so a client resuming with `If-Range` never gets bytes of other content.
 */
export function sendContent(request: FastifyRequest, reply: FastifyReply, file: ServedFile): void {
  const etag = `"${file.sha256}"`;
  const header = (name: string) => {
    const v = request.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const headers: Record<string, string> = {
    'accept-ranges': 'bytes',
    etag,
    'cache-control': 'private, no-transform',
    'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(file.fileName)}`,
  };
  const choice = chooseRange(header('range'), header('if-range'), file.size, etag);
  if (choice.kind === 'unsatisfiable') {
    void reply
      .code(416)
      .headers({ ...headers, 'content-range': `bytes */${file.size}` })
      .send({
        error: {
          code: 'range_not_satisfiable',
          message: `The range asked for (${String(header('range')).slice(0, 100)}) is outside the content's ${file.size} bytes.`,
        },
      });
    return;
  }
  const start = choice.kind === 'range' ? choice.start : 0;
  const end = choice.kind === 'range' ? choice.end : file.size - 1;
  headers['content-type'] = file.mediaType;
  headers['content-length'] = String(end - start + 1);
  if (choice.kind === 'range') {
    headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
  }
  // written by hand: fastify would answer a streamed reply again once the handler returns
  void reply.hijack();
  reply.raw.writeHead(choice.kind === 'range' ? 206 : 200, headers);
  if (request.method === 'HEAD' || end < start) {
    reply.raw.end();
    return;
  }
  // large reads: fewer system calls and larger TLS writes
  const content = fs.createReadStream(file.path, { start, end, highWaterMark: 4 * 1024 * 1024 });
  // a client that goes away ends the pipeline with an error: nothing to report
  pipeline(content, reply.raw).catch(() => content.destroy());
}

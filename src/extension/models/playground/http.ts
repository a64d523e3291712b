/**
 * The playground's HTTP calls to model services: always to 127.0.0.1 (where services publish their
 * ports), with a timeout, and with failures turned into sentences a person can act on.
 */
import * as http from 'http';
import { performance } from 'perf_hooks';
import { compactJson } from './encode';

/** The default time a service has to answer. */
export const REQUEST_TIMEOUT_MS = 15_000;
/** Answers bigger than this are cut (the playground shows them; it is not a download tool). */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

export interface HttpAnswer {
  /** the HTTP status, or null when no answer came */
  readonly status: number | null;
  /** the body as received, or '' */
  readonly text: string;
  /** from sending the request to the end of the answer; null without an answer */
  readonly latencyMs: number | null;
  /** set when no (complete) answer came: why, in words */
  readonly error: string | null;
}

export interface RequestOptions {
  readonly port: number;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  readonly timeoutMs?: number;
}

function explain(e: NodeJS.ErrnoException, port: number, timeoutMs: number): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return `nothing listens on 127.0.0.1:${port}: is the service running?`;
    case 'ECONNRESET':
      return `the service closed the connection on 127.0.0.1:${port} before answering`;
    case 'ETIMEDOUT':
      return `no answer from 127.0.0.1:${port} within ${timeoutMs / 1000} s`;
    default:
      return e.message;
  }
}

/** One HTTP request to 127.0.0.1:`port`; never rejects (failures come back in `error`). */
export function request(options: RequestOptions): Promise<HttpAnswer> {
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  return new Promise((resolve) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body, 'utf8');
    const start = performance.now();
    let settled = false;
    const done = (answer: HttpAnswer) => {
      if (!settled) {
        settled = true;
        resolve(answer);
      }
    };
    const req = http.request(
      {
        host: '127.0.0.1',
        port: options.port,
        method: options.method,
        path: options.path,
        agent: false,
        headers: body
          ? { 'Content-Type': 'application/json', 'Content-Length': body.length, Accept: 'application/json' }
          : { Accept: 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        let cut = false;
        res.on('data', (c: Buffer) => {
          if (bytes < MAX_ANSWER_BYTES) {
            chunks.push(c);
          } else {
            cut = true;
          }
          bytes += c.length;
        });
        res.on('end', () => {
          const latencyMs = Math.round((performance.now() - start) * 10) / 10;
          const text = Buffer.concat(chunks).toString('utf8');
          done({
            status: res.statusCode ?? null,
            text: cut ? `${text}\n… (cut: the answer has ${bytes} bytes)` : text,
            latencyMs,
            error: null,
          });
        });
        res.on('error', (e) => done({ status: res.statusCode ?? null, text: '', latencyMs: null, error: e.message }));
      },
    );
    req.setTimeout(timeoutMs, () => {
      req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    });
    req.on('error', (e: NodeJS.ErrnoException) =>
      done({ status: null, text: '', latencyMs: null, error: explain(e, options.port, timeoutMs) }),
    );
    req.end(body);
  });
}

/** The body pretty-printed when it is JSON, else as received. */
export function prettyBody(text: string): string {
  try {
    return compactJson(JSON.parse(text));
  } catch {
    return text;
  }
}

/** The reason a model server gave for a failed request ({"error": {"message": ...}}), or a generic one. */
export function errorReason(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const message =
      typeof body.error === 'string'
        ? body.error
        : typeof body.error?.message === 'string'
          ? body.error.message
          : typeof body.message === 'string'
            ? body.message
            : undefined;
    if (message) {
      return `${status}: ${message}`;
    }
  } catch {
    // not JSON: the status says it
  }
  return `${status}: ${http.STATUS_CODES[status] ?? 'error'}`;
}

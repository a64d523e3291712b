import { BackendError } from './api-client';

/** Bytes sent or received so far of `total`. */
export type TransferProgress = (bytes: number, total: number) => void;

/** Options of a transfer that resumes after a dropped connection. */
export interface TransferOptions {
  readonly onProgress?: TransferProgress;
  readonly signal?: AbortSignal;
  /** connection failures in a row (without a byte of progress between them) before giving up; default 8 */
  readonly retries?: number;
}

/**
 * Reads of a file sent and writes of a file fetched: large, so that a transfer costs few system
 * calls and few TLS writes (the kernel and TLS split them as they need).
 */
export const TRANSFER_CHUNK = 4 * 1024 * 1024;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A failure worth another try: no answer, or the lab busy or behind a proxy that lost it. */
function retryable(e: unknown): boolean {
  return e instanceof BackendError && (e.status === 0 || e.status === 502 || e.status === 503 || e.status === 504)
    ? e.code !== 'cancelled' && !e.code.startsWith('tls_')
    : false;
}

/** Runs one attempt after another while they fail for the network, waiting longer each time. */
export async function withRetries<T>(
  options: TransferOptions,
  attempt: () => Promise<T>,
  progressed: () => number,
): Promise<T> {
  const retries = options.retries ?? 8;
  let failures = 0;
  let last = progressed();
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      return await attempt();
    } catch (e) {
      const now = progressed();
      failures = now > last ? 1 : failures + 1;
      last = now;
      if (!retryable(e) || failures > retries || options.signal?.aborted) {
        throw e;
      }
      await sleep(Math.min(5000, 100 * 2 ** failures));
    }
  }
}

/** The error of a transfer the person cancelled. */
export function cancelledError(): BackendError {
  return new BackendError(0, 'cancelled', 'Cancelled.');
}

/** The error of a transfer that failed: "cancelled" when the person cancelled it. */
export function transferFailure(
  signal: AbortSignal | undefined,
  transportError: (e: NodeJS.ErrnoException) => BackendError,
  e: NodeJS.ErrnoException,
): BackendError {
  return signal?.aborted ? cancelledError() : transportError(e);
}

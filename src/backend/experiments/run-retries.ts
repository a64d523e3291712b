import type { Logger } from '../log';

/** runs that failed for want of a descriptor (EMFILE) are retried after this; other errors back off */
export const RETRY_MS = 1000;
const RETRY_MAX_MS = 30_000;

/** The descriptors of the process are used up: nothing is wrong with the run. */
export function descriptorsExhausted(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EMFILE' || code === 'ENFILE';
}

/**
 * The runs whose pass failed, to pass again later (never dropped): after RETRY_MS, doubling up to
 * RETRY_MAX_MS for errors of the run, every RETRY_MS for EMFILE (descriptors free up as soon as
 * whoever holds them is done). Each failure is logged once, not once per retry.
 */
export class RunRetries {
  /** runs to retry, with the delay of their next failure */
  private readonly delays = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private exhausted = { count: 0, logged: false };
  /** the last error logged, by run id */
  private readonly failures = new Map<string, string>();

  /** `retry` queues a run for its next pass. */
  constructor(
    private readonly log: Logger,
    private readonly retry: (id: string) => void,
  ) {}

  get size(): number {
    return this.delays.size;
  }

  has(id: string): boolean {
    return this.delays.has(id);
  }

  /** The run is gone: no retry. */
  delete(id: string): void {
    this.delays.delete(id);
  }

  /** The run's pass was committed: no retry, and a line if its failure was logged. */
  succeeded(id: string): void {
    this.delays.delete(id);
    if (this.failures.delete(id)) {
      this.log.info(`experiments: run ${id}: ingested after all`);
    }
  }

  /** A run whose pass failed: retried after RETRY_MS, doubling up to RETRY_MAX_MS; logged once. */
  failed(id: string, e: unknown): void {
    // descriptors free up as soon as whoever holds them is done: retried soon, again and again;
    // other errors (EIO, EACCES...) back off
    const exhausted = descriptorsExhausted(e);
    const delay = exhausted ? RETRY_MS : (this.delays.get(id) ?? RETRY_MS);
    this.delays.set(id, exhausted ? RETRY_MS : Math.min(delay * 2, RETRY_MAX_MS));
    if (exhausted) {
      this.noteExhausted();
    } else {
      const message = (e as Error).message;
      if (this.failures.get(id) !== message) {
        this.failures.set(id, message);
        this.log.error(`experiments: run ${id}: ingest failed (${message}); it is retried`);
      }
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        for (const rid of this.delays.keys()) {
          this.retry(rid);
        }
      }, delay);
      this.timer.unref();
    }
  }

  /** The process ran out of descriptors: said once until the wave ends (see `waveEnded`). */
  noteExhausted(): void {
    this.exhausted.count++;
    if (!this.exhausted.logged) {
      this.exhausted.logged = true;
      this.log.warn(
        'experiments: the process has no file descriptor left (EMFILE): the runs concerned are retried in a moment',
      );
    }
  }

  waveEnded(): void {
    this.exhausted = { count: 0, logged: false };
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

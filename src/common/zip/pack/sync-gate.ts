import { performance } from 'perf_hooks';

/** a stat or small read slower than this (from the page cache they take microseconds) is slow */
const SLOW_CALL_MS = 1;
/** slow calls tolerated before going async (more if they are under 1% of the calls): on a fast
 * file system a call is sometimes slow only because the process was descheduled */
const SLOW_CALLS_ALLOWED = 8;
/** the longest the event loop is held by synchronous calls before it gets a turn */
const SLICE_MS = 10;

/**
 * Decides when small file system calls are made synchronously. Each asynchronous call goes through
 * libuv's thread pool: for a tiny file the hand-offs (about 20 futex calls per file, measured with
 * strace) cost ten times the read itself, which made 70,000 tiny files take 8x the time of `zip -r`.
 * Synchronous calls are used while they are fast, in slices that give the event loop a turn every
 * 10 ms; after a few slow calls (a network or spinning disk, where the thread pool's parallel
 * requests win, and which would hold the event loop) everything goes async.
 */
export class SyncGate {
  private calls = 0;
  private slowCalls = 0;
  private sliceStart = performance.now();

  get open(): boolean {
    return this.slowCalls <= SLOW_CALLS_ALLOWED || this.slowCalls * 100 <= this.calls;
  }

  /** Runs a small call (a stat, a small read) synchronously, noting whether the file system is slow. */
  run<T>(call: () => T): T {
    const t0 = performance.now();
    this.calls++;
    try {
      return call();
    } finally {
      if (performance.now() - t0 > SLOW_CALL_MS) {
        this.slowCalls++;
      }
    }
  }

  /** Lets the event loop run when the current slice of synchronous work is used up. */
  async yieldIfDue(): Promise<void> {
    if (performance.now() - this.sliceStart > SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      this.sliceStart = performance.now();
    }
  }
}

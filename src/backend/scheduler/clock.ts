/** Time as the scheduler sees it: real in the backend, fake in tests (fires timers on `advance`). */
export interface Clock {
  now(): number;
  /** calls `fn` once `at` (ms since the epoch) has come; returns a cancel function */
  at(at: number, fn: () => void): () => void;
}

/** Node's setTimeout cannot wait more than about 24.8 days: longer waits are re-armed in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export const realClock: Clock = {
  now: () => Date.now(),
  at(at, fn) {
    let timer: NodeJS.Timeout;
    const arm = () => {
      const delay = at - Date.now();
      if (delay > MAX_DELAY_MS) {
        timer = setTimeout(arm, MAX_DELAY_MS);
      } else {
        timer = setTimeout(fn, Math.max(0, delay));
      }
      // a schedule alone does not keep a process alive (the backend's HTTP server does)
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  },
};

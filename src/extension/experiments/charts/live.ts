import type { AppendMessage } from '../../../protocol/webviews/metric-charts';

/** How often live points reach the page at most: a few posts per second keep a chart fluid and cheap. */
export const LIVE_POST_INTERVAL_MS = 250;

interface Pending {
  readonly runId: string;
  readonly key: string;
  readonly steps: number[];
  readonly times: number[];
  readonly values: (number | null)[];
}

/**
 * Collects the live points of running runs (backend `metricPoints` events, which may arrive hundreds
 * of times per second) and hands them over in one batch every LIVE_POST_INTERVAL_MS at most.
 */
export class LiveBatcher {
  private pending = new Map<string, Pending>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly flush: (points: AppendMessage['points']) => void,
    private readonly intervalMs = LIVE_POST_INTERVAL_MS,
  ) {}

  /** Adds points of one run and key, with the times they were logged at (unix ms). */
  add(
    runId: string,
    key: string,
    steps: readonly number[],
    values: readonly (number | null)[],
    times: readonly number[],
  ): void {
    const k = `${runId}\u0000${key}`;
    let p = this.pending.get(k);
    if (!p) {
      p = { runId, key, steps: [], times: [], values: [] };
      this.pending.set(k, p);
    }
    for (let i = 0; i < steps.length; i++) {
      p.steps.push(steps[i]);
      p.times.push(times[i]);
      p.values.push(values[i] ?? null);
    }
    this.timer ??= setTimeout(() => this.drain(), this.intervalMs);
  }

  /** Drops what is pending (the runs shown changed). */
  reset(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = new Map();
  }

  dispose(): void {
    this.reset();
  }

  private drain(): void {
    this.timer = undefined;
    const points = [...this.pending.values()].map((p) => ({
      runId: p.runId,
      key: p.key,
      steps: Float64Array.from(p.steps),
      times: Float64Array.from(p.times),
      values: Float64Array.from(p.values, (v) => v ?? NaN), // the event does not say which non-finite value
    }));
    this.pending = new Map();
    if (points.length > 0) {
      this.flush(points);
    }
  }
}

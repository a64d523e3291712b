import type { MetricSeries } from '../../../protocol/experiments';
import type { ChartSeries } from '../../../protocol/webviews/metric-charts';

/** Fetches one run's series of one key (the backend's GET /api/experiments/:id/metrics/:key). */
export type FetchSeries = (
  runId: string,
  key: string,
  options: { maxPoints?: number; from?: number; to?: number },
) => Promise<MetricSeries>;

/** Requests to the backend in flight at once: enough to hide latency, few enough to keep it responsive. */
const CONCURRENCY = 8;

interface Cached {
  /** the maxPoints the series was fetched with (Infinity = every point) */
  readonly maxPoints: number;
  series: ChartSeries;
}

const cacheKey = (runId: string, key: string) => `${runId}\u0000${key}`;

const SPECIAL = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity } as const;

/** The API's series (JSON: non-finite values are null, their kinds listed apart) as float64 arrays. */
export function toChartSeries(runId: string, s: MetricSeries): ChartSeries {
  const values = new Float64Array(s.values.length);
  for (let i = 0; i < values.length; i++) {
    values[i] = s.values[i] ?? NaN;
  }
  for (const x of s.special) {
    values[x.index] = SPECIAL[x.value];
  }
  return {
    runId,
    key: s.key,
    steps: Float64Array.from(s.steps),
    times: Float64Array.from(s.times),
    values,
    total: s.total,
  };
}

function concat(a: Float64Array, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Loads downsampled series for (run, key) pairs, several requests at once, and caches them by run
 * and key: a series fetched with at least the points asked for is served from the cache. Live points
 * are appended to cached series so that a page reloaded after being hidden gets them too.
 */
export class SeriesLoader {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<ChartSeries | undefined>>();
  private active = 0;
  private readonly queue: (() => void)[] = [];
  /** bumped by `clear()`: answers of requests made before are dropped */
  private generation = 0;

  constructor(private readonly fetchSeries: FetchSeries) {}

  /** Every cached series, for a page that (re)loads. */
  cached(): ChartSeries[] {
    return [...this.cache.values()].map((c) => c.series);
  }

  clear(): void {
    this.cache.clear();
    this.inFlight.clear();
    this.generation++;
  }

  forgetRun(runId: string): void {
    for (const k of [...this.cache.keys()]) {
      if (k.startsWith(`${runId}\u0000`)) {
        this.cache.delete(k);
      }
    }
  }

  /**
   * The series of every (run, key) pair at up to `maxPoints` points each. A run without the key, or
   * whose request fails (e.g. deleted meanwhile), is left out.
   */
  async load(runIds: readonly string[], keys: readonly string[], maxPoints: number): Promise<ChartSeries[]> {
    const jobs: Promise<ChartSeries | undefined>[] = [];
    for (const key of keys) {
      for (const runId of runIds) {
        jobs.push(this.one(runId, key, maxPoints));
      }
    }
    return (await Promise.all(jobs)).filter((s): s is ChartSeries => s !== undefined);
  }

  /** A step range at full detail, downsampled only beyond `maxPoints`; not cached. */
  async range(
    runIds: readonly string[],
    key: string,
    from: number,
    to: number,
    maxPoints: number,
  ): Promise<ChartSeries[]> {
    const jobs = runIds.map((runId) =>
      this.limited(() => this.fetchSeries(runId, key, { maxPoints, from, to })).then(
        (s) => toChartSeries(runId, s),
        () => undefined,
      ),
    );
    return (await Promise.all(jobs)).filter((s): s is ChartSeries => s !== undefined);
  }

  /** Appends live points to a cached series (a key not loaded yet is fetched when the page asks). */
  append(runId: string, key: string, steps: Float64Array, times: Float64Array, values: Float64Array): void {
    const c = this.cache.get(cacheKey(runId, key));
    if (!c) {
      return;
    }
    const s = c.series;
    c.series = {
      ...s,
      steps: concat(s.steps, steps),
      times: concat(s.times, times),
      values: concat(s.values, values),
      total: s.total + steps.length,
    };
  }

  private one(runId: string, key: string, maxPoints: number): Promise<ChartSeries | undefined> {
    const k = cacheKey(runId, key);
    const cached = this.cache.get(k);
    if (cached && (cached.maxPoints >= maxPoints || cached.series.total <= cached.series.steps.length)) {
      return Promise.resolve(cached.series);
    }
    const pending = this.inFlight.get(k);
    if (pending) {
      return pending;
    }
    const generation = this.generation;
    const request = this.limited(() => this.fetchSeries(runId, key, { maxPoints })).then(
      (s) => {
        const series = toChartSeries(runId, s);
        if (generation === this.generation) {
          this.cache.set(k, { maxPoints, series });
          this.inFlight.delete(k);
        }
        return series;
      },
      () => {
        if (generation === this.generation) {
          this.inFlight.delete(k);
        }
        return undefined; // no such key in this run, or the run is gone
      },
    );
    this.inFlight.set(k, request);
    return request;
  }

  private async limited<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= CONCURRENCY) {
      await new Promise<void>((resolve) => this.queue.push(resolve)); // a finishing task hands over its slot
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) {
        next();
      } else {
        this.active--;
      }
    }
  }
}

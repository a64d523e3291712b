/**
 * Pure data helpers of the metric charts (no DOM): smoothing, the x values of each axis mode, the
 * alignment of several runs onto the one shared x array uPlot draws, and merging a zoom's full-detail
 * points into the overview. Unit-tested in test/unit/metric-charts-data.test.ts.
 */
import type { XAxisMode } from '../../src/protocol/webviews/metric-charts';
import { sameValues } from '../common/arrays';

/** One run's points of one key, as the webview keeps them (the arrays of a ChartSeries). */
export interface RunPoints {
  readonly steps: ArrayLike<number>;
  /** unix ms */
  readonly times: ArrayLike<number>;
  /** NaN and ±Infinity as logged: gaps in the line */
  readonly values: ArrayLike<number>;
  readonly total: number;
}

/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not pulled towards
 * zero). `weight` 0 returns the values unchanged; a gap (null) stays a gap and does not reset the average.
 */
export function ema(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight > 0)) {
    return [...values];
  }
  const out = new Array<number | null>(values.length);
  let last = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    n++;
    out[i] = last / (1 - Math.pow(weight, n));
  }
  return out;
}

/** The x values of a run's points for an axis mode: steps, wall time (unix s) or seconds since start. */
export function xValues(points: RunPoints, mode: XAxisMode, startedAt: number): ArrayLike<number> {
  if (mode === 'step') {
    return points.steps;
  }
  const zero = mode === 'wall' ? 0 : Number.isFinite(startedAt) ? startedAt : (points.times[0] ?? 0);
  return Float64Array.from(points.times, (t) => (t - zero) / 1000);
}

/**
 * Several runs' (x, y[]) columns aligned onto one ascending x array, as uPlot needs: a run without a
 * point at some x gets `undefined` there (uPlot draws across it), while a null value stays null (uPlot
 * draws a gap: a NaN period). Each run may carry several y columns (raw and smoothed) sharing its x.
 * When the union of x values is more than twice `maxColumns` and the longest run (runs logged at
 * different times, in a time mode), x values are snapped to a grid of that many cells so the data
 * stays proportional to the pixels.
 * A cell where a run has several points keeps the value furthest from that run's previous one, so a
 * spike survives.
 */
export function alignRuns(
  runs: readonly { readonly x: ArrayLike<number>; readonly ys: readonly (readonly (number | null)[])[] }[],
  maxColumns = Infinity,
): (number | null | undefined)[][] {
  if (runs.length === 0) {
    return [[]];
  }
  let xs = unionSorted(runs.map((r) => r.x));
  let snap: ((x: number) => number) | undefined;
  // never coarser than the longest run: the points of one run are never merged by the alignment
  const longest = runs.reduce((n, r) => Math.max(n, r.x.length), 0);
  const cells = Math.max(maxColumns, longest);
  if (xs.length > 2 * cells) {
    const min = xs[0];
    const width = (xs[xs.length - 1] - min) / Math.max(1, cells - 1);
    const grid = (x: number) => min + Math.round((x - min) / width) * width;
    snap = grid;
    xs = unionSorted(runs.map((r) => Float64Array.from(r.x, grid)));
  }
  const index = new Map<number, number>();
  xs.forEach((x, i) => index.set(x, i));
  const out: (number | null | undefined)[][] = [xs];
  for (const run of runs) {
    const same = !snap && sameValues(run.x, xs);
    for (const y of run.ys) {
      if (same) {
        out.push(y as (number | null)[]); // the common case, every run logged the same steps: no copy
        continue;
      }
      const column = new Array<number | null | undefined>(xs.length).fill(undefined);
      let cell = -1;
      let previous: number | null | undefined; // the value kept in the run's previous cell
      for (let i = 0; i < run.x.length; i++) {
        const at = index.get(snap ? snap(run.x[i]) : run.x[i])!;
        if (at !== cell) {
          previous = cell >= 0 ? column[cell] : undefined;
          cell = at;
        }
        const v = y[i] ?? null;
        const there = column[at];
        if (
          there === undefined ||
          (there !== null &&
            (v === null || (typeof previous === 'number' && Math.abs(v - previous) > Math.abs(there - previous))))
        ) {
          column[at] = v; // a NaN wins its cell (the gap stays visible), then the value furthest from before
        }
      }
      out.push(column);
    }
  }
  return out;
}

function unionSorted(columns: readonly ArrayLike<number>[]): number[] {
  const first = columns[0];
  if (isAscending(first) && columns.every((c) => c === first || sameValues(c, first))) {
    return dedupeSorted(first);
  }
  const all = new Float64Array(columns.reduce((n, c) => n + c.length, 0));
  let k = 0;
  for (const c of columns) {
    for (let i = 0; i < c.length; i++) {
      all[k++] = c[i];
    }
  }
  all.sort();
  return dedupeSorted(all);
}

function isAscending(xs: ArrayLike<number>): boolean {
  for (let i = 1; i < xs.length; i++) {
    if (!(xs[i] >= xs[i - 1])) {
      return false;
    }
  }
  return true;
}

function dedupeSorted(xs: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (Number.isFinite(x) && (out.length === 0 || x !== out[out.length - 1])) {
      out.push(x);
    }
  }
  return out;
}

/** The value of a column nearest to position `i` (looking both ways), for the crosshair tooltip. */
export function valueNear(column: readonly (number | null | undefined)[], i: number): number | null | undefined {
  if (column[i] !== undefined) {
    return column[i];
  }
  for (let d = 1; d < column.length; d++) {
    const left = column[i - d];
    const right = column[i + d];
    if (left !== undefined && i - d >= 0) {
      return left;
    }
    if (right !== undefined && i + d < column.length) {
      return right;
    }
    if (i - d < 0 && i + d >= column.length) {
      break;
    }
  }
  return undefined;
}

/**
 * The overview with the points of a zoomed step range replaced by their full-detail version: points
 * of the overview before `from` and after `to` are kept, so panning out still shows the whole run.
 */
export function mergeRange(overview: RunPoints | undefined, detail: RunPoints, from: number, to: number): RunPoints {
  if (!overview) {
    return detail;
  }
  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < overview.steps.length; i++) {
    const s = overview.steps[i];
    if (s < from) {
      before.push(i);
    } else if (s > to) {
      after.push(i);
    }
  }
  const n = before.length + detail.steps.length + after.length;
  const steps = new Float64Array(n);
  const times = new Float64Array(n);
  const values = new Float64Array(n);
  let k = 0;
  const push = (p: RunPoints, i: number) => {
    steps[k] = p.steps[i];
    times[k] = p.times[i];
    values[k++] = p.values[i];
  };
  before.forEach((i) => push(overview, i));
  for (let j = 0; j < detail.steps.length; j++) {
    push(detail, j);
  }
  after.forEach((i) => push(overview, i));
  return { steps, times, values, total: overview.total };
}

/** The steps whose x (in an axis mode) falls in [xMin, xMax], over every run: the step range of a zoom. */
export function stepRange(
  runs: readonly { readonly points: RunPoints; readonly x: ArrayLike<number> }[],
  xMin: number,
  xMax: number,
): { from: number; to: number } | undefined {
  let from = Infinity;
  let to = -Infinity;
  for (const { points, x } of runs) {
    for (let i = 0; i < x.length; i++) {
      if (x[i] >= xMin && x[i] <= xMax) {
        const s = points.steps[i];
        from = Math.min(from, s);
        to = Math.max(to, s);
      }
    }
  }
  return from <= to ? { from, to } : undefined;
}

/** "1 h 02 min", "3 min 05 s", "12.5 s"; compact for axis labels: "1h02m", "3m05s", "12.5s". */
export function formatDuration(seconds: number, compact = false): string {
  const sign = seconds < 0 ? '-' : '';
  const s = Math.abs(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) {
    const v = Number(s.toFixed(s < 10 ? 2 : 1));
    return compact ? `${sign}${v}s` : `${sign}${v} s`;
  }
  if (s < 3600) {
    const whole = Math.round(s);
    const [mm, ss] = [Math.floor(whole / 60), pad(whole % 60)];
    return compact ? `${sign}${mm}m${ss}s` : `${sign}${mm} min ${ss} s`;
  }
  const [hh, mm] = [Math.floor(s / 3600), pad(Math.floor((s % 3600) / 60))];
  return compact ? `${sign}${hh}h${mm}m` : `${sign}${hh} h ${mm} min`;
}

/** The name of a non-finite value. */
export function nonFiniteKind(v: number): string {
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/** Runs of consecutive non-finite values, for the "NaN for a while" notice. */
export function nonFinitePeriods(points: RunPoints): { from: number; to: number; count: number; kinds: string[] }[] {
  const out: { from: number; to: number; count: number; kinds: string[] }[] = [];
  let open = false;
  for (let i = 0; i < points.values.length; i++) {
    const v = points.values[i];
    if (Number.isFinite(v)) {
      open = false;
      continue;
    }
    const kind = nonFiniteKind(v);
    const last = out[out.length - 1];
    if (open && last) {
      last.to = points.steps[i];
      last.count++;
      if (!last.kinds.includes(kind)) {
        last.kinds.push(kind);
      }
    } else {
      out.push({ from: points.steps[i], to: points.steps[i], count: 1, kinds: [kind] });
      open = true;
    }
  }
  return out;
}

/** What the crosshair tooltip says of one run at the hovered x. */
export type ValueAt =
  /** a value at x, or interpolated between the run's points around x (null: a NaN period) */
  | { readonly kind: 'value'; readonly value: number | null; readonly interpolated: boolean }
  /** x is before the run's first point */
  | { readonly kind: 'before'; readonly firstX: number }
  /** x is after the run's last point */
  | { readonly kind: 'after'; readonly lastX: number }
  /** the run has no point */
  | { readonly kind: 'none' };

/**
 * A run's value at `x`, from its own points (`xs` ascending, `ys` null for a non-finite value): the
 * value logged at x, or the straight line between the points on both sides of x (a gap when either
 * is a gap), never the value of a point far away. Before its first or after its last point the run
 * has no value there, and says where it starts or ended.
 */
export function valueAt(xs: ArrayLike<number>, ys: ArrayLike<number | null | undefined>, x: number): ValueAt {
  const n = xs.length;
  if (n === 0) {
    return { kind: 'none' };
  }
  if (x < xs[0]) {
    return { kind: 'before', firstX: xs[0] };
  }
  if (x > xs[n - 1]) {
    return { kind: 'after', lastX: xs[n - 1] };
  }
  // the last index whose x is <= x
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (xs[mid] <= x) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  const y0 = ys[lo] ?? null;
  if (xs[lo] === x || lo === n - 1) {
    return { kind: 'value', value: y0, interpolated: false };
  }
  const y1 = ys[lo + 1] ?? null;
  if (y0 === null || y1 === null) {
    return { kind: 'value', value: null, interpolated: true };
  }
  const t = (x - xs[lo]) / (xs[lo + 1] - xs[lo]);
  return { kind: 'value', value: y0 + (y1 - y0) * t, interpolated: true };
}

import type { MetricSeries } from '../../protocol/experiments';
import { MetricFiles, POINT_FLOATS } from './metric-files';
import type { ExperimentRepository } from './repository';

export interface SeriesOptions {
  /** downsample to at most this many points (>= 2) */
  readonly maxPoints?: number;
  /** only steps in [from, to] */
  readonly from?: number;
  readonly to?: number;
}

type Special = 'NaN' | 'Infinity' | '-Infinity';

/** Reads a key's committed points, filters them by step and downsamples them for a chart. */
export function readSeries(
  repo: ExperimentRepository,
  files: MetricFiles,
  id: string,
  key: string,
  options: SeriesOptions = {},
): MetricSeries {
  repo.get(id); // a 404 for an unknown experiment before one for an unknown key
  const { index, count } = repo.keyOf(id, key);
  const data = files.read(id, index, count);
  const total = data.length / POINT_FLOATS;
  const from = options.from ?? -Infinity;
  const to = options.to ?? Infinity;
  // points in logged order (steps may repeat or go backwards: they are kept as logged)
  let selected: Int32Array | undefined;
  if (options.from !== undefined || options.to !== undefined) {
    const keep: number[] = [];
    for (let i = 0; i < total; i++) {
      const s = data[i * POINT_FLOATS];
      if (s >= from && s <= to) {
        keep.push(i);
      }
    }
    selected = Int32Array.from(keep);
  }
  const n = selected ? selected.length : total;
  const at = selected ? (i: number) => selected[i] : (i: number) => i;
  const max = options.maxPoints ?? Infinity;
  const picked = n > max ? downsample(data, n, at, max) : undefined;
  const length = picked ? picked.length : n;
  const steps = new Array<number>(length);
  const times = new Array<number>(length);
  const values = new Array<number | null>(length);
  const special: { index: number; value: Special }[] = [];
  for (let j = 0; j < length; j++) {
    const p = at(picked ? picked[j] : j) * POINT_FLOATS;
    steps[j] = data[p];
    times[j] = data[p + 1];
    const v = data[p + 2];
    if (Number.isFinite(v)) {
      values[j] = v;
    } else {
      values[j] = null;
      special.push({ index: j, value: Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity' });
    }
  }
  return { key, steps, times, values, special, total };
}

/**
 * Min/max per bucket (over the logged order): floor(max/2) buckets keep at most two points each, the
 * lowest and the highest finite value. A bucket holding NaN or ±Infinity keeps its first such point
 * instead of one of the two, so a divergence stays visible at any zoom. Returns positions in 0..n-1.
 */
export function downsample(data: Float64Array, n: number, at: (i: number) => number, max: number): number[] {
  const buckets = Math.max(1, Math.floor(max / 2));
  const out: number[] = [];
  let previous: number | undefined;
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * n) / buckets);
    const end = Math.floor(((b + 1) * n) / buckets);
    let lo = -1;
    let hi = -1;
    let sp = -1;
    for (let i = start; i < end; i++) {
      const v = data[at(i) * POINT_FLOATS + 2];
      if (Number.isFinite(v)) {
        if (lo < 0 || v < data[at(lo) * POINT_FLOATS + 2]) {
          lo = i;
        }
        if (hi < 0 || v > data[at(hi) * POINT_FLOATS + 2]) {
          hi = i;
        }
      } else if (sp < 0) {
        sp = i;
      }
    }
    let keep: number[];
    if (sp >= 0) {
      // keep the extreme that differs more from the previous bucket's value
      const other =
        lo < 0
          ? -1
          : previous === undefined
            ? hi
            : Math.abs(data[at(hi) * POINT_FLOATS + 2] - previous) >=
                Math.abs(data[at(lo) * POINT_FLOATS + 2] - previous)
              ? hi
              : lo;
      keep = other < 0 ? [sp] : [sp, other];
    } else {
      keep = lo < 0 ? [] : lo === hi ? [lo] : [lo, hi];
    }
    keep.sort((a, c) => a - c);
    for (const i of keep) {
      out.push(i);
      const v = data[at(i) * POINT_FLOATS + 2];
      if (Number.isFinite(v)) {
        previous = v;
      }
    }
  }
  return out;
}

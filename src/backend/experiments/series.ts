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
  // points in logged order (steps may repeat or go backwards: they are kept as logged)
  const selected =
    options.from !== undefined || options.to !== undefined
      ? selectSteps(data, options.from ?? -Infinity, options.to ?? Infinity)
      : undefined;
  const n = selected ? selected.length : total;
  const max = options.maxPoints ?? Infinity;
  const picked = n > max ? downsample(data, n, selected, max) : undefined;
  const length = picked ? picked.length : n;
  const steps = new Array<number>(length);
  const times = new Array<number>(length);
  const values = new Array<number | null>(length);
  const special: { index: number; value: Special }[] = [];
  for (let j = 0; j < length; j++) {
    const k = picked ? picked[j] : j;
    const p = (selected ? selected[k] : k) * POINT_FLOATS;
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

/** Positions of the points whose step is in [from, to], in logged order. */
function selectSteps(data: Float64Array, from: number, to: number): Int32Array {
  const total = data.length / POINT_FLOATS;
  const keep = new Int32Array(total);
  let n = 0;
  for (let i = 0; i < total; i++) {
    const s = data[i * POINT_FLOATS];
    if (s >= from && s <= to) {
      keep[n++] = i;
    }
  }
  return keep.subarray(0, n);
}

/**
 * Min/max per bucket (over the logged order): floor(max/2) buckets keep at most two points each, the
 * lowest and the highest finite value, so the result never exceeds `max` points and a spike is never
 * averaged away. A bucket holding NaN or ±Infinity keeps its first such point instead of one of the
 * two (the extreme further from the previous bucket's value), so a divergence stays visible at any
 * zoom. `at` maps positions 0..n-1 to points of `data` (a step range); returns positions in 0..n-1.
 *
 * Written by hand because it reads the stored float64 triplets in place: one pass, no allocation per
 * point (a 1,000,000-point series takes a few milliseconds; see bench/charts.ts).
 */
export function downsample(
  data: Float64Array,
  n: number,
  at: Int32Array | ((i: number) => number) | undefined,
  max: number,
): number[] {
  const positions = typeof at === 'function' ? Int32Array.from({ length: n }, (_, i) => at(i)) : at;
  const buckets = Math.max(1, Math.floor(max / 2));
  const out: number[] = [];
  let previous = NaN;
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * n) / buckets);
    const end = Math.floor(((b + 1) * n) / buckets);
    let lo = -1;
    let hi = -1;
    let loV = Infinity;
    let hiV = -Infinity;
    let sp = -1;
    for (let i = start; i < end; i++) {
      const v = data[(positions ? positions[i] : i) * POINT_FLOATS + 2];
      if (v < loV) {
        loV = v;
        lo = i;
      }
      if (v > hiV) {
        hiV = v;
        hi = i;
      }
      // NaN fails both comparisons above; ±Infinity are kept as specials, not as extremes
      if (sp < 0 && !Number.isFinite(v)) {
        sp = i;
      }
    }
    if (loV === -Infinity || hiV === Infinity) {
      // an infinity won a comparison: recompute the finite extremes of this (rare) bucket
      [lo, hi, loV, hiV] = finiteExtremes(data, positions, start, end);
    }
    let first: number;
    let second: number;
    if (sp >= 0) {
      // keep the extreme that differs more from the previous bucket's value
      const other =
        lo < 0 ? -1 : Number.isNaN(previous) || Math.abs(hiV - previous) >= Math.abs(loV - previous) ? hi : lo;
      first = other < 0 || sp < other ? sp : other;
      second = other < 0 ? -1 : sp < other ? other : sp;
    } else {
      first = lo < hi ? lo : hi;
      second = lo === hi ? -1 : lo < hi ? hi : lo;
    }
    for (const i of [first, second]) {
      if (i >= 0) {
        out.push(i);
        const v = data[(positions ? positions[i] : i) * POINT_FLOATS + 2];
        if (Number.isFinite(v)) {
          previous = v;
        }
      }
    }
  }
  return out;
}

function finiteExtremes(
  data: Float64Array,
  positions: Int32Array | undefined,
  start: number,
  end: number,
): [number, number, number, number] {
  let lo = -1;
  let hi = -1;
  let loV = Infinity;
  let hiV = -Infinity;
  for (let i = start; i < end; i++) {
    const v = data[(positions ? positions[i] : i) * POINT_FLOATS + 2];
    if (Number.isFinite(v)) {
      if (lo < 0 || v < loV) {
        loV = v;
        lo = i;
      }
      if (hi < 0 || v > hiV) {
        hiV = v;
        hi = i;
      }
    }
  }
  return [lo, hi, loV, hiV];
}

import * as assert from 'assert';
import {
  alignRuns,
  ema,
  formatDuration,
  mergeRange,
  nonFinitePeriods,
  stepRange,
  valueNear,
  xValues,
  type RunPoints,
} from '../../webviews/metric-charts/data';
import { chartNotice } from '../../webviews/metric-charts/notice';
import type { ChartRun } from '../../src/protocol/webviews/metric-charts';

const points = (steps: number[], values: number[], times = steps.map((s) => 1000 * s)): RunPoints => ({
  steps: Float64Array.from(steps),
  times: Float64Array.from(times),
  values: Float64Array.from(values),
  total: steps.length,
});

describe('metric charts: data helpers', () => {
  it('smooths with a debiased EMA, keeping gaps', () => {
    assert.deepStrictEqual(ema([1, 2, 3], 0), [1, 2, 3], 'weight 0 = off');
    const s = ema([10, 10, null, 10], 0.9);
    assert.strictEqual(s[2], null, 'a NaN stays a gap');
    for (const v of [s[0], s[1], s[3]]) {
      assert.ok(Math.abs(v! - 10) < 1e-9, 'no pull towards zero at the start');
    }
    const step = ema([0, 0, 0, 1, 1, 1], 0.5);
    assert.ok(step[3]! > 0 && step[3]! < 1 && step[5]! > step[3]!, 'follows a step gradually');
  });

  it('gives x values by step, wall time (seconds) and time since the run started', () => {
    const p = points([0, 5], [1, 2], [10_000, 12_500]);
    assert.deepStrictEqual(Array.from(xValues(p, 'step', 0)), [0, 5]);
    assert.deepStrictEqual(Array.from(xValues(p, 'wall', 0)), [10, 12.5]);
    assert.deepStrictEqual(Array.from(xValues(p, 'relative', 9_000)), [1, 3.5]);
    assert.deepStrictEqual(
      Array.from(xValues(p, 'relative', NaN)),
      [0, 2.5],
      'from the first point without a start time',
    );
  });

  it('aligns runs onto one x axis: missing points are undefined (spanned), NaN stays null (a gap)', () => {
    const data = alignRuns([
      { x: [0, 1, 2, 3], ys: [[1, 2, null, 4]] },
      { x: [1, 3, 5], ys: [[10, 30, 50]] },
    ]);
    assert.deepStrictEqual(data, [
      [0, 1, 2, 3, 5],
      [1, 2, null, 4, undefined],
      [undefined, 10, undefined, 30, 50],
    ]);
    // identical steps: columns are copied as they are
    const same = alignRuns([
      {
        x: [0, 1],
        ys: [
          [1, 2],
          [1.5, 1.5],
        ],
      },
      { x: [0, 1], ys: [[3, null]] },
    ]);
    assert.deepStrictEqual(same, [
      [0, 1],
      [1, 2],
      [1.5, 1.5],
      [3, null],
    ]);
  });

  it('snaps x values of runs logged at different times to a grid of at most maxColumns, keeping spikes', () => {
    const a = {
      x: Array.from({ length: 1000 }, (_, i) => i + 0.25),
      ys: [Array.from({ length: 1000 }, (_, i) => (i === 500 ? 99 : 1))],
    };
    const b = { x: Array.from({ length: 1000 }, (_, i) => i + 0.5), ys: [Array.from({ length: 1000 }, () => 2)] };
    assert.strictEqual(alignRuns([a, b], 1500)[0].length, 2000, 'two runs: exact while within twice the longest');
    const many = Array.from({ length: 10 }, (_, r) => ({ x: a.x.map((x) => x + r / 20), ys: b.ys }));
    const data = alignRuns([a, ...many], 200);
    assert.ok(data[0].length <= 1000, `${data[0].length} columns: no more than the longest run`);
    assert.ok(data[1].includes(99), 'the spike survives the snapping');
    assert.ok(data[2].every((v) => v === undefined || v === 2));
    assert.strictEqual(data.length, 12);
  });

  it('finds the nearest value of a sparse column for the tooltip', () => {
    const column = [undefined, 5, undefined, undefined, null, undefined];
    assert.strictEqual(valueNear(column, 1), 5);
    assert.strictEqual(valueNear(column, 0), 5);
    assert.strictEqual(valueNear(column, 5), null);
    assert.strictEqual(valueNear([undefined, undefined], 0), undefined);
  });

  it('merges a zoom’s full detail into the overview and finds the step range of an x range', () => {
    const overview = points([0, 10, 20, 30, 40], [0, 1, 2, 3, 4]);
    const detail = points([10, 11, 12, 13, 20], [1, 1.1, NaN, 1.3, 2]);
    const merged = mergeRange(overview, detail, 10, 20);
    assert.deepStrictEqual(Array.from(merged.steps), [0, 10, 11, 12, 13, 20, 30, 40]);
    assert.deepStrictEqual(Array.from(merged.values), [0, 1, 1.1, NaN, 1.3, 2, 3, 4]);
    const x = xValues(overview, 'relative', 0);
    assert.deepStrictEqual(stepRange([{ points: overview, x }], 5, 25), { from: 10, to: 20 });
    assert.strictEqual(stepRange([{ points: overview, x }], 41, 45), undefined);
  });

  it('names NaN periods and formats relative time', () => {
    const p = points([0, 1, 2, 3, 4, 5], [1, NaN, Infinity, 2, NaN, 3]);
    assert.deepStrictEqual(nonFinitePeriods(p), [
      { from: 1, to: 2, count: 2, kinds: ['NaN', 'Infinity'] },
      { from: 4, to: 4, count: 1, kinds: ['NaN'] },
    ]);
    assert.strictEqual(formatDuration(5.5), '5.5 s');
    assert.strictEqual(formatDuration(125), '2 min 05 s');
    assert.strictEqual(formatDuration(3 * 3600 + 120), '3 h 02 min');
    assert.strictEqual(formatDuration(206, true), '3m26s');
  });
});

describe('metric charts: the notice under a chart', () => {
  const run = (id: string, name: string): ChartRun => ({
    id,
    name,
    label: name,
    colour: 0,
    status: 'completed',
    startedAt: 0,
  });
  const p = (values: number[], total = values.length): RunPoints => ({
    steps: Float64Array.from(values, (_, i) => i * 10),
    times: Float64Array.from(values, (_, i) => i),
    values: Float64Array.from(values),
    total,
  });

  it('says what is drawn, where values are NaN, and what a log scale hides', () => {
    const runs = [run('a', 'base'), run('b', 'lr=1')];
    const points = new Map([
      ['a', p([1, 2, 3], 3000)],
      ['b', p([1, NaN, NaN, 4, -Infinity])],
    ]);
    assert.strictEqual(
      chartNotice(runs, points, undefined, 2),
      '3 of 3,000 points drawn (min/max per pixel); drag to zoom for full detail. ' +
        'lr=1: NaN at steps 10–20 and 1 more period(s) (gap, marked ▲). 2 value(s) ≤ 0 not shown on the log scale.',
    );
    assert.strictEqual(
      chartNotice(runs, new Map([['a', p([5])]]), { from: 0, to: 9, loaded: true }, 0),
      'Steps 0–9 at full detail; double-click to reset. base: a single point.',
    );
    assert.strictEqual(chartNotice(runs, new Map([['a', p([1, 2])]]), undefined, 0), '');
  });
});

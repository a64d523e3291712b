import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MetricFiles } from '../../src/backend/experiments/metric-files';
import type { ExperimentRepository } from '../../src/backend/experiments/repository';
import { downsample, readSeries } from '../../src/backend/experiments/series';

/** (step, time, value) triplets of `values`, step = position */
const triplets = (values: readonly number[]) => Float64Array.from(values.flatMap((v, i) => [i, 1e12 + i, v]));

describe('metric downsampling (min/max per bucket)', () => {
  it('never returns more than maxPoints, in logged order, for any length and budget', () => {
    for (const n of [2, 3, 7, 100, 1001, 4096]) {
      const data = triplets(Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * (i % 13)));
      for (const max of [2, 3, 4, 10, 99, 1000]) {
        if (n <= max) {
          continue; // readSeries returns every point then
        }
        const picked = downsample(data, n, undefined, max);
        assert.ok(picked.length <= max, `n=${n} max=${max}: ${picked.length} points`);
        assert.ok(picked.length >= Math.min(n, 2 * Math.floor(max / 2)) / 2, `n=${n} max=${max}: too few`);
        assert.ok(
          picked.every((p, i) => p >= 0 && p < n && (i === 0 || p > picked[i - 1])),
          'ascending positions',
        );
      }
    }
  });

  it('keeps a one-point spike among a million points, up and down', () => {
    const n = 1_000_000;
    const values = new Array<number>(n).fill(1);
    values[123_457] = 1000;
    values[876_543] = -1000;
    const picked = downsample(triplets(values), n, undefined, 4000);
    assert.ok(picked.length <= 4000);
    assert.ok(picked.includes(123_457), 'the upward spike');
    assert.ok(picked.includes(876_543), 'the downward spike');
  });

  it('keeps NaN and infinities visible, and the finite extremes around them', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => Math.cos(i / 50));
    values[2_000] = NaN;
    values[5_000] = Infinity;
    values[7_000] = -Infinity;
    for (let i = 8_000; i < 8_500; i++) {
      values[i] = NaN; // NaN for a while
    }
    const data = triplets(values);
    const picked = downsample(data, values.length, undefined, 100);
    const kept = picked.map((i) => values[i]);
    assert.ok(picked.includes(2_000) && picked.includes(5_000) && picked.includes(7_000));
    assert.ok(kept.filter((v) => Number.isNaN(v)).length >= 2, 'the NaN period shows as NaN points');
    const finite = kept.filter((v) => Number.isFinite(v));
    assert.ok(Math.max(...finite) > 0.999 && Math.min(...finite) < -0.999, 'extremes kept');
    assert.ok(picked.length <= 100);
  });

  it('accepts the positions of a step range as an index array or a function', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i);
    const positions = Int32Array.from({ length: 500 }, (_, i) => 250 + i);
    const a = downsample(triplets(values), 500, positions, 50);
    const b = downsample(triplets(values), 500, (i) => 250 + i, 50);
    assert.deepStrictEqual(a, b);
    assert.ok(a.includes(0) && a.includes(499), 'first and last of the range');
  });

  describe('readSeries', () => {
    let dir: string;
    let files: MetricFiles;
    const repo = (count: number) =>
      ({ get: () => undefined, keyOf: () => ({ index: 0, count }) }) as unknown as ExperimentRepository;

    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-series-'));
      files = new MetricFiles(dir);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('respects the step range and maxPoints, and reports NaN and infinities by position', () => {
      const values = Array.from({ length: 20_000 }, (_, i) => (i === 10_001 ? NaN : i === 12_502 ? -Infinity : i % 7));
      const data = triplets(values);
      files.append('run', 0, data, data.length);
      const s = readSeries(repo(values.length), files, 'run', 'loss', { from: 10_000, to: 14_999, maxPoints: 200 });
      assert.strictEqual(s.total, 20_000);
      assert.ok(s.steps.length <= 200 && s.steps.length > 100, String(s.steps.length));
      assert.ok(
        s.steps.every((x) => x >= 10_000 && x <= 14_999),
        'inside the range',
      );
      assert.deepStrictEqual(
        s.special.map((x) => [s.steps[x.index], x.value]),
        [
          [10_001, 'NaN'],
          [12_502, '-Infinity'],
        ],
      );
      assert.ok(s.special.every((x) => s.values[x.index] === null));
      const full = readSeries(repo(values.length), files, 'run', 'loss', { from: 100, to: 109 });
      assert.deepStrictEqual(
        full.steps,
        [100, 101, 102, 103, 104, 105, 106, 107, 108, 109],
        'a small range at full detail',
      );
      assert.deepStrictEqual(
        full.times,
        full.steps.map((x) => 1e12 + x),
      );
    });
  });
});

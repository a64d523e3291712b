import * as assert from 'assert';
import { seriesToCsv } from '../../src/extension/experiments/charts/csv';
import { LiveBatcher } from '../../src/extension/experiments/charts/live';
import { SeriesLoader, toChartSeries, type FetchSeries } from '../../src/extension/experiments/charts/loader';
import type { MetricSeries } from '../../src/protocol/experiments';
import type { AppendMessage, ChartRun } from '../../src/protocol/webviews/metric-charts';

const run = (id: string, name: string): ChartRun => ({
  id,
  name,
  label: name,
  colour: 0,
  status: 'completed',
  startedAt: 1_000_000,
});

describe('metric charts: host side', () => {
  it('exports CSV in long format with times, relative seconds and non-finite values as logged', () => {
    const csv = seriesToCsv(
      [run('r1', 'base, "v2"')],
      [
        {
          runId: 'r1',
          key: 'loss',
          steps: Float64Array.of(0, 1, 2),
          times: Float64Array.of(1_000_000, 1_001_500, 1_003_000),
          values: Float64Array.of(0.5, NaN, -Infinity),
          total: 3,
        },
      ],
    );
    assert.strictEqual(
      csv,
      [
        'run_id,run_name,key,step,time,relative_seconds,value',
        'r1,"base, ""v2""",loss,0,1970-01-01T00:16:40.000Z,0,0.5',
        'r1,"base, ""v2""",loss,1,1970-01-01T00:16:41.500Z,1.5,NaN',
        'r1,"base, ""v2""",loss,2,1970-01-01T00:16:43.000Z,3,-Infinity',
        '',
      ].join('\n'),
    );
  });

  it('turns the API series (null plus the kinds listed apart) into float64 arrays with NaN and infinities', () => {
    const s = toChartSeries('r1', {
      key: 'loss',
      steps: [0, 1, 2],
      times: [5, 6, 7],
      values: [1, null, null],
      special: [
        { index: 1, value: 'NaN' },
        { index: 2, value: 'Infinity' },
      ],
      total: 9,
    });
    assert.deepStrictEqual(Array.from(s.values), [1, NaN, Infinity]);
    assert.ok(s.steps instanceof Float64Array && s.total === 9);
  });

  it('loads every (run, key) at most 8 at a time, caches them, and leaves out what fails', async () => {
    let active = 0;
    let peak = 0;
    const calls: string[] = [];
    const fetch: FetchSeries = async (runId, key, o) => {
      calls.push(`${runId}/${key}/${o.maxPoints}`);
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      if (runId === 'gone') {
        throw new Error('404');
      }
      const s: MetricSeries = { key, steps: [1], times: [2], values: [3], special: [], total: 10 };
      return s;
    };
    const loader = new SeriesLoader(fetch);
    const runs = ['a', 'b', 'c', 'gone'];
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    const series = await loader.load(runs, keys, 2000);
    assert.strictEqual(series.length, 30, 'the deleted run is left out');
    assert.ok(peak <= 8 && peak > 1, `concurrent requests: ${peak}`);
    assert.strictEqual(calls.length, 40);
    await loader.load(['a'], ['k0'], 1000);
    assert.strictEqual(calls.length, 40, 'a series fetched with more points is served from the cache');
    await loader.load(['a'], ['k0'], 4000);
    assert.strictEqual(calls.length, 41, 'a wider chart fetches again');
    loader.append('a', 'k0', Float64Array.of(5), Float64Array.of(6), Float64Array.of(NaN));
    const cached = loader.cached().find((s) => s.runId === 'a' && s.key === 'k0')!;
    assert.deepStrictEqual(Array.from(cached.steps), [1, 5]);
    assert.deepStrictEqual(Array.from(cached.values), [3, NaN]);
    assert.strictEqual(cached.total, 11);
  });

  it('batches live points into one post per interval', async () => {
    const posts: AppendMessage['points'][] = [];
    const live = new LiveBatcher((p) => posts.push(p), 20);
    for (let i = 0; i < 100; i++) {
      live.add('r1', 'loss', [i], [i / 10], [1000 + i]);
    }
    live.add('r2', 'acc', [0], [null], [2000]);
    while (posts.length === 0) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.strictEqual(posts.length, 1);
    assert.deepStrictEqual(
      posts[0].map((p) => [p.runId, p.key, p.steps.length]),
      [
        ['r1', 'loss', 100],
        ['r2', 'acc', 1],
      ],
    );
    assert.deepStrictEqual(Array.from(posts[0][1].values), [NaN], 'a non-finite live value arrives as NaN');
    assert.deepStrictEqual(Array.from(posts[0][1].times), [2000], 'each point keeps the time it was logged at');
    assert.deepStrictEqual(Array.from(posts[0][0].times).slice(0, 2), [1000, 1001]);
    live.dispose();
  });
});

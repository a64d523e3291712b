import * as assert from 'assert';
import { runRows } from '../../src/extension/experiments/labels';
import type { Experiment } from '../../src/protocol/experiments';
import { formatFull, formatNumber, formatValue } from '../../src/protocol/number-format';
import { describeRuns, differingParams, runLabels, shortId } from '../../src/protocol/run-label';
import { valueAt } from '../../webviews/metric-charts/data';

const run = (id: string, name: string, params: Record<string, unknown> = {}) => ({ id, name, params });

describe('one number format', () => {
  it('shows 4 significant digits, integers whole, an exponent for tiny and huge values', () => {
    assert.strictEqual(formatNumber(0.09348800360084981), '0.09349');
    assert.strictEqual(formatNumber(12.3456), '12.35');
    assert.strictEqual(formatNumber(1 / 3), '0.3333');
    assert.strictEqual(formatNumber(1234.56), '1235');
    assert.strictEqual(formatNumber(12345.6), '12346', 'never a rounded 12350');
    assert.strictEqual(formatNumber(-0.5), '-0.5');
    assert.strictEqual(formatNumber(0), '0');
    assert.strictEqual(formatNumber(250000), '250000');
    assert.strictEqual(formatNumber(42), '42');
    assert.strictEqual(formatNumber(0.00001234567), '1.235e-5');
    assert.strictEqual(formatNumber(0.00002), '2e-5');
    assert.strictEqual(formatNumber(3456789.5), '3.457e6');
    assert.strictEqual(formatNumber(1e21), '1e21');
    assert.strictEqual(formatNumber(-2.5e-7), '-2.5e-7');
    assert.strictEqual(formatNumber(0.1 + 0.2), '0.3');
  });

  it('keeps NaN and infinities as logged, a dash for no value, and the full value on demand', () => {
    assert.strictEqual(formatNumber(Number.NaN), 'NaN');
    assert.strictEqual(formatNumber(-Infinity), '-Infinity');
    assert.strictEqual(formatValue('Infinity'), 'Infinity');
    assert.strictEqual(formatValue(null), '—');
    assert.strictEqual(formatValue(0.09348800360084981), '0.09349');
    assert.strictEqual(formatFull(0.09348800360084981), '0.09348800360084981');
  });
});

describe('run labels', () => {
  it('adds the params that differ, most-differing first, to the name', () => {
    const runs = [
      run('20260102-030405-aaaaaa', 'train', { lr: 0.05, epochs: 10, data: 'iris.csv' }),
      run('20260102-030406-bbbbbb', 'train', { lr: 0.1, epochs: 10, data: 'iris.csv' }),
      run('20260102-030407-cccccc', 'train', { lr: 0.2, epochs: 20, data: 'iris.csv' }),
    ];
    assert.deepStrictEqual(differingParams(runs), ['lr', 'epochs']);
    assert.deepStrictEqual(
      [...runLabels(runs).values()],
      ['train lr=0.05 epochs=10', 'train lr=0.1 epochs=10', 'train lr=0.2 epochs=20'],
    );
  });

  it('adds a short id where nothing else tells runs apart, and names a run alone by its name', () => {
    const runs = [
      run('20260102-030405-a1b2c3', 'train', { lr: 0.1 }),
      run('20260102-030406-d4e5f6', 'train', { lr: 0.1 }),
    ];
    assert.deepStrictEqual([...runLabels(runs).values()], ['train #a1b2c3', 'train #d4e5f6']);
    assert.deepStrictEqual([...runLabels([runs[0]]).values()], ['train']);
    assert.strictEqual(shortId('20260102-030405-a1b2c3'), 'a1b2c3');
    assert.strictEqual(shortId('odd-id-x'), 'd-id-x', 'no usable suffix: the last 6 characters');
    // different names are told apart by their names alone
    assert.deepStrictEqual([...runLabels([run('a', 'train'), run('b', 'eval')]).values()], ['train', 'eval']);
    // the same params under one label but told apart: a missing param differs from a present one
    assert.deepStrictEqual(
      [...runLabels([run('x-111111', 'train', { seed: 1 }), run('y-222222', 'train')]).values()],
      ['train seed=1', 'train'],
    );
  });

  it('bounds the length: long values are cut, params beyond the limit are left out', () => {
    const long = 'x'.repeat(100);
    const runs = [
      run('r1', 'train', { path: `${long}1`, a: 1, b: 1, c: 1, d: 1, e: 1 }),
      run('r2', 'train', { path: `${long}2`, a: 2, b: 2, c: 2, d: 2, e: 2 }),
    ];
    for (const label of runLabels(runs).values()) {
      assert.ok(label.length <= 40 + 8, `${label} (${label.length})`);
      assert.ok(label.startsWith('train '), label);
    }
    const wide = runLabels([run('r1', 'train', { [long]: 1 }), run('r2', 'train', { [long]: 2 })]);
    for (const label of wide.values()) {
      assert.ok(label.length <= 40 + 8 + 'train '.length, `${label} (${label.length})`);
    }
  });

  it('describes several runs for a tab title', () => {
    assert.strictEqual(describeRuns([{ name: 'train' }]), 'train');
    assert.strictEqual(describeRuns(Array.from({ length: 12 }, () => ({ name: 'train' }))), '12 runs of train');
    assert.strictEqual(describeRuns([{ name: 'train' }, { name: 'eval' }, { name: 'x' }]), '3 runs (train, eval, …)');
    assert.strictEqual(describeRuns([]), 'no runs');
  });
});

describe('Experiments view rows', () => {
  const experiment = (id: string, params: Record<string, unknown>, over: Partial<Experiment> = {}): Experiment => ({
    id,
    projectId: 'p',
    name: 'train',
    status: 'completed',
    startedAt: '2026-01-02T03:04:05.000Z',
    endedAt: '2026-01-02T03:04:17.000Z',
    durationMs: 12000,
    exitCode: 0,
    operator: 'ada',
    params,
    tags: {},
    metrics: [
      {
        key: 'loss',
        count: 3,
        last: 0.09348800360084981,
        lastStep: 2,
        min: 0.09,
        max: 1,
        lastRaw: 0.09348800360084981,
      },
    ],
    dir: `/runs/${id}`,
    ...over,
  });

  it('puts what tells a run apart and its status first, then the metric, duration and start', () => {
    const runs = [experiment('r-aaaaaa', { lr: 0.05 }), experiment('r-bbbbbb', { lr: 0.1 }, { status: 'failed' })];
    const now = new Date('2026-06-01T00:00:00Z');
    const byName = runRows(runs, 'name', now);
    assert.strictEqual(byName.get('r-aaaaaa')!.label, 'lr=0.05', 'under the group "train" the name is not repeated');
    assert.match(byName.get('r-aaaaaa')!.description, /^completed · loss 0\.09349 · 12\.0 s · /);
    assert.match(byName.get('r-bbbbbb')!.description, /^failed · /);
    const byStatus = runRows(runs, 'status', now);
    assert.strictEqual(byStatus.get('r-bbbbbb')!.label, 'train lr=0.1');
    // one run alone in its group: named by when it started
    const alone = runRows([runs[0]], 'name', now).get('r-aaaaaa')!;
    assert.match(alone.label, /Jan|2/);
    assert.doesNotMatch(alone.label, /train/);
  });
});

describe('metric charts: the value of a run at the hovered x', () => {
  const xs = [0, 10, 20, 29];
  const ys = [1, 0.5, null, 0.2];
  it('is the value at x, or interpolated between the points around it', () => {
    assert.deepStrictEqual(valueAt(xs, ys, 10), { kind: 'value', value: 0.5, interpolated: false });
    assert.deepStrictEqual(valueAt(xs, ys, 5), { kind: 'value', value: 0.75, interpolated: true });
    assert.deepStrictEqual(valueAt(xs, ys, 15), { kind: 'value', value: null, interpolated: true }, 'a NaN period');
    assert.deepStrictEqual(valueAt(xs, ys, 29), { kind: 'value', value: 0.2, interpolated: false });
  });

  it('is absent after the last point (ended) and before the first (starts), never a stale value', () => {
    assert.deepStrictEqual(valueAt(xs, ys, 85), { kind: 'after', lastX: 29 });
    assert.deepStrictEqual(valueAt([5, 6], [1, 2], 2), { kind: 'before', firstX: 5 });
    assert.deepStrictEqual(valueAt([], [], 2), { kind: 'none' });
  });
});

import * as assert from 'assert';
import { MetricFields, scanMetricLine } from '../../src/backend/experiments/line-scanner';
import { downsample } from '../../src/backend/experiments/series';

function scan(line: string): MetricFields | undefined {
  const out: MetricFields = { key: '', value: 0, numeric: false, step: null, stepValid: false, time: 0 };
  return scanMetricLine(line, 0, line.length, out) ? { ...out } : undefined;
}

describe('experiments: the metric line fast path', () => {
  it('reads metric lines in any key order and JSON spacing, exactly as JSON.parse would', () => {
    for (const line of [
      '{"k":"m","key":"loss","v":0.30000000000000004,"s":3,"t":1767225600000}',
      '{"k": "m", "key": "loss", "v": -1.5e-7, "s": null, "t": 1767225600000}',
      ' { "t" : 5 , "s" : 0 , "v" : 12 , "key" : "acc/top-1 精度" , "k" : "m" } ',
      '{"k":"m","key":"x","v":1E+2,"s":-0,"t":0,"extra":"ignored"}',
    ]) {
      const parsed = JSON.parse(line) as { key: string; v: number; s: number | null; t: number };
      assert.deepStrictEqual(scan(line), {
        key: parsed.key,
        value: parsed.v,
        numeric: true,
        step: parsed.s,
        stepValid: true,
        time: parsed.t,
      });
    }
  });

  it('reads the special values, as strings and as the bare tokens Python writes', () => {
    assert.ok(Number.isNaN(scan('{"k":"m","key":"a","v":"NaN","s":1,"t":1}')?.value));
    assert.strictEqual(scan('{"k":"m","key":"a","v":"Infinity","s":1,"t":1}')?.value, Infinity);
    assert.strictEqual(scan('{"k":"m","key":"a","v":-Infinity,"s":1,"t":1}')?.value, -Infinity);
    assert.strictEqual(scan('{"k":"m","key":"a","v":Infinity,"s":1,"t":1}')?.value, Infinity);
    assert.strictEqual(scan('{"k":"m","key":"a","v":"high","s":1,"t":1}')?.numeric, false);
    assert.strictEqual(scan('{"k":"m","key":"a","v":null,"s":1,"t":1}')?.numeric, false);
    assert.strictEqual(scan('{"k":"m","key":"a","v":1,"s":"x","t":1}')?.stepValid, false);
  });

  it('leaves everything else to JSON.parse', () => {
    for (const line of [
      '{"k":"param","key":"lr","v":0.1,"t":1}',
      '{"k":"m","key":"a\\"b","v":1,"s":1,"t":1}',
      '{"k":"m","key":"a","v":true,"s":1,"t":1}',
      '{"k":"m","key":"a","v":[1],"s":1,"t":1}',
      '{"k":"m","key":"a","v":01,"s":1,"t":1}',
      '{"k":"m","key":"a","v":1.,"s":1,"t":1}',
      '{"k":"m","key":"a","v":.5,"s":1,"t":1}',
      '{"k":"m","key":"a","v":1,"s":1,"t":1',
      '{"k":"m","key":"a","v":1,"s":1,"t":1}}',
      '{"k":"m","v":1,"s":1,"t":1}',
      'not json',
      '',
    ]) {
      assert.strictEqual(scan(line), undefined, line);
    }
  });
});

describe('experiments: downsampling', () => {
  const series = (values: number[]) => Float64Array.from(values.flatMap((v, i) => [i, 0, v]));
  const identity = (i: number) => i;

  it('keeps at most maxPoints points, with the min and max of every bucket', () => {
    const values = Array.from({ length: 1000 }, (_, i) => Math.sin(i / 10));
    const picked = downsample(series(values), 1000, identity, 100);
    assert.ok(picked.length <= 100 && picked.length >= 90, String(picked.length));
    assert.ok(
      picked.every((p, i) => i === 0 || p > picked[i - 1]),
      'ordered',
    );
    const kept = picked.map((i) => values[i]);
    assert.strictEqual(Math.max(...kept), Math.max(...values));
    assert.strictEqual(Math.min(...kept), Math.min(...values));
  });

  it('keeps a NaN or Infinity of every bucket', () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i === 500 ? NaN : i === 501 ? Infinity : i));
    const picked = downsample(series(values), 1000, identity, 10);
    assert.ok(picked.includes(500), 'the first special of its bucket');
    assert.ok(picked.length <= 10);
  });
});

import * as assert from 'assert';
import { scanMetricBatch } from '../../src/backend/mlflow/batch-scanner';
import { linesOf } from '../../src/backend/mlflow/run-writer';
import { type Input, metricEvent } from '../../src/backend/mlflow/values';

/**
 * log-batch's fast path against its general path (JSON.parse, then each point checked): for every
 * body the scanner takes, the lines it writes hold exactly the events the general path writes; every
 * body it cannot take exactly so, it leaves to the general path.
 */

/** The events of the general path, or the error it answers. */
function general(body: string): unknown[] | Error {
  try {
    const input = JSON.parse(body) as Input;
    const metrics = (input.metrics ?? []) as Input[];
    return linesOf(metrics.map(metricEvent))
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as unknown);
  } catch (e) {
    return e as Error;
  }
}

/** The events of the fast path, or undefined when it leaves the body to the general path. */
function fast(body: string): { runId: string; events: unknown[] } | undefined {
  const scanned = scanMetricBatch(Buffer.from(body));
  if (!scanned) {
    return undefined;
  }
  const events = scanned.lines
    .toString('utf8')
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as unknown);
  assert.strictEqual(events.length, scanned.count);
  assert.ok(scanned.count === 0 || scanned.lines.toString('utf8').endsWith('\n'), 'every line ends');
  return { runId: scanned.run_id, events };
}

/** The fast path takes `body` and writes what the general path writes. */
function same(body: string): unknown[] {
  const expected = general(body);
  assert.ok(Array.isArray(expected), `the general path takes ${body.slice(0, 200)}`);
  const got = fast(body);
  assert.ok(got, `the fast path takes ${body.slice(0, 200)}`);
  assert.deepStrictEqual(got.events, expected);
  return got.events;
}

/** The fast path leaves `body` to the general path. */
function left(body: string): void {
  assert.strictEqual(scanMetricBatch(Buffer.from(body)), undefined, body.slice(0, 200));
}

describe('MLflow log-batch fast path', () => {
  it('writes the same events as the general path for compact JSON', () => {
    const events = same(
      JSON.stringify({
        run_id: 'abc',
        metrics: [
          { key: 'loss', value: 0.25, timestamp: 1767225600000, step: 3 },
          { key: 'acc', value: -1.5e-7, timestamp: 1767225600001 },
          { step: 2, timestamp: 0, value: 1e300, key: 'a/b.c' },
          { key: 'x', value: 0, timestamp: -5, step: -999999999999999 },
        ],
      }),
    );
    assert.deepStrictEqual(events[1], { k: 'm', key: 'acc', v: -1.5e-7, s: 0, t: 1767225600001 });
  });

  it("takes Python json.dumps' spacing and any JSON whitespace", () => {
    same(
      '{"run_id": "r1", "metrics": [{"key": "loss", "value": 1.0, "timestamp": 1767225600000, "step": 0}], "params": [], "tags": []}',
    );
    same(' \r\n\t{ "metrics" :\n[ {\t"key":"m" , "value" : 12E-3 ,"timestamp":1 } ] , "run_id" : "r" }\n ');
    same('{"run_id":"r","metrics":[]}');
  });

  it('agrees with the general path on randomly made batches', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let n = 0; n < 200; n++) {
      const metrics = Array.from({ length: Math.floor(random() * 50) }, (_, i) => {
        const value =
          random() < 0.2 ? Math.floor(random() * 1e6) : (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
        const point: Record<string, unknown> = { key: `k${i % 7}`, value, timestamp: Math.floor(random() * 2e12) };
        if (random() < 0.7) {
          point.step = Math.floor(random() * 1e5);
        }
        return point;
      });
      same(JSON.stringify({ run_id: `run${n}`, metrics }, null, random() < 0.5 ? 0 : 2));
    }
  });

  it('leaves to the general path what it cannot take exactly', () => {
    const point = (p: Record<string, unknown>) =>
      JSON.stringify({ run_id: 'r', metrics: [{ key: 'm', value: 1, timestamp: 1, ...p }] });
    for (const body of [
      point({ key: 'with \\"escape' }), // an escape in a string
      point({ key: 'naïve' }), // outside ASCII
      point({ value: 'NaN' }), // a value as text
      point({ value: '0.5' }),
      point({ value: null }),
      point({ timestamp: 1.5 }), // not an integer as written
      point({ timestamp: 1767225600000.0 + 0.5 }),
      '{"run_id":"r","metrics":[{"key":"m","value":1,"timestamp":1e3}]}', // an exponent in an integer
      point({ timestamp: 1234567890123456 }), // 16 digits: maybe beyond 2^53
      point({ step: null }),
      point({ extra: 1 }), // an unknown field
      point({ key: '../up' }), // a key MLflow refuses
      point({ key: '' }),
      '{"run_id":"r","metrics":[{"key":"m","value":1e999,"timestamp":1}]}', // out of range
      '{"run_id":"r","metrics":[{"key":"m","value":-0,"timestamp":1,"step":-0}]}',
      '{"run_id":"r","metrics":[{"key":"m","value":1}]}', // no timestamp
      '{"run_id":"r","metrics":[{"value":1,"timestamp":1}]}', // no key
      '{"run_id":"r","metrics":[{"key":"m","key":"n","value":1,"timestamp":1}]}', // a repeated field
      '{"run_id":"r","metrics":[{"key":"m","value":01,"timestamp":1}]}', // not JSON
      '{"run_id":"r","metrics":[{"key":"m","value":1.,"timestamp":1}]}',
      '{"run_id":"r","metrics":[{"key":"m","value":1,"timestamp":1},]}',
      '{"run_id":"r","metrics":[{"key":"m","value":1,"timestamp":1}]} x', // trailing bytes
      '{"run_id":"r","metrics":[{"key":"m","value":1,"timestamp":1}]',
      '{"run_id":"r","metrics":[{"key":"m","value":1,"timestamp":1}],"metrics":[]}',
      '{"run_id":"r","metrics":[],"params":[{"key":"p","value":"1"}]}', // params take the general path
      '{"run_uuid":"r","metrics":[]}', // older clients' name for the run
      '{"run_id":"","metrics":[]}',
      '{"metrics":[]}',
      '{"run_id":"r"}',
      '[]',
      '',
    ]) {
      left(body);
    }
  });

  it('leaves a batch over the limit to the general path, which refuses it', () => {
    const metrics = Array.from({ length: 1001 }, (_, i) => ({ key: 'm', value: i, timestamp: i }));
    left(JSON.stringify({ run_id: 'r', metrics }));
    same(JSON.stringify({ run_id: 'r', metrics: metrics.slice(0, 1000) }));
  });

  it('writes a value the general path reads as Infinity as its text, never a bare Infinity', () => {
    const events = general(
      '{"run_id":"r","metrics":[{"key":"m","value":1e999,"timestamp":1},{"key":"m","value":-1e999,"timestamp":2}]}',
    );
    assert.ok(Array.isArray(events));
    assert.deepStrictEqual(
      events.map((e) => (e as { v: unknown }).v),
      ['Infinity', '-Infinity'],
    );
  });
});

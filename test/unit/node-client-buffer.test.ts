import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Experiment } from '../../src/client/runs/experiment';
import { RunWriter } from '../../src/client/runs/run-writer';
import { tempHome } from './helpers';

/** The Node client's metric buffer, on a real run directory. */
describe('Node client: metric points buffered and written as whole lines', () => {
  let temp: ReturnType<typeof tempHome>;
  beforeEach(() => (temp = tempHome()));
  afterEach(() => temp.cleanup());

  const start = () =>
    new Experiment(
      RunWriter.create({
        home: temp.home,
        name: 'buffer',
        project: null,
        params: {},
        command: ['node'],
        cwd: temp.home,
      }),
    );
  const metricLines = (exp: Experiment) =>
    fs
      .readFileSync(path.join(exp.dir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"k":"m"'));

  it('writes the points of a loop that never yields every 10,000 lines, before the loop ends', () => {
    const exp = start();
    for (let i = 0; i < 25_000; i++) {
      exp.logMetric('loss', i);
    }
    // no timer has run (the loop did not yield): the two full buffers are in the file, the rest is not
    assert.strictEqual(metricLines(exp).length, 20_000);
    exp.end();
    const lines = metricLines(exp);
    assert.strictEqual(lines.length, 25_000);
    const last = JSON.parse(lines[24_999]) as { key: string; v: number; s: number };
    assert.deepStrictEqual([last.key, last.v, last.s], ['loss', 24_999, 24_999]);
  });

  it('counts steps per key, from a step given onwards, and writes keys that need escaping as JSON', () => {
    const exp = start();
    const key = 'val "loss"\\n';
    exp.logMetric(key, 1);
    exp.logMetric(key, 2);
    exp.logMetric('acc', 0.5, 10);
    exp.logMetric('acc', 0.6);
    exp.logMetric(key, Number.NaN, 7);
    exp.logMetric(key, Infinity);
    exp.end();
    const points = metricLines(exp).map((l) => JSON.parse(l) as { key: string; v: unknown; s: number });
    assert.deepStrictEqual(
      points.map((p) => [p.key, p.v, p.s]),
      [
        [key, 1, 0],
        [key, 2, 1],
        ['acc', 0.5, 10],
        ['acc', 0.6, 11],
        [key, 'NaN', 7],
        [key, 'Infinity', 8],
      ],
    );
  });
});

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { MemoryLogger } from '../../src/backend/log';
import { ApiClient, BackendError } from '../../src/client/api-client';
import { EventStream } from '../../src/client/event-stream';
import type { BackendEvent } from '../../src/protocol/api';
import type { Experiment } from '../../src/protocol/experiments';
import { appendEvents, DEAD_PID, manifest, metricLine, until, writeManifest } from './experiments-helpers';
import { errorOf, raw, startBackend, tempHome, TEST_TOKEN } from './helpers';

describe('experiments: ingest of run directories and the API', function () {
  this.timeout(60000);
  let backend: Backend | undefined;
  let client: ApiClient;
  let home: string;
  let cleanup: () => void;
  let log: MemoryLogger;

  async function start(): Promise<ApiClient> {
    log = new MemoryLogger();
    backend = await startBackend(home, log);
    client = new ApiClient(backend.port, TEST_TOKEN);
    return client;
  }
  async function stop(): Promise<void> {
    client?.dispose();
    await backend?.stop('test step');
    backend = undefined;
  }
  async function withProject(): Promise<string> {
    await start();
    const p = await client.createProject('Lab');
    await client.setActiveProject(p.id);
    return p.id;
  }
  const experiment = (id: string, probe: (e: Experiment) => boolean = () => true) =>
    until(`experiment ${id}`, async () => (await client.listExperiments()).find((e) => e.id === id && probe(e)));
  const metric = (e: Experiment, key: string) => e.metrics.find((m) => m.key === key);

  beforeEach(() => {
    ({ home, cleanup } = tempHome());
  });
  afterEach(async () => {
    await stop();
    cleanup();
  });

  it('ingests a finished run written while no backend was running', async () => {
    const id = '20260102-030405-aaaaaa';
    writeManifest(home, manifest(id));
    let lines = '';
    for (let s = 0; s < 100; s++) {
      lines += metricLine('loss', 1 / (s + 1), s) + metricLine('acc', s / 100, null);
    }
    lines += JSON.stringify({ k: 'param', key: 'epochs', v: 10, t: 1 }) + '\n';
    lines += JSON.stringify({ k: 'tag', key: 'stage', v: 'dev', t: 1 }) + '\n';
    lines += JSON.stringify({ k: 'artifact', path: 'artifacts/model.pkl', source: '/tmp/model.pkl', t: 1 }) + '\n';
    lines += JSON.stringify({ k: 'input', dataset: 'iris.csv', version: 2, t: 1 }) + '\n';
    lines += JSON.stringify({ k: 'output', path: 'out/preds.csv', t: 1 }) + '\n';
    lines += JSON.stringify({ k: 'result', v: { accuracy: 0.97 }, t: 1 }) + '\n';
    lines += JSON.stringify({ k: 'status', status: 'completed', exitCode: 0, t: 1767225700000 }) + '\n';
    appendEvents(home, id, lines);
    writeManifest(
      home,
      manifest(id, { status: 'completed', endedAt: '2026-01-02T03:05:05.000Z', exitCode: 0, pid: DEAD_PID }),
    );
    await withProject();
    const e = await experiment(id);
    assert.strictEqual(e.status, 'completed');
    assert.strictEqual(e.exitCode, 0);
    assert.strictEqual(e.durationMs, 60000);
    assert.strictEqual(e.name, `run ${id}`);
    assert.deepStrictEqual(e.params, { lr: 0.01, epochs: 10 });
    assert.deepStrictEqual(e.tags, { kind: 'test', stage: 'dev' });
    assert.deepStrictEqual(metric(e, 'loss'), {
      key: 'loss',
      count: 100,
      last: 0.01,
      lastRaw: 0.01,
      lastStep: 99,
      min: 0.01,
      max: 1,
    });
    assert.strictEqual(metric(e, 'acc')?.lastStep, 99, 'a null step is the next step of the key');
    assert.strictEqual(e.dir, path.join(home, 'runs', id));
    const listed = await raw(backend!.port, 'GET', '/api/experiments');
    assert.ok(!listed.text.includes(`"${path.join(home, 'runs', id)}"`), 'the listing names the runs folder once');
    const details = await client.getExperiment(id);
    assert.strictEqual(details.manifest.id, id);
    assert.strictEqual(details.dir, e.dir);
    assert.deepStrictEqual(details.artifacts, [{ path: 'artifacts/model.pkl', source: '/tmp/model.pkl' }]);
    assert.deepStrictEqual(details.inputs, [{ dataset: 'iris.csv', version: 2 }]);
    assert.deepStrictEqual(details.outputs, ['out/preds.csv']);
    assert.deepStrictEqual(details.result, { accuracy: 0.97 });
    const series = await client.getMetricSeries(id, 'loss');
    assert.strictEqual(series.total, 100);
    assert.deepStrictEqual(
      series.steps,
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.strictEqual(series.values[3], 0.25);
    assert.strictEqual(series.times[3], 1767225600003);
    assert.ok(fs.existsSync(path.join(home, 'metrics', id, '0.f64')));
  });

  it('follows a live run: new lines give summaries, metricPoints and throttled experimentUpdated', async () => {
    const id = '20260102-030405-bbbbbb';
    await withProject();
    const events: BackendEvent[] = [];
    const stream = new EventStream(
      client,
      (e) => events.push(e),
      () => undefined,
    );
    try {
      await until('hello', () => (events.length > 0 ? true : undefined));
      writeManifest(home, manifest(id));
      await experiment(id);
      appendEvents(home, id, metricLine('loss', 0.5, 0) + metricLine('loss', 0.4, 1));
      let e = await experiment(id, (x) => metric(x, 'loss')?.count === 2);
      assert.strictEqual(e.status, 'running');
      appendEvents(home, id, metricLine('loss', 0.3, 2));
      e = await experiment(id, (x) => metric(x, 'loss')?.count === 3);
      assert.strictEqual(metric(e, 'loss')?.last, 0.3);
      const points = await until('metricPoints', () => {
        const p = events.filter((x) => x.type === 'metricPoints');
        const steps = p.flatMap((x) => (x.type === 'metricPoints' ? x.steps : []));
        return steps.length === 3 ? p : undefined;
      });
      assert.ok(points.every((p) => p.type === 'metricPoints' && p.runId === id && p.key === 'loss'));
      assert.deepStrictEqual(
        points.flatMap((x) => (x.type === 'metricPoints' ? x.values : [])),
        [0.5, 0.4, 0.3],
      );
      // with the times they were logged at, for charts by wall time
      assert.deepStrictEqual(
        points.flatMap((x) => (x.type === 'metricPoints' ? x.times : [])),
        [0, 1, 2].map((s) => 1767225600000 + s),
      );
      await until('experimentUpdated with 3 points', () =>
        events.some(
          (x) => x.type === 'experimentUpdated' && x.experiment.id === id && x.experiment.metrics[0]?.count === 3,
        )
          ? true
          : undefined,
      );
      // the end of the run
      appendEvents(home, id, JSON.stringify({ k: 'status', status: 'failed', exitCode: 3, t: Date.now() }) + '\n');
      e = await experiment(id, (x) => x.status === 'failed');
      assert.strictEqual(e.exitCode, 3);
      await until('experimentUpdated failed', () =>
        events.some((x) => x.type === 'experimentUpdated' && x.experiment.status === 'failed') ? true : undefined,
      );
    } finally {
      stream.dispose();
    }
  });

  it('ignores a half-written last line until it is complete, losing nothing before it', async () => {
    const id = '20260102-030405-cccccc';
    writeManifest(home, manifest(id));
    appendEvents(home, id, metricLine('loss', 1, 0) + '{"k":"m","key":"loss","v":0.');
    await withProject();
    let e = await experiment(id, (x) => metric(x, 'loss')?.count === 1);
    await new Promise((r) => setTimeout(r, 300));
    e = await experiment(id);
    assert.strictEqual(metric(e, 'loss')?.count, 1, 'the unfinished line waits');
    appendEvents(home, id, '75,"s":1,"t":5}\n');
    e = await experiment(id, (x) => metric(x, 'loss')?.count === 2);
    assert.strictEqual(metric(e, 'loss')?.last, 0.75);
    assert.ok(!log.lines.some((l) => l.includes('corrupt')), log.lines.join('\n'));
  });

  it('continues after a restart mid-run without counting twice, and cuts an uncommitted points tail', async () => {
    const id = '20260102-030405-dddddd';
    writeManifest(home, manifest(id));
    let lines = '';
    for (let s = 0; s < 100; s++) {
      lines += metricLine('loss', s, s);
    }
    appendEvents(home, id, lines);
    await withProject();
    await experiment(id, (x) => metric(x, 'loss')?.count === 100);
    await stop();
    // a crash between appending points and committing leaves a tail the store does not count
    fs.appendFileSync(path.join(home, 'metrics', id, '0.f64'), Buffer.alloc(24 * 7, 1));
    lines = '';
    for (let s = 100; s < 150; s++) {
      lines += metricLine('loss', s, s);
    }
    appendEvents(home, id, lines);
    await start();
    const e = await experiment(id, (x) => metric(x, 'loss')?.count === 150);
    assert.strictEqual(metric(e, 'loss')?.max, 149);
    await new Promise((r) => setTimeout(r, 300));
    const series = await client.getMetricSeries(id, 'loss');
    assert.strictEqual(series.total, 150);
    assert.deepStrictEqual(
      series.steps,
      Array.from({ length: 150 }, (_, i) => i),
    );
    assert.deepStrictEqual(series.values, series.steps);
    assert.strictEqual(fs.statSync(path.join(home, 'metrics', id, '0.f64')).size, 150 * 24);
  });

  it('stores and returns NaN, Infinity and -Infinity; keeps duplicate and backward steps in logged order', async () => {
    const id = '20260102-030405-eeeeee';
    writeManifest(home, manifest(id));
    appendEvents(
      home,
      id,
      metricLine('loss', 2, 5) +
        metricLine('loss', 'NaN', 6) +
        metricLine('loss', 'Infinity', 6) +
        metricLine('loss', '-Infinity', 3) +
        metricLine('loss', 1, 4) +
        // Python's json.dumps writes bare NaN by default: accepted too
        '{"k": "m", "key": "loss", "v": NaN, "s": 9, "t": 1}\n',
    );
    await withProject();
    const e = await experiment(id, (x) => metric(x, 'loss')?.count === 6);
    assert.deepStrictEqual(metric(e, 'loss'), {
      key: 'loss',
      count: 6,
      last: 1,
      lastRaw: 'NaN',
      lastStep: 9,
      min: 1,
      max: 2,
    });
    const s = await client.getMetricSeries(id, 'loss');
    assert.deepStrictEqual(s.steps, [5, 6, 6, 3, 4, 9]);
    assert.deepStrictEqual(s.values, [2, null, null, null, 1, null]);
    assert.deepStrictEqual(s.special, [
      { index: 1, value: 'NaN' },
      { index: 2, value: 'Infinity' },
      { index: 3, value: '-Infinity' },
      { index: 5, value: 'NaN' },
    ]);
    const ranged = await client.getMetricSeries(id, 'loss', { from: 4, to: 6 });
    assert.deepStrictEqual(ranged.steps, [5, 6, 6, 4]);
    assert.strictEqual(ranged.total, 6);
  });

  it('skips non-numeric metric values and corrupt lines with a count and a warning; unicode keys work', async () => {
    const id = '20260102-030405-ffffff';
    writeManifest(home, manifest(id));
    appendEvents(
      home,
      id,
      metricLine('perte/entraînement 損失 📉', 0.5, 0) +
        metricLine('loss', 'high', 0) +
        '{"k":"m","key":"loss","v":true,"s":1,"t":1}\n' +
        '{"k":"m","key":"loss","v":null,"s":1,"t":1}\n' +
        '{"k":"m","key":"loss","v":1,"s":"one","t":1}\n' +
        'this is not json\n' +
        '{"k":"m","key":"loss","v":\n' +
        '\n' +
        metricLine('loss', 0.25, 2),
    );
    await withProject();
    const e = await experiment(id, (x) => metric(x, 'loss')?.count === 1);
    assert.strictEqual(metric(e, 'perte/entraînement 損失 📉')?.last, 0.5);
    const s = await client.getMetricSeries(id, 'perte/entraînement 損失 📉');
    assert.deepStrictEqual(s.values, [0.5]);
    const row = backend!.store.get('SELECT corrupt_lines, skipped_points FROM experiments WHERE id = ?', [id]);
    assert.deepStrictEqual({ ...row }, { corrupt_lines: 2, skipped_points: 4 });
    assert.ok(log.lines.some((l) => l.startsWith('warn') && l.includes('corrupt line') && l.includes('not json')));
    assert.ok(log.lines.some((l) => l.startsWith('warn') && l.includes('skipped a metric point of "loss"')));
  });

  it('marks a run whose process died without a final status as interrupted', async () => {
    const id = '20260102-030405-abcdef';
    writeManifest(home, manifest(id, { pid: DEAD_PID }));
    appendEvents(home, id, metricLine('loss', 1, 0));
    const other = '20260102-030405-abcde0';
    writeManifest(home, manifest(other, { pid: DEAD_PID, host: { ...manifest(other).host, hostname: 'a-container' } }));
    await withProject();
    const e = await experiment(id, (x) => x.status === 'interrupted');
    assert.ok(e.endedAt);
    assert.strictEqual(e.exitCode, null);
    assert.strictEqual((await experiment(other)).status, 'running', 'a pid of another host is not checked');
    assert.ok(log.lines.some((l) => l.includes(`run ${id}: its process ${DEAD_PID} ended`)));
  });

  it('detects a run killed while the backend follows it', async () => {
    const id = '20260102-030405-abcd01';
    await withProject();
    writeManifest(home, manifest(id));
    await experiment(id, (x) => x.status === 'running');
    writeManifest(home, manifest(id, { pid: DEAD_PID })); // as if its process were gone now
    await experiment(id, (x) => x.status === 'interrupted');
  });

  it('still ingests lines appended just after a run was recorded as finished', async () => {
    const id = '20260102-030405-abcd04';
    await withProject();
    writeManifest(home, manifest(id, { status: 'completed', endedAt: '2026-01-02T03:14:05.000Z', exitCode: 0 }));
    await experiment(id, (x) => x.status === 'completed');
    await new Promise((r) => setTimeout(r, 300)); // after its first pass
    appendEvents(home, id, metricLine('loss', 0.5, 0) + metricLine('loss', 0.25, 1));
    const e = await experiment(id, (x) => x.metrics.length === 1);
    assert.deepStrictEqual(
      e.metrics.map((m) => [m.key, m.count, m.last]),
      [['loss', 2, 0.25]],
    );
  });

  it('waits for a project when none exists, then ingests the run', async () => {
    const id = '20260102-030405-abcd02';
    writeManifest(home, manifest(id));
    await start();
    await until('the waiting log line', () =>
      log.lines.some((l) => l.includes(`run ${id} waits`)) ? true : undefined,
    );
    const p = await client.createProject('Later');
    await client.setActiveProject(p.id);
    const e = await experiment(id);
    assert.strictEqual(e.projectId, p.id);
    // a run naming its project by name
    const other = '20260102-030405-abcd03';
    const q = await client.createProject('Other');
    writeManifest(home, manifest(other, { project: 'other' }));
    await until('run in Other', async () => ((await client.listExperiments(q.id)).length === 1 ? true : undefined));
    assert.strictEqual((await client.listExperiments()).length, 1);
  });

  it('lists newest first and deletes an experiment with its points and run directory', async () => {
    await withProject();
    const ids = ['20260101-000000-000001', '20260103-000000-000003', '20260102-000000-000002'];
    ids.forEach((id, i) => {
      writeManifest(home, manifest(id, { startedAt: `2026-01-0${i === 0 ? 1 : i === 1 ? 3 : 2}T00:00:00Z` }));
      appendEvents(home, id, metricLine('loss', 1, 0));
    });
    await until('three', async () => ((await client.listExperiments()).length === 3 ? true : undefined));
    assert.deepStrictEqual(
      (await client.listExperiments()).map((e) => e.id),
      [ids[1], ids[2], ids[0]],
    );
    const events: BackendEvent[] = [];
    const stream = new EventStream(
      client,
      (e) => events.push(e),
      () => undefined,
    );
    try {
      await until('hello', () => (events.length > 0 ? true : undefined));
      await client.deleteExperiment(ids[2]);
      assert.ok(!fs.existsSync(path.join(home, 'runs', ids[2])));
      assert.ok(!fs.existsSync(path.join(home, 'metrics', ids[2])));
      assert.deepStrictEqual(
        (await client.listExperiments()).map((e) => e.id),
        [ids[1], ids[0]],
      );
      await until('experimentDeleted', () =>
        events.some((e) => e.type === 'experimentDeleted' && e.id === ids[2]) ? true : undefined,
      );
    } finally {
      stream.dispose();
    }
    // deleting the project deletes its experiments
    const [project] = await client.listProjects();
    assert.deepStrictEqual((await client.projectContents(project.id)).records.experiments, 2);
    await client.deleteProject(project.id);
    assert.deepStrictEqual(fs.readdirSync(path.join(home, 'runs')), []);
    assert.ok(!fs.existsSync(path.join(home, 'metrics', ids[0])));
    // and a restart does not bring anything back
    await stop();
    await start();
    const p = await client.createProject('Again');
    await client.setActiveProject(p.id);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepStrictEqual(await client.listExperiments(), []);
  });

  it('answers unknown ids, unknown keys and bad queries with 4xx messages a person can act on', async () => {
    const id = '20260102-030405-abcd04';
    writeManifest(home, manifest(id));
    appendEvents(home, id, metricLine('loss', 1, 0));
    await withProject();
    await experiment(id);
    const port = backend!.port;
    let res = await raw(port, 'GET', '/api/experiments/nope');
    assert.strictEqual(res.status, 404);
    assert.match(errorOf(res).message, /No experiment with id "nope"/);
    res = await raw(port, 'DELETE', '/api/experiments/nope');
    assert.strictEqual(res.status, 404);
    res = await raw(port, 'GET', '/api/experiments/nope/metrics/loss');
    assert.match(errorOf(res).message, /No experiment with id "nope"/);
    res = await raw(port, 'GET', `/api/experiments/${id}/metrics/acc`);
    assert.strictEqual(res.status, 404);
    assert.match(errorOf(res).message, /has no metric "acc": its metrics are "loss"/);
    for (const q of ['maxPoints=abc', 'maxPoints=1', 'maxPoints=2.5', 'from=x', 'from=5&to=1', 'bogus=1']) {
      res = await raw(port, 'GET', `/api/experiments/${id}/metrics/loss?${q}`);
      assert.strictEqual(res.status, 400, q);
      assert.match(errorOf(res).message, /^Invalid request: /, q);
    }
    res = await raw(port, 'GET', `/api/experiments/${id}/metrics/loss?maxPoints=abc`);
    assert.match(errorOf(res).message, /maxPoints must be a whole number, e\.g\. maxPoints=2000/);
    res = await raw(port, 'GET', '/api/experiments?project=nope');
    assert.strictEqual(res.status, 404);
    await assert.rejects(client.getExperiment('nope'), (e: BackendError) => e.status === 404 && e.code === 'not_found');
    res = await raw(port, 'GET', '/api/experiments', { token: 'b'.repeat(64) });
    assert.strictEqual(res.status, 401);
  });

  it('downsamples long series by min/max per bucket, keeping NaN and Infinity visible', async () => {
    const id = '20260102-030405-abcd05';
    writeManifest(home, manifest(id));
    let lines = '';
    for (let s = 0; s < 10000; s++) {
      const v = s === 5003 ? 'NaN' : s === 7777 ? 'Infinity' : Math.sin(s / 100);
      lines += metricLine('train/loss', v, s);
    }
    appendEvents(home, id, lines);
    await withProject();
    await experiment(id, (x) => metric(x, 'train/loss')?.count === 10000);
    const s = await client.getMetricSeries(id, 'train/loss', { maxPoints: 200 });
    assert.strictEqual(s.total, 10000);
    assert.ok(s.steps.length <= 200 && s.steps.length >= 150, String(s.steps.length));
    assert.deepStrictEqual(
      s.special.map((x) => [s.steps[x.index], x.value]),
      [
        [5003, 'NaN'],
        [7777, 'Infinity'],
      ],
    );
    const finite = s.values.filter((v): v is number => v !== null);
    assert.ok(Math.max(...finite) > 0.9999 && Math.min(...finite) < -0.9999, 'extremes kept');
    assert.ok(
      s.steps.every((x, i) => i === 0 || x > s.steps[i - 1]),
      'in order',
    );
  });
});

import * as assert from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BackendError, type ApiClient } from '../../src/client/api-client';
import type { Experiment, MetricSummary } from '../../src/protocol/experiments';
import { REPO, tempHome } from './helpers';
import { spawnBackend, waitForExit } from './process-helpers';

/** Polls an async probe until it returns a value (not undefined/false); errors count as "not yet". */
async function eventuallyAsync<T>(probe: () => Promise<T | undefined | false>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) {
        return value;
      }
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) {
      throw new Error(`condition not met in time${last ? `: ${(last as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function summary(e: Experiment, key: string): MetricSummary | undefined {
  return e.metrics.find((m) => m.key === key);
}

describe('experiments: the Python client against a real backend process', function () {
  this.timeout(60000);
  let home: string;
  let root: string;
  let cleanup: () => void;
  let backend: { child: ChildProcess; client: ApiClient } | undefined;

  function pyEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: path.join(REPO, 'python'), MLLAB_HOME: home };
    delete env.MLLAB_RUN_DIR;
    delete env.MLLAB_EXPERIMENT_NAME;
    return env;
  }

  function script(name: string, body: string[]): string {
    const file = path.join(root, name);
    fs.writeFileSync(file, body.join('\n') + '\n');
    return file;
  }

  function python(args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync('python3', args, { cwd: root, env: pyEnv(), encoding: 'utf8', timeout: 30000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** The run id printed by the script as `id=<id>`. */
  function idOf(stdout: string): string {
    const m = /^id=(\S+)$/m.exec(stdout);
    assert.ok(m, `no run id in the output: ${stdout}`);
    return m[1];
  }

  async function start(): Promise<ApiClient> {
    backend = await spawnBackend(home);
    return backend.client;
  }

  async function stop(): Promise<void> {
    if (backend) {
      const { child, client } = backend;
      backend = undefined;
      client.dispose();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await waitForExit(child);
      }
    }
  }

  async function startWithActiveProject(): Promise<ApiClient> {
    const client = await start();
    const project = await client.createProject('Lab');
    await client.setActiveProject(project.id);
    return client;
  }

  beforeEach(() => {
    ({ home, cleanup } = tempHome());
    root = path.dirname(home);
  });
  afterEach(async () => {
    await stop();
    cleanup();
  });

  it('records params, metrics (NaN, infinities, unicode key, steps going backwards), an artifact and an input', async () => {
    const client = await startWithActiveProject();
    fs.writeFileSync(path.join(root, 'model.bin'), 'weights');
    const train = script('train.py', [
      'import mllab',
      'with mllab.experiment("baseline", params={"lr": 0.01, "layers": [64, 32]}) as exp:',
      '    print("id=" + exp.id)',
      '    exp.log_param("opt", "adam")',
      '    exp.log_metric("loss", 1.0)',
      '    exp.log_metric("loss", 0.5)',
      '    exp.log_metric("loss", float("nan"))',
      '    exp.log_metric("inf", float("inf"))',
      '    exp.log_metric("inf", 2.0)',
      '    exp.log_metric("inf", float("-inf"))',
      '    exp.log_metric("précision ✓ 精度", 0.25)',
      '    exp.log_metric("précision ✓ 精度", 0.75)',
      '    exp.log_metric("acc", 0.1, step=5)',
      '    exp.log_metric("acc", 0.2, step=3)',
      '    exp.log_metric("acc", 0.3, step=4)',
      '    exp.log_metric("acc", 0.4, step=3)',
      '    exp.log_artifact("model.bin")',
      '    exp.log_input("churn:v2")',
    ]);
    const r = python([train]);
    assert.strictEqual(r.status, 0, r.stderr);
    const id = idOf(r.stdout);

    const e = await eventuallyAsync(async () => {
      const d = await client.getExperiment(id);
      return d.status === 'completed' && summary(d, 'acc')?.count === 4 && d.inputs.length > 0 ? d : undefined;
    });
    assert.strictEqual(e.name, 'baseline');
    assert.strictEqual(e.exitCode, null); // a with block has no exit code (sys.exit(0) would give 0)
    assert.deepStrictEqual(e.params, { lr: 0.01, layers: [64, 32], opt: 'adam' });

    const loss = summary(e, 'loss')!;
    assert.deepStrictEqual(
      [loss.count, loss.last, loss.min, loss.max, loss.lastRaw, loss.lastStep],
      [3, 0.5, 0.5, 1, 'NaN', 2],
    );
    const inf = summary(e, 'inf')!;
    assert.deepStrictEqual([inf.count, inf.last, inf.min, inf.max, inf.lastRaw], [3, 2, 2, 2, '-Infinity']);
    const uni = summary(e, 'précision ✓ 精度')!;
    assert.deepStrictEqual([uni.count, uni.last, uni.min, uni.max, uni.lastRaw], [2, 0.75, 0.25, 0.75, 0.75]);
    const acc = summary(e, 'acc')!;
    assert.deepStrictEqual([acc.count, acc.last, acc.min, acc.max, acc.lastStep], [4, 0.4, 0.1, 0.4, 3]);

    assert.strictEqual(e.artifacts.length, 1);
    assert.strictEqual(path.basename(e.artifacts[0].path), 'model.bin');
    assert.strictEqual(fs.readFileSync(path.join(e.dir, e.artifacts[0].path), 'utf8'), 'weights');
    assert.strictEqual(path.basename(e.artifacts[0].source), 'model.bin');
    assert.deepStrictEqual(e.inputs, [{ dataset: 'churn', version: 2 }]);

    const accSeries = await client.getMetricSeries(id, 'acc');
    assert.deepStrictEqual(accSeries.steps, [5, 3, 4, 3]);
    assert.deepStrictEqual(accSeries.values, [0.1, 0.2, 0.3, 0.4]);
    assert.strictEqual(accSeries.total, 4);
    const lossSeries = await client.getMetricSeries(id, 'loss');
    assert.deepStrictEqual(lossSeries.steps, [0, 1, 2]);
    assert.deepStrictEqual(lossSeries.values, [1, 0.5, null]);
    assert.deepStrictEqual(lossSeries.special, [{ index: 2, value: 'NaN' }]);
    const infSeries = await client.getMetricSeries(id, 'inf');
    assert.deepStrictEqual(infSeries.values, [null, 2, null]);
    assert.deepStrictEqual(infSeries.special, [
      { index: 0, value: 'Infinity' },
      { index: 2, value: '-Infinity' },
    ]);
    const uniSeries = await client.getMetricSeries(id, 'précision ✓ 精度');
    assert.deepStrictEqual(uniSeries.values, [0.25, 0.75]);
    for (let i = 1; i < lossSeries.times.length; i++) {
      assert.ok(lossSeries.times[i] >= lossSeries.times[i - 1]);
    }

    const list = await client.listExperiments();
    assert.deepStrictEqual(
      list.map((x) => x.id),
      [id],
    );
  });

  it('a script that raises mid-run is failed, with the metrics logged before the error', async () => {
    const client = await startWithActiveProject();
    const crash = script('crash.py', [
      'import mllab',
      'with mllab.experiment("crash") as exp:',
      '    print("id=" + exp.id, flush=True)',
      '    for i in range(5):',
      '        exp.log_metric("loss", 1.0 / (i + 1))',
      '    raise ValueError("diverged")',
      '    exp.log_metric("loss", 99)',
    ]);
    const r = python([crash]);
    assert.notStrictEqual(r.status, 0);
    assert.match(r.stderr, /ValueError: diverged/);
    const id = idOf(r.stdout);
    const e = await eventuallyAsync(async () => {
      const d = await client.getExperiment(id);
      return d.status === 'failed' && summary(d, 'loss')?.count === 5 ? d : undefined;
    });
    const loss = summary(e, 'loss')!;
    assert.deepStrictEqual([loss.count, loss.last, loss.min, loss.max], [5, 0.2, 0.2, 1]);
    assert.match(e.tags.error ?? '', /ValueError/);
    assert.match(e.tags.error ?? '', /diverged/);
    assert.notStrictEqual(e.endedAt, null);
  });

  it('a script killed with SIGKILL becomes interrupted, keeping the metrics already written', async () => {
    const client = await startWithActiveProject();
    const killed = script('killed.py', [
      'import mllab, time',
      'exp = mllab.start_experiment("killed")',
      'for i in range(20):',
      '    exp.log_metric("loss", float(i))',
      'exp.flush()',
      'exp.log_metric("late", 1.0)',
      'time.sleep(0.3)  # the background writer writes "late" within 100 ms',
      'print("id=" + exp.id, flush=True)',
      'print("ready", flush=True)',
      'time.sleep(60)',
    ]);
    const child = spawn('python3', [killed], { cwd: root, env: pyEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await eventuallyAsync(async () => stdout.includes('ready\n') || (child.exitCode !== null && fail()), 30000);
    } finally {
      child.kill('SIGKILL');
    }
    function fail(): never {
      throw new Error(`the script ended early: ${stderr}`);
    }
    await waitForExit(child);
    const id = idOf(stdout);
    const killedAt = Date.now();
    const e = await eventuallyAsync(async () => {
      const d = await client.getExperiment(id);
      return d.status === 'interrupted' ? d : undefined;
    }, 15000);
    const noticedMs = Date.now() - killedAt;
    assert.ok(noticedMs < 10000, `noticed after ${noticedMs} ms`);
    assert.strictEqual(e.exitCode, null);
    assert.notStrictEqual(e.endedAt, null);
    const loss = summary(e, 'loss')!;
    assert.deepStrictEqual([loss.count, loss.last, loss.min, loss.max], [20, 19, 0, 19]);
    assert.strictEqual(summary(e, 'late')?.count, 1);
    assert.strictEqual(e.manifest.status, 'running'); // the file still says so: the backend decided
  });

  it('ingests a run written while the backend was down', async () => {
    await startWithActiveProject();
    await stop();
    const offline = script('offline.py', [
      'import mllab',
      'with mllab.experiment("offline", params={"batch": 32}) as exp:',
      '    print("id=" + exp.id)',
      '    for i in range(100):',
      '        exp.log_metric("loss", 100 - i)',
    ]);
    const r = python([offline]);
    assert.strictEqual(r.status, 0, r.stderr);
    const id = idOf(r.stdout);
    assert.ok(fs.existsSync(path.join(home, 'runs', id, 'events.jsonl')));

    const client = await start();
    const e = await eventuallyAsync(async () => {
      const d = await client.getExperiment(id);
      return d.status === 'completed' && summary(d, 'loss')?.count === 100 ? d : undefined;
    });
    assert.deepStrictEqual(e.params, { batch: 32 });
    const loss = summary(e, 'loss')!;
    assert.deepStrictEqual([loss.last, loss.min, loss.max, loss.lastStep], [1, 1, 100, 99]);
    const series = await client.getMetricSeries(id, 'loss');
    assert.strictEqual(series.total, 100);
    const active = await client.activeProject();
    assert.ok(active.projectId);
    assert.strictEqual(e.projectId, active.projectId);
  });

  it('notebook style: start_experiment, log_metric and end() in python3 -c', async () => {
    const client = await startWithActiveProject();
    const r = python([
      '-c',
      [
        'import mllab',
        'exp = mllab.start_experiment("nb")',
        'print("id=" + exp.id)',
        'exp.log_metric("x", 3)',
        'exp.log_metric("x", 4)',
        'exp.end()',
        'exp.end()',
      ].join('\n'),
    ]);
    assert.strictEqual(r.status, 0, r.stderr);
    const id = idOf(r.stdout);
    const e = await eventuallyAsync(async () => {
      const d = await client.getExperiment(id);
      return d.status === 'completed' && summary(d, 'x')?.count === 2 ? d : undefined;
    });
    assert.strictEqual(e.name, 'nb');
    const x = summary(e, 'x')!;
    assert.deepStrictEqual([x.last, x.min, x.max], [4, 3, 4]);
    const listed = await eventuallyAsync(async () => (await client.listExperiments()).find((l) => l.id === id));
    assert.strictEqual(listed.status, 'completed');
  });

  it('a dataset version that an experiment records as input is deleted only with force', async () => {
    const client = await startWithActiveProject();
    const csv = path.join(root, 'train.csv');
    fs.writeFileSync(csv, 'x\n1\n');
    await client.addDataset({ path: csv, name: 'train' });
    await client.addDataset({ path: csv, name: 'train' });
    const r = python([
      '-c',
      [
        'import mllab',
        'with mllab.experiment("uses-train") as exp:',
        '    exp.log_input("train:v1")',
        '    print("id=" + exp.id)',
      ].join('\n'),
    ]);
    assert.strictEqual(r.status, 0, r.stderr);
    const id = idOf(r.stdout);
    await eventuallyAsync(async () => ((await client.getExperiment(id)).inputs.length === 1 ? true : undefined));
    await assert.rejects(client.deleteDatasetVersion('train', 1), (e: BackendError) => {
      assert.strictEqual(e.status, 409);
      assert.match(e.message, new RegExp(`train:v1 is recorded as input by experiment uses-train \\(${id}\\)`));
      assert.match(e.message, /Delete anyway with force/);
      return true;
    });
    await client.deleteDatasetVersion('train', 2); // not an input: no question
    await client.deleteDatasetVersion('train', 1, undefined, true);
    await assert.rejects(client.getDatasetVersion('train', 1), /has no version 1|No dataset/);
  });
});

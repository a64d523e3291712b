import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import MLflow from 'mlflow';
import { TEST_TOKEN } from './helpers';
import { mlflowOk, mlflowLab } from './mlflow-helpers';

/** The error a call of the `mlflow` package failed with: it throws the JSON of {status, statusText, data}. */
function failure(e: unknown): { status: number; data: { error_code: string; message: string } } {
  const text = (e as Error).message.replace(/^Error: /, '');
  return JSON.parse(text) as { status: number; data: { error_code: string; message: string } };
}

async function refused(
  call: Promise<unknown>,
): Promise<{ status: number; data: { error_code: string; message: string } }> {
  try {
    await call;
  } catch (e) {
    return failure(e);
  }
  throw new Error('the call was expected to fail');
}

describe("MLflow API through the `mlflow` npm package (a Node client of MLflow's REST API written by others)", function () {
  this.timeout(60000);
  const api = mlflowLab();
  let client: MLflow;
  const log = console.log;

  before(async () => {
    client = new MLflow({
      endpoint: `http://127.0.0.1:${api.backend.port}`,
      headers: { Authorization: `Bearer ${TEST_TOKEN}` },
    });
    // the package prints every request body it sends
    console.log = () => undefined;
  });
  after(async () => {
    console.log = log;
  });

  it('covers every endpoint the package offers: experiments, runs, metrics, artifacts', async () => {
    const { Experiments, Runs, Metrics, Artifacts } = client;
    const { experiment_id } = (await Experiments.create({
      name: 'from-node',
      artifact_location: undefined as never,
    })) as { experiment_id: string };
    assert.strictEqual(api.backend.projects.get(experiment_id).name, 'from-node');
    const { experiment } = (await Experiments.get({ experiment_id })) as { experiment: { name: string } };
    assert.strictEqual(experiment.name, 'from-node');
    const listed = (await Experiments.list()) as { experiments: { name: string }[] };
    assert.deepStrictEqual(
      listed.experiments.map((e) => e.name),
      ['from-node'],
    );
    await Experiments.update({ experiment_id, new_name: 'from-node-2' });
    assert.strictEqual(api.backend.projects.get(experiment_id).name, 'from-node-2');
    await Experiments.delete({ experiment_id });
    const deleted = (await Experiments.list({ view_type: 'DELETED_ONLY' as never })) as {
      experiments: { name: string }[];
    };
    assert.deepStrictEqual(
      deleted.experiments.map((e) => e.name),
      ['from-node-2'],
    );
    await Experiments.restore({ experiment_id });
    // the package builds this one's URL without a "/" ("/experimentsset-experiment-tag"): the lab names what it does not serve
    const tag = await refused(Experiments.setExperimentTag({ experiment_id, key: 'k', value: 'v' }));
    assert.strictEqual(tag.status, 501);
    assert.strictEqual(tag.data.error_code, 'NOT_IMPLEMENTED');
    assert.match(tag.data.message, /experimentsset-experiment-tag/);

    const { run } = await Runs.create({
      experiment_id,
      user_id: 'ada',
      start_time: Date.now(),
      tags: [{ key: 'via', value: 'npm' }],
    });
    const run_id = run.info.run_id;
    await Runs.logParameter({ run_id, key: 'lr', value: '0.1' });
    await Runs.logMetric({ run_id, key: 'loss', value: 0.5, timestamp: 1000, step: 1 });
    await Runs.logMetric({ run_id, key: 'loss', value: 0.25, timestamp: 2000, step: 2 });
    await Runs.setTag({ run_id, key: 'stage', value: 'train' });
    await Runs.deleteTag({ run_id, key: 'stage' });
    await Runs.logBatch({
      run_id,
      metrics: [{ key: 'acc', value: 0.9, timestamp: 3000, step: 0 }],
      params: [{ key: 'depth', value: '4' }],
      tags: [{ key: 'data', value: 'iris' }],
    });
    const clash = await refused(Runs.logParameter({ run_id, key: 'lr', value: '0.2' }));
    assert.deepStrictEqual([clash.status, clash.data.error_code], [400, 'INVALID_PARAMETER_VALUE']);

    const got = (await Runs.get({ run_id })).run;
    const params = Object.fromEntries(got.data.params.map((p) => [p.key, p.value]));
    assert.deepStrictEqual(params, { lr: '0.1', depth: '4' });
    const tags = Object.fromEntries(got.data.tags.map((p) => [p.key, p.value]));
    assert.strictEqual(tags.via, 'npm');
    assert.strictEqual(tags.data, 'iris');
    assert.strictEqual(tags.stage, undefined);
    const history = (await Metrics.getHistory({ run_id, metric_key: 'loss' })) as {
      metrics: { value: number; step: number; timestamp: number }[];
    };
    assert.deepStrictEqual(
      history.metrics.map((m) => [m.step, m.value, m.timestamp]),
      [
        [1, 0.5, 1000],
        [2, 0.25, 2000],
      ],
    );
    const found = (await Runs.search({ experiment_ids: [experiment_id], filter: 'metrics.acc > 0.8' } as never)) as {
      runs: { info: { run_id: string } }[];
    };
    assert.deepStrictEqual(
      found.runs.map((r) => r.info.run_id),
      [run_id],
    );
    const none = (await Runs.search({ experiment_ids: [experiment_id], filter: 'metrics.acc > 0.95' } as never)) as {
      runs?: unknown[];
    };
    assert.strictEqual(none.runs, undefined, 'MLflow leaves out an empty list');

    // an artifact the lab holds for the run, listed through the package
    fs.mkdirSync(path.join(api.home, 'runs', run_id, 'artifacts', 'plots'), { recursive: true });
    fs.writeFileSync(path.join(api.home, 'runs', run_id, 'artifacts', 'plots', 'roc.png'), 'png');
    const files = (await Artifacts.list({ run_id, path: 'plots' })) as unknown as {
      files: { path: string; is_dir: boolean; file_size: number }[];
    };
    assert.deepStrictEqual(files.files, [{ path: 'plots/roc.png', is_dir: false, file_size: 3 }]);

    await Runs.update({ run_id, status: 'FINISHED' as never, end_time: Date.now() });
    await Runs.delete({ run_id });
    assert.strictEqual((await Runs.get({ run_id })).run.info.lifecycle_stage, 'deleted');
    await Runs.restore({ run_id });
    const ended = (await Runs.get({ run_id })).run.info;
    assert.deepStrictEqual([ended.status, ended.lifecycle_stage], ['FINISHED', 'active']);
    // what the package read is what the lab holds
    const lab = await mlflowOk<{ run: { info: { status: string } } }>(api.backend, 'GET', 'runs/get', { run_id });
    assert.strictEqual(lab.run.info.status, 'FINISHED');
  });

  it('is refused without the lab token, with an answer the package reports', async () => {
    const stranger = new MLflow({ endpoint: `http://127.0.0.1:${api.backend.port}` });
    const e = await refused(stranger.Experiments.list());
    assert.strictEqual(e.status, 401);
  });
});

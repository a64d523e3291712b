import * as assert from 'assert';
import type { MlflowExperiment, MlflowRun } from '../../src/protocol/mlflow';
import { raw, startBackend } from './helpers';
import { mlflowCall, mlflowOk, mlflowLab } from './mlflow-helpers';

describe('MLflow API on a fresh lab: the Default experiment, both prefixes, malformed requests', function () {
  this.timeout(60000);
  const api = mlflowLab();

  before(async () => {});
  after(async () => {});

  it('answers experiment 0 as missing while no project is active, and makes a "Default" project for the first run logged there', async () => {
    const before = await mlflowCall(api.backend, 'GET', 'experiments/get', { experiment_id: '0' });
    assert.strictEqual(before.status, 404);
    assert.match((before.json() as { message: string }).message, /no active project/);
    assert.deepStrictEqual(api.backend.projects.list(), [], 'a read creates nothing');
    // MLflow's clients log into experiment "0" when none is set
    const { run } = await mlflowOk<{ run: MlflowRun }>(api.backend, 'POST', 'runs/create', { experiment_id: '0' });
    const projects = api.backend.projects.list();
    assert.deepStrictEqual(
      projects.map((p) => p.name),
      ['Default'],
    );
    assert.strictEqual(api.backend.projects.activeId(), projects[0].id);
    assert.strictEqual(run.info.experiment_id, projects[0].id);
    const { experiment } = await mlflowOk<{ experiment: MlflowExperiment }>(
      api.backend,
      'GET',
      'experiments/get-by-name',
      {
        experiment_name: 'Default',
      },
    );
    assert.strictEqual(experiment.experiment_id, projects[0].id);
  });

  it('goes on with a run after a restart of the lab: its params and tags are read back from its run directory', async () => {
    const { run } = await mlflowOk<{ run: MlflowRun }>(api.backend, 'POST', 'runs/create', { experiment_id: '0' });
    const id = run.info.run_id;
    await mlflowOk(api.backend, 'POST', 'runs/log-batch', {
      run_id: id,
      params: [{ key: 'seed', value: '7' }],
      tags: [{ key: 'note', value: 'before' }],
      metrics: [{ key: 'loss', value: 1, timestamp: 1, step: 0 }],
    });
    await api.backend.stop('restart');
    api.backend = await startBackend(api.home);
    const clash = await mlflowCall(api.backend, 'POST', 'runs/log-parameter', { run_id: id, key: 'seed', value: '8' });
    assert.strictEqual(clash.status, 400, 'the param logged before the restart keeps its value');
    await mlflowOk(api.backend, 'POST', 'runs/delete-tag', { run_id: id, key: 'note' });
    await mlflowOk(api.backend, 'POST', 'runs/log-metric', {
      run_id: id,
      key: 'loss',
      value: 0.5,
      timestamp: 2,
      step: 1,
    });
    const got = (await mlflowOk<{ run: MlflowRun }>(api.backend, 'GET', 'runs/get', { run_id: id })).run;
    assert.deepStrictEqual(got.data.params, [{ key: 'seed', value: '7' }]);
    assert.ok(!got.data.tags.some((t) => t.key === 'note'));
    assert.deepStrictEqual(
      got.data.metrics.map((m) => [m.key, m.value, m.step]),
      [['loss', 0.5, 1]],
    );
    assert.strictEqual(got.info.status, 'RUNNING');
  });

  it("serves the same API under /ajax-api/2.0/mlflow/, and answers malformed requests and unknown endpoints in MLflow's format", async () => {
    const ajax = await mlflowCall(api.backend, 'POST', 'experiments/search', {}, '/ajax-api/2.0/mlflow');
    assert.strictEqual(ajax.status, 200, ajax.text);
    assert.deepStrictEqual(
      (ajax.json() as { experiments: MlflowExperiment[] }).experiments.map((e) => e.name),
      ['Default'],
    );
    const broken = await raw(api.backend.port, 'POST', '/api/2.0/mlflow/runs/log-metric', { body: '{"run_id": ' });
    assert.strictEqual(broken.status, 400);
    assert.strictEqual((broken.json() as { error_code: string }).error_code, 'MALFORMED_REQUEST');
    const text = await raw(api.backend.port, 'POST', '/api/2.0/mlflow/runs/log-metric', {
      body: 'run_id=1',
      headers: { 'content-type': 'text/plain' },
    });
    assert.strictEqual(text.status, 400);
    assert.strictEqual((text.json() as { error_code: string }).error_code, 'MALFORMED_REQUEST');
    const unknown = await mlflowCall(api.backend, 'POST', 'traces/create', {});
    assert.strictEqual(unknown.status, 501);
    const body = unknown.json() as { error_code: string; message: string; error: { code: string } };
    assert.deepStrictEqual([body.error_code, body.error.code], ['NOT_IMPLEMENTED', 'NOT_IMPLEMENTED']);
    assert.match(body.message, /POST \/api\/2\.0\/mlflow\/traces\/create/);
    const wrongMethod = await mlflowCall(api.backend, 'GET', 'runs/create');
    assert.strictEqual(wrongMethod.status, 501, 'only the methods MLflow uses are served');
    const noToken = await raw(api.backend.port, 'GET', '/api/2.0/mlflow/experiments/search', { token: null });
    assert.strictEqual(noToken.status, 401);
  });
});

import * as assert from 'assert';
import * as path from 'path';
import { Experiment } from '../../src/client/runs/experiment';
import { RunWriter } from '../../src/client/runs/run-writer';
import type { MlflowMetric, MlflowRun, MlflowRunInfo } from '../../src/protocol/mlflow';
import { mlflowCall, mlflowError, mlflowOk, mlflowLab, createExperiment } from './mlflow-helpers';

const tagsOf = (run: MlflowRun) => Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
const paramsOf = (run: MlflowRun) => Object.fromEntries(run.data.params.map((t) => [t.key, t.value]));

describe('MLflow tracking API: runs recorded into the lab and read back (raw HTTP)', function () {
  this.timeout(60000);
  const api = mlflowLab();
  let experimentId: string;

  before(async () => {
    experimentId = await createExperiment(api.backend, 'lab');
  });
  after(async () => {});

  const create = async (fields: Record<string, unknown> = {}) =>
    (await mlflowOk<{ run: MlflowRun }>(api.backend, 'POST', 'runs/create', { experiment_id: experimentId, ...fields }))
      .run;
  const get = async (runId: string) =>
    (await mlflowOk<{ run: MlflowRun }>(api.backend, 'GET', 'runs/get', { run_id: runId })).run;

  it('records a run as an ordinary lab run: params, metrics with step and time, tags, status, in the store and the run directory', async () => {
    const run = await create({
      run_name: 'baseline',
      start_time: 1767225600000,
      user_id: 'ada',
      tags: [
        { key: 'mlflow.source.name', value: 'train.py' },
        { key: 'mlflow.source.git.commit', value: 'abc123' },
      ],
    });
    assert.strictEqual(run.info.status, 'RUNNING');
    assert.strictEqual(run.info.run_name, 'baseline');
    assert.strictEqual(run.info.experiment_id, experimentId);
    assert.strictEqual(run.info.user_id, 'ada');
    assert.strictEqual(run.info.start_time, 1767225600000);
    assert.match(run.info.run_id, /^20260101-000000-[0-9a-f]{6}$/, 'a lab run id, from the start time');
    const id = run.info.run_id;
    await mlflowOk(api.backend, 'POST', 'runs/log-parameter', { run_id: id, key: 'lr', value: '0.01' });
    await mlflowOk(api.backend, 'POST', 'runs/log-metric', {
      run_id: id,
      key: 'loss',
      value: 0.9,
      timestamp: 1767225601000,
      step: 0,
    });
    await mlflowOk(api.backend, 'POST', 'runs/log-metric', {
      run_id: id,
      key: 'loss',
      value: 0.5,
      timestamp: 1767225602000,
      step: 1,
    });
    await mlflowOk(api.backend, 'POST', 'runs/log-metric', {
      run_id: id,
      key: 'loss',
      value: 'NaN',
      timestamp: '1767225603000',
      step: '2',
    });
    await mlflowOk(api.backend, 'POST', 'runs/set-tag', { run_id: id, key: 'phase', value: 'train' });
    await mlflowOk(api.backend, 'POST', 'runs/log-batch', {
      run_id: id,
      metrics: [{ key: 'acc', value: 0.75, timestamp: 1767225604000 }],
      params: [{ key: 'depth', value: '3' }],
      tags: [{ key: 'data', value: 'iris' }],
    });
    let got = await get(id);
    assert.deepStrictEqual(paramsOf(got), { lr: '0.01', depth: '3' });
    const metrics = Object.fromEntries(got.data.metrics.map((m) => [m.key, m]));
    assert.deepStrictEqual(metrics.loss, { key: 'loss', value: 'NaN', timestamp: 1767225603000, step: 2 });
    assert.deepStrictEqual(metrics.acc, { key: 'acc', value: 0.75, timestamp: 1767225604000, step: 0 });
    const tags = tagsOf(got);
    assert.strictEqual(tags.phase, 'train');
    assert.strictEqual(tags.data, 'iris');
    assert.strictEqual(tags['mlflow.source.git.commit'], 'abc123');
    assert.strictEqual(tags['mlflow.runName'], 'baseline');

    const history = await mlflowOk<{ metrics: MlflowMetric[] }>(api.backend, 'GET', 'metrics/get-history', {
      run_id: id,
      metric_key: 'loss',
    });
    assert.deepStrictEqual(history.metrics, [
      { key: 'loss', value: 0.9, timestamp: 1767225601000, step: 0 },
      { key: 'loss', value: 0.5, timestamp: 1767225602000, step: 1 },
      { key: 'loss', value: 'NaN', timestamp: 1767225603000, step: 2 },
    ]);

    // the lab itself sees an ordinary run: the experiment list, its details, its chart series
    const details = (await await fetch(`http://127.0.0.1:${api.backend.port}/api/experiments/${id}`, {
      headers: { authorization: `Bearer ${'a'.repeat(64)}` },
    }).then((r) => r.json())) as {
      name: string;
      projectId: string;
      params: Record<string, unknown>;
      dir: string;
      manifest: { git: { commit: string } };
    };
    assert.strictEqual(details.name, 'baseline');
    assert.strictEqual(details.projectId, experimentId);
    assert.deepStrictEqual(details.params, { lr: '0.01', depth: '3' });
    assert.strictEqual(details.manifest.git.commit, 'abc123');
    assert.strictEqual(path.dirname(details.dir), path.join(api.home, 'runs'));

    const ended = await mlflowOk<{ run_info: MlflowRunInfo }>(api.backend, 'POST', 'runs/update', {
      run_id: id,
      status: 'FINISHED',
      end_time: 1767225700000,
    });
    assert.strictEqual(ended.run_info.status, 'FINISHED');
    assert.strictEqual(ended.run_info.end_time, 1767225700000);
    got = await get(id);
    assert.strictEqual(got.info.status, 'FINISHED');
  });

  it("records dataset inputs (log-inputs) as the run's inputs; a lab dataset version is named by the digest v<N>", async () => {
    const id = (await create()).info.run_id;
    await mlflowOk(api.backend, 'POST', 'runs/log-inputs', {
      run_id: id,
      datasets: [
        { dataset: { name: 'iris', digest: 'v2', source_type: 'local', source: 'iris.csv' }, tags: [] },
        { dataset: { name: 'wine', digest: '3f2a9c', source_type: 'http', source: 'wine.csv' } },
      ],
    });
    const run = await get(id);
    assert.deepStrictEqual(
      run.inputs.dataset_inputs.map((d) => [d.dataset.name, d.dataset.digest]),
      [
        ['iris', 'v2'],
        ['wine', ''],
      ],
    );
    const lab = (
      await fetch(`http://127.0.0.1:${api.backend.port}/api/experiments/${id}`, {
        headers: { authorization: `Bearer ${'a'.repeat(64)}` },
      })
    ).json() as Promise<{ inputs: { dataset: string; version: number | null }[] }>;
    assert.deepStrictEqual((await lab).inputs, [
      { dataset: 'iris', version: 2 },
      { dataset: 'wine', version: null },
    ]);
    const noName = await mlflowError(api.backend, 'POST', 'runs/log-inputs', {
      run_id: id,
      datasets: [{ dataset: { digest: 'x' } }],
    });
    assert.deepStrictEqual([noName.status, noName.code], [400, 'INVALID_PARAMETER_VALUE']);
  });

  it('pages a metric history with max_results and page tokens', async () => {
    const id = (await create()).info.run_id;
    const metrics = Array.from({ length: 25 }, (_, i) => ({ key: 'm', value: i, timestamp: 1000 + i, step: i }));
    await mlflowOk(api.backend, 'POST', 'runs/log-batch', { run_id: id, metrics });
    const seen: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page: { metrics: MlflowMetric[]; next_page_token?: string } = await mlflowOk(
        api.backend,
        'GET',
        'metrics/get-history',
        {
          run_id: id,
          metric_key: 'm',
          max_results: 10,
          ...(token ? { page_token: token } : {}),
        },
      );
      seen.push(...page.metrics.map((m) => m.step));
      token = page.next_page_token;
      pages++;
    } while (token);
    assert.strictEqual(pages, 3);
    assert.deepStrictEqual(
      seen,
      Array.from({ length: 25 }, (_, i) => i),
    );
    const bad = await mlflowError(api.backend, 'GET', 'metrics/get-history', {
      run_id: id,
      metric_key: 'm',
      page_token: '%%%',
    });
    assert.deepStrictEqual([bad.status, bad.code], [400, 'INVALID_PARAMETER_VALUE']);
    const other = await mlflowOk<{ next_page_token: string }>(api.backend, 'GET', 'metrics/get-history', {
      run_id: id,
      metric_key: 'm',
      max_results: 1,
    });
    const mixed = await mlflowError(api.backend, 'GET', 'metrics/get-history', {
      run_id: id,
      metric_key: 'other',
      page_token: other.next_page_token,
    });
    assert.strictEqual(mixed.code, 'INVALID_PARAMETER_VALUE', "a token of another key's history is refused");
    const none = await mlflowOk<{ metrics: MlflowMetric[] }>(api.backend, 'GET', 'metrics/get-history', {
      run_id: id,
      metric_key: 'never',
    });
    assert.deepStrictEqual(none.metrics, []);
  });

  it('refuses what MLflow refuses, with its codes, and writes nothing of a refused request', async () => {
    const id = (await create()).info.run_id;
    await mlflowOk(api.backend, 'POST', 'runs/log-parameter', { run_id: id, key: 'alpha', value: '1' });
    await mlflowOk(api.backend, 'POST', 'runs/log-parameter', { run_id: id, key: 'alpha', value: '1' }); // the same value again: fine
    const changed = await mlflowError(api.backend, 'POST', 'runs/log-parameter', {
      run_id: id,
      key: 'alpha',
      value: '2',
    });
    assert.deepStrictEqual([changed.status, changed.code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(changed.message, /Changing param values is not allowed/);
    // a batch whose one param would change is refused whole: its metric is not logged either
    const batch = await mlflowError(api.backend, 'POST', 'runs/log-batch', {
      run_id: id,
      metrics: [{ key: 'half', value: 1, timestamp: 1 }],
      params: [{ key: 'alpha', value: '3' }],
    });
    assert.strictEqual(batch.code, 'INVALID_PARAMETER_VALUE');

    const many = (n: number, kind: string) =>
      Array.from({ length: n }, (_, i) => ({ key: `${kind}${i}`, value: `${i}` }));
    const tooManyMetrics = await mlflowError(api.backend, 'POST', 'runs/log-batch', {
      run_id: id,
      metrics: Array.from({ length: 1001 }, (_, i) => ({ key: 'x', value: i, timestamp: i })),
    });
    assert.deepStrictEqual([tooManyMetrics.status, tooManyMetrics.code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(tooManyMetrics.message, /at most 1000 metrics\. Got 1001/);
    const tooManyParams = await mlflowError(api.backend, 'POST', 'runs/log-batch', {
      run_id: id,
      params: many(101, 'p'),
    });
    assert.match(tooManyParams.message, /at most 100 params\. Got 101/);
    const tooManyTags = await mlflowError(api.backend, 'POST', 'runs/log-batch', { run_id: id, tags: many(101, 't') });
    assert.match(tooManyTags.message, /at most 100 tags\. Got 101/);
    const tooMany = await mlflowError(api.backend, 'POST', 'runs/log-batch', {
      run_id: id,
      metrics: Array.from({ length: 950 }, (_, i) => ({ key: 'x', value: i, timestamp: i })),
      params: many(60, 'p'),
    });
    assert.match(tooMany.message, /at most 1000 total metrics, params, and tags\. Got 1010/);
    const huge = await mlflowCall(api.backend, 'POST', 'runs/log-batch', {
      run_id: id,
      tags: [{ key: 'big', value: 'x'.repeat(1_100_000) }],
    });
    assert.strictEqual(huge.status, 400);
    assert.strictEqual((huge.json() as { error_code: string }).error_code, 'INVALID_PARAMETER_VALUE');
    const longKey = await mlflowError(api.backend, 'POST', 'runs/log-metric', {
      run_id: id,
      key: 'k'.repeat(251),
      value: 1,
      timestamp: 1,
    });
    assert.match(longKey.message, /exceeded length limit of 250/);
    const longValue = await mlflowError(api.backend, 'POST', 'runs/log-parameter', {
      run_id: id,
      key: 'v',
      value: 'v'.repeat(6001),
    });
    assert.match(longValue.message, /exceeded length limit of 6000/);
    const noTime = await mlflowError(api.backend, 'POST', 'runs/log-metric', { run_id: id, key: 'k', value: 1 });
    assert.match(noTime.message, /Missing value for required parameter 'timestamp'/);
    const badValue = await mlflowError(api.backend, 'POST', 'runs/log-metric', {
      run_id: id,
      key: 'k',
      value: 'high',
      timestamp: 1,
    });
    assert.match(badValue.message, /valid double/);
    const traversal = await mlflowError(api.backend, 'POST', 'runs/set-tag', { run_id: id, key: '../x', value: '1' });
    assert.strictEqual(traversal.code, 'INVALID_PARAMETER_VALUE');
    const unknown = await mlflowError(api.backend, 'GET', 'runs/get', { run_id: '20200101-000000-000000' });
    assert.deepStrictEqual([unknown.status, unknown.code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    const odd = await mlflowError(api.backend, 'POST', 'runs/log-metric', {
      run_id: '../../etc',
      key: 'k',
      value: 1,
      timestamp: 1,
    });
    assert.deepStrictEqual([odd.status, odd.code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    const badStatus = await mlflowError(api.backend, 'POST', 'runs/update', { run_id: id, status: 'DONE' });
    assert.strictEqual(badStatus.code, 'INVALID_PARAMETER_VALUE');

    const run = await get(id);
    assert.deepStrictEqual(paramsOf(run), { alpha: '1' });
    assert.deepStrictEqual(run.data.metrics, [], 'no metric of a refused request was written');
    assert.deepStrictEqual(
      Object.keys(tagsOf(run)).filter((k) => !k.startsWith('mlflow.')),
      [],
      'no tag of a refused request was written',
    );
  });

  it('deletes and restores a run (a mark, as in MLflow), deletes tags, renames, and refuses logging to a deleted run', async () => {
    const id = (await create({ run_name: 'first' })).info.run_id;
    await mlflowOk(api.backend, 'POST', 'runs/set-tag', { run_id: id, key: 'note', value: 'x' });
    await mlflowOk(api.backend, 'POST', 'runs/delete-tag', { run_id: id, key: 'note' });
    assert.strictEqual(tagsOf(await get(id)).note, undefined);
    const again = await mlflowError(api.backend, 'POST', 'runs/delete-tag', { run_id: id, key: 'note' });
    assert.deepStrictEqual([again.status, again.code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    await mlflowOk(api.backend, 'POST', 'runs/update', { run_id: id, run_name: 'second' });
    assert.strictEqual((await get(id)).info.run_name, 'second');

    await mlflowOk(api.backend, 'POST', 'runs/delete', { run_id: id });
    assert.strictEqual((await get(id)).info.lifecycle_stage, 'deleted');
    const refused = await mlflowError(api.backend, 'POST', 'runs/log-metric', {
      run_id: id,
      key: 'k',
      value: 1,
      timestamp: 1,
    });
    assert.match(refused.message, /must be in the 'active' state/);
    const search = async (view: string) =>
      (
        (
          await mlflowOk<{ runs?: MlflowRun[] }>(api.backend, 'POST', 'runs/search', {
            experiment_ids: [experimentId],
            run_view_type: view,
          })
        ).runs ?? []
      ).map((r) => r.info.run_id);
    assert.ok(!(await search('ACTIVE_ONLY')).includes(id));
    assert.deepStrictEqual(await search('DELETED_ONLY'), [id]);
    await mlflowOk(api.backend, 'POST', 'runs/restore', { run_id: id });
    assert.strictEqual((await get(id)).info.lifecycle_stage, 'active');
    assert.ok((await search('ACTIVE_ONLY')).includes(id));
  });

  it("reads runs recorded by the lab's own client: params, metrics, and the mlflow.* system tags from run.json", async () => {
    const writer = RunWriter.create({
      home: api.home,
      name: 'node-run',
      project: experimentId,
      params: { epochs: 3, opt: { name: 'adam' } },
      command: ['node', 'train.js'],
      cwd: api.home,
    });
    const exp = new Experiment(writer);
    exp.logMetric('loss', 0.25, 7);
    exp.setTag('kind', 'node');
    exp.end('completed', 0);
    // the ingest takes the run in the background: read it once it has ended
    let got: MlflowRun | undefined;
    const deadline = Date.now() + 20000;
    while (got?.info.status !== 'FINISHED' && Date.now() < deadline) {
      const res = await mlflowCall(api.backend, 'GET', 'runs/get', { run_id: exp.id });
      got = res.status === 200 ? (res.json() as { run: MlflowRun }).run : undefined;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(got, 'the run was read through MLflow');
    assert.deepStrictEqual(paramsOf(got), { epochs: '3', opt: '{"name":"adam"}' });
    assert.deepStrictEqual(
      got.data.metrics.map((m) => [m.key, m.value, m.step]),
      [['loss', 0.25, 7]],
    );
    const tags = tagsOf(got);
    assert.strictEqual(tags.kind, 'node');
    assert.strictEqual(tags['mlflow.runName'], 'node-run');
    assert.strictEqual(tags['mlflow.source.name'], 'node train.js');
    assert.ok(tags['mlflow.user'], 'the operator is mlflow.user');
    // and MLflow can log into it too (a param it does not hold yet)
    await mlflowOk(api.backend, 'POST', 'runs/log-parameter', { run_id: exp.id, key: 'extra', value: 'yes' });
    const clash = await mlflowError(api.backend, 'POST', 'runs/log-parameter', {
      run_id: exp.id,
      key: 'epochs',
      value: '4',
    });
    assert.strictEqual(clash.code, 'INVALID_PARAMETER_VALUE');
  });
});

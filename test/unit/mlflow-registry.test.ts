import * as assert from 'assert';
import * as fs from 'fs';
import type { MlflowModelVersion, MlflowRegisteredModel, MlflowRun } from '../../src/protocol/mlflow';
import { raw } from './helpers';
import { mlflowError, mlflowOk, mlflowLab } from './mlflow-helpers';

const BINARY = { 'content-type': 'application/octet-stream' };

describe("MLflow model registry onto the lab's models, versions and aliases (raw HTTP)", function () {
  this.timeout(60000);
  const api = mlflowLab();
  let run: MlflowRun;
  const weights = Buffer.from('pickled weights of a model');

  /** An MLflow model folder as log_model uploads it: MLmodel, the model file, its requirements. */
  async function logModelFolder(r: MlflowRun, folder: string, extra: Record<string, string> = {}): Promise<void> {
    const base = `/api/2.0/mlflow-artifacts/artifacts/${r.info.experiment_id}/${r.info.run_id}/artifacts/${folder}`;
    const files: Record<string, string | Buffer> = {
      MLmodel: 'flavors:\n  sklearn:\n    pickled_model: model.pkl\n',
      'model.pkl': weights,
      'requirements.txt': 'scikit-learn\n',
      ...extra,
    };
    for (const [name, body] of Object.entries(files)) {
      const res = await raw(api.backend.port, 'PUT', `${base}/${name}`, { body, headers: BINARY });
      assert.strictEqual(res.status, 200, res.text);
    }
    await mlflowOk(api.backend, 'POST', 'runs/log-model', {
      run_id: r.info.run_id,
      model_json: JSON.stringify({ artifact_path: folder, flavors: { sklearn: { pickled_model: 'model.pkl' } } }),
    });
  }

  before(async () => {
    const { experiment_id } = await mlflowOk<{ experiment_id: string }>(api.backend, 'POST', 'experiments/create', {
      name: 'reg',
    });
    run = (await mlflowOk<{ run: MlflowRun }>(api.backend, 'POST', 'runs/create', { experiment_id })).run;
    await logModelFolder(run, 'model');
  });
  after(async () => {});

  it('registers a model logged by a run, points an alias at it and resolves models:/name@alias to its files', async () => {
    const got = await mlflowOk<{ run: MlflowRun }>(api.backend, 'GET', 'runs/get', { run_id: run.info.run_id });
    const history = got.run.data.tags.find((t) => t.key === 'mlflow.log-model.history');
    assert.ok(history && (JSON.parse(history.value) as { artifact_path: string }[])[0].artifact_path === 'model');

    const created = await mlflowOk<{ registered_model: MlflowRegisteredModel }>(
      api.backend,
      'POST',
      'registered-models/create',
      {
        name: 'iris',
        description: 'flowers',
        tags: [{ key: 'owner', value: 'ada' }],
      },
    );
    assert.deepStrictEqual(created.registered_model.latest_versions, []);
    const dup = await mlflowError(api.backend, 'POST', 'registered-models/create', { name: 'iris' });
    assert.deepStrictEqual([dup.status, dup.code], [400, 'RESOURCE_ALREADY_EXISTS']);

    const { model_version: v1 } = await mlflowOk<{ model_version: MlflowModelVersion }>(
      api.backend,
      'POST',
      'model-versions/create',
      {
        name: 'iris',
        source: `runs:/${run.info.run_id}/model`,
        run_id: run.info.run_id,
        tags: [{ key: 'stage', value: 'candidate' }],
      },
    );
    assert.strictEqual(v1.version, '1');
    assert.strictEqual(v1.run_id, run.info.run_id);
    assert.deepStrictEqual(v1.tags, [{ key: 'stage', value: 'candidate' }]);
    // a lab model version: one file, the model file of the folder, traced to the run
    const lab = api.backend.projects.list().find((p) => p.name === 'reg')!;
    const model = (await (
      await fetch(`http://127.0.0.1:${api.backend.port}/api/models/iris?project=${lab.id}`, {
        headers: { authorization: `Bearer ${'a'.repeat(64)}` },
      })
    ).json()) as { description: string; versions: { fileName: string; experimentId: string; path: string }[] };
    assert.strictEqual(model.description, 'flowers');
    assert.deepStrictEqual(
      model.versions.map((v) => [v.fileName, v.experimentId]),
      [['model.pkl', run.info.run_id]],
    );
    assert.deepStrictEqual(fs.readFileSync(model.versions[0].path), weights);

    await mlflowOk(api.backend, 'POST', 'registered-models/alias', { name: 'iris', alias: 'production', version: '1' });
    const byAlias = await mlflowOk<{ model_version: MlflowModelVersion }>(
      api.backend,
      'GET',
      'registered-models/alias',
      {
        name: 'iris',
        alias: 'production',
      },
    );
    assert.strictEqual(byAlias.model_version.version, '1');
    assert.deepStrictEqual(byAlias.model_version.aliases, ['production']);
    const { artifact_uri } = await mlflowOk<{ artifact_uri: string }>(
      api.backend,
      'GET',
      'model-versions/get-download-uri',
      {
        name: 'iris',
        version: '1',
      },
    );
    assert.strictEqual(artifact_uri, `runs:/${run.info.run_id}/model`);
    // what MLflow's client then downloads: the folder's files through the artifact proxy
    const file = await fetch(
      `http://127.0.0.1:${api.backend.port}/api/2.0/mlflow-artifacts/artifacts/${run.info.experiment_id}/${run.info.run_id}/artifacts/model/model.pkl`,
      { headers: { authorization: `Bearer ${'a'.repeat(64)}` } },
    );
    assert.deepStrictEqual(Buffer.from(await file.arrayBuffer()), weights);

    const full = await mlflowOk<{ registered_model: MlflowRegisteredModel }>(
      api.backend,
      'GET',
      'registered-models/get',
      {
        name: 'iris',
      },
    );
    assert.deepStrictEqual(full.registered_model.aliases, [{ alias: 'production', version: '1' }]);
    assert.deepStrictEqual(full.registered_model.tags, [{ key: 'owner', value: 'ada' }]);
    assert.strictEqual(full.registered_model.latest_versions[0].version, '1');
    await mlflowOk(api.backend, 'DELETE', 'registered-models/alias', { name: 'iris', alias: 'production' });
    const gone = await mlflowError(api.backend, 'GET', 'registered-models/alias', {
      name: 'iris',
      alias: 'production',
    });
    assert.deepStrictEqual([gone.status, gone.code], [404, 'RESOURCE_DOES_NOT_EXIST']);
  });

  it('searches, tags, describes and deletes models and versions; refuses what MLflow refuses', async () => {
    const second = await mlflowOk<{ model_version: MlflowModelVersion }>(api.backend, 'POST', 'model-versions/create', {
      name: 'iris',
      source: `mlflow-artifacts:/${run.info.experiment_id}/${run.info.run_id}/artifacts/model`,
    });
    assert.strictEqual(second.model_version.version, '2');
    const models = await mlflowOk<{ registered_models: MlflowRegisteredModel[] }>(
      api.backend,
      'GET',
      'registered-models/search',
      {
        filter: "name LIKE 'ir%'",
      },
    );
    assert.deepStrictEqual(
      models.registered_models.map((m) => m.name),
      ['iris'],
    );
    const versions = await mlflowOk<{ model_versions: MlflowModelVersion[] }>(
      api.backend,
      'GET',
      'model-versions/search',
      {
        filter: "name = 'iris'",
      },
    );
    assert.deepStrictEqual(
      versions.model_versions.map((v) => v.version),
      ['2', '1'],
    );
    const paged = await mlflowOk<{ model_versions: MlflowModelVersion[]; next_page_token: string }>(
      api.backend,
      'GET',
      'model-versions/search',
      {
        filter: `run_id = '${run.info.run_id}'`,
        max_results: 1,
      },
    );
    assert.strictEqual(paged.model_versions.length, 1);
    assert.ok(paged.next_page_token);
    await mlflowOk(api.backend, 'POST', 'model-versions/set-tag', {
      name: 'iris',
      version: '2',
      key: 'ok',
      value: 'yes',
    });
    await mlflowOk(api.backend, 'DELETE', 'model-versions/delete-tag', { name: 'iris', version: '2', key: 'ok' });
    await mlflowOk(api.backend, 'PATCH', 'model-versions/update', {
      name: 'iris',
      version: '2',
      description: 'retrained',
    });
    const v2 = await mlflowOk<{ model_version: MlflowModelVersion }>(api.backend, 'GET', 'model-versions/get', {
      name: 'iris',
      version: '2',
    });
    assert.deepStrictEqual([v2.model_version.description, v2.model_version.tags], ['retrained', []]);
    await mlflowOk(api.backend, 'POST', 'registered-models/set-tag', { name: 'iris', key: 'team', value: 'ml' });
    await mlflowOk(api.backend, 'DELETE', 'registered-models/delete-tag', { name: 'iris', key: 'team' });
    await mlflowOk(api.backend, 'PATCH', 'registered-models/update', { name: 'iris', description: 'iris flowers' });
    const latest = await mlflowOk<{ model_versions: MlflowModelVersion[] }>(
      api.backend,
      'POST',
      'registered-models/get-latest-versions',
      { name: 'iris' },
    );
    assert.deepStrictEqual(
      latest.model_versions.map((v) => v.version),
      ['2'],
    );

    const rename = await mlflowError(api.backend, 'POST', 'registered-models/rename', {
      name: 'iris',
      new_name: 'iris2',
    });
    assert.deepStrictEqual([rename.status, rename.code], [501, 'NOT_IMPLEMENTED']);
    const stage = await mlflowError(api.backend, 'POST', 'model-versions/transition-stage', {
      name: 'iris',
      version: '1',
      stage: 'Production',
    });
    assert.deepStrictEqual([stage.status, stage.code], [501, 'NOT_IMPLEMENTED']);
    assert.match(stage.message, /model-versions\/transition-stage/);
    const unknown = await mlflowError(api.backend, 'GET', 'registered-models/get', { name: 'nope' });
    assert.deepStrictEqual([unknown.status, unknown.code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    const noVersion = await mlflowError(api.backend, 'GET', 'model-versions/get', { name: 'iris', version: '9' });
    assert.deepStrictEqual([noVersion.status, noVersion.code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    const badSource = await mlflowError(api.backend, 'POST', 'model-versions/create', {
      name: 'iris',
      source: 's3://bucket/model',
    });
    assert.deepStrictEqual([badSource.status, badSource.code], [400, 'INVALID_PARAMETER_VALUE']);
    await logModelFolder(run, 'two', { 'extra.bin': 'more' });
    const two = await mlflowError(api.backend, 'POST', 'model-versions/create', {
      name: 'iris',
      source: `runs:/${run.info.run_id}/two`,
    });
    assert.strictEqual(two.code, 'INVALID_PARAMETER_VALUE');
    assert.match(two.message, /2 files/);
    const noModel = await mlflowError(api.backend, 'POST', 'model-versions/create', {
      name: 'other',
      source: `runs:/${run.info.run_id}/model`,
    });
    assert.strictEqual(noModel.code, 'RESOURCE_DOES_NOT_EXIST', 'a version needs its registered model');

    await mlflowOk(api.backend, 'DELETE', 'model-versions/delete', { name: 'iris', version: '2' });
    const after = await mlflowOk<{ registered_model: MlflowRegisteredModel }>(
      api.backend,
      'GET',
      'registered-models/get',
      {
        name: 'iris',
      },
    );
    assert.strictEqual(after.registered_model.latest_versions[0].version, '1');
    await mlflowOk(api.backend, 'DELETE', 'registered-models/delete', { name: 'iris' });
    const deleted = await mlflowError(api.backend, 'GET', 'registered-models/get', { name: 'iris' });
    assert.strictEqual(deleted.code, 'RESOURCE_DOES_NOT_EXIST');
  });
});

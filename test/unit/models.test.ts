import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { MODEL_VERSION_ENV } from '../../src/backend/models/deploy';
import { ServiceRepository } from '../../src/backend/services/repository';
import { ApiClient, BackendError } from '../../src/client/api-client';
import { startExperiment } from '../../src/client';
import type { BackendEvent } from '../../src/protocol/api';
import { parseModelRef } from '../../src/protocol/models';
import { errorOf, raw, REPO, startBackend, tempHome, TEST_TOKEN } from './helpers';

async function rejects(p: Promise<unknown>, status: number, code: string, message?: RegExp): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BackendError, String(e));
    assert.strictEqual(e.status, status, e.message);
    assert.strictEqual(e.code, code, e.message);
    if (message) {
      assert.match(e.message, message);
    }
    return e;
  }
  assert.fail(`expected ${status} ${code}`);
}

async function until<T>(probe: () => Promise<T | undefined>, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > end) {
      throw new Error(`condition not met in ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('models: the registry over HTTP with a real store', function () {
  this.timeout(60000);
  let home: string;
  let root: string;
  let cleanup: () => void;
  let backend: Backend;
  let client: ApiClient;
  let events: BackendEvent[];
  let unsubscribe: () => void;

  const file = (name: string, content: string) => {
    const f = path.join(root, name);
    fs.writeFileSync(f, content);
    return f;
  };

  async function start(): Promise<void> {
    backend = await startBackend(home);
    client = new ApiClient(backend.port, TEST_TOKEN);
    events = [];
    unsubscribe = backend.events.subscribe((e) => events.push(e));
  }

  async function stop(): Promise<void> {
    unsubscribe();
    client.dispose();
    await backend.stop('test done');
  }

  beforeEach(async () => {
    ({ home, cleanup } = tempHome());
    root = path.dirname(home);
    await start();
    const project = await client.createProject('Lab');
    await client.setActiveProject(project.id);
  });
  afterEach(async () => {
    await stop();
    cleanup();
  });

  it('registers files as versions v1..vN in the blob store, content stored once', async () => {
    const a = await client.registerModel({ name: 'iris', path: file('a.pkl', 'model A'), description: 'first' });
    const b = await client.registerModel({ name: 'iris', path: file('b.pkl', 'model B'), tags: ['small'] });
    const c = await client.registerModel({ name: 'IRIS', path: file('c.pkl', 'model A') });
    assert.deepStrictEqual(
      [a, b, c].map((v) => [v.name, v.version]),
      [
        ['iris', 1],
        ['iris', 2],
        ['iris', 3],
      ],
    );
    assert.strictEqual(a.sha256, c.sha256);
    assert.strictEqual(a.path, c.path);
    assert.strictEqual(fs.readFileSync(b.path, 'utf8'), 'model B');
    assert.strictEqual(fs.statSync(b.path).mode & 0o222, 0, 'stored read-only');
    assert.deepStrictEqual([a.description, b.tags, a.fileName, a.experimentId], ['first', ['small'], 'a.pkl', null]);
    const list = await client.listModels();
    assert.deepStrictEqual(
      list.map((m) => [m.name, m.versions.map((v) => v.version)]),
      [['iris', [1, 2, 3]]],
    );
    assert.strictEqual((await client.getModelVersion('iris')).version, 3);
    assert.strictEqual((await client.getModelVersion('iris', 2)).sha256, b.sha256);
    assert.ok(events.some((e) => e.type === 'modelChanged' && e.model.versions.length === 3));
    // numbers are never reused: deleting v3 and registering again gives v4
    await client.deleteModelVersion('iris', 3);
    assert.ok(fs.existsSync(a.path), 'v1 still uses the content');
    assert.strictEqual((await client.registerModel({ name: 'iris', path: file('d.pkl', 'D') })).version, 4);
  });

  it('moves aliases between versions and resolves them', async () => {
    await client.registerModel({ name: 'churn', path: file('1.pkl', '1') });
    await client.registerModel({ name: 'churn', path: file('2.pkl', '2') });
    let model = await client.setModelAlias('churn', 'Production', 1);
    assert.deepStrictEqual(model.aliases, { production: 1 });
    model = await client.setModelAlias('churn', 'staging', 2);
    model = await client.setModelAlias('churn', 'production', 2);
    assert.deepStrictEqual(model.aliases, { production: 2, staging: 2 });
    assert.deepStrictEqual(
      model.versions.map((v) => v.aliases),
      [[], ['production', 'staging']],
    );
    assert.strictEqual((await client.getModelVersion('churn', 'production')).version, 2);
    model = await client.setModelAlias('churn', 'staging', 1);
    assert.deepStrictEqual(model.aliases, { production: 2, staging: 1 });
    model = await client.removeModelAlias('churn', 'staging');
    assert.deepStrictEqual(model.aliases, { production: 2 });
    // deleting a version drops its aliases
    await client.deleteModelVersion('churn', 2);
    assert.deepStrictEqual((await client.getModel('churn')).aliases, {});
    await rejects(client.getModelVersion('churn', 'production'), 404, 'not_found', /no alias "production"/);
    // description and tags of the model
    const updated = await client.updateModel('churn', { description: 'predicts churn', tags: ['tabular'] });
    assert.deepStrictEqual([updated.description, updated.tags], ['predicts churn', ['tabular']]);
  });

  it('traces a version logged by a Python run to its experiment: params, metrics, input datasets', async () => {
    const script = file(
      'train.py',
      [
        'import mllab',
        'with mllab.experiment("train", params={"C": 0.5}) as exp:',
        '    exp.log_metric("accuracy", 0.9)',
        '    exp.log_metric("accuracy", 0.95)',
        '    exp.log_input("iris-data:v2")',
        '    with open("model.pkl", "wb") as f:',
        '        f.write(b"pickled")',
        '    exp.log_model("model.pkl", "iris", description="logistic regression", tags=["sklearn"])',
        '    print("id=" + exp.id)',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: path.join(REPO, 'python'), MLLAB_HOME: home };
    delete env.MLLAB_RUN_DIR;
    const r = spawnSync('python3', [script], { cwd: root, env, encoding: 'utf8', timeout: 30000 });
    assert.strictEqual(r.status, 0, r.stderr);
    const runId = /id=(\S+)/.exec(r.stdout)![1];
    const version = await until(async () => (await client.listModels())[0]?.versions[0]);
    assert.deepStrictEqual(
      [version.name, version.version, version.experimentId, version.description, version.tags, version.fileName],
      ['iris', 1, runId, 'logistic regression', ['sklearn'], 'model.pkl'],
    );
    assert.strictEqual(version.sourcePath, path.join(home, 'runs', runId, 'artifacts', 'model.pkl'));
    // the model is registered as the pass reads it, the run's row is committed with the pass
    const details = await until(async () => {
      const d = await client.getModelVersion('iris', 1);
      return d.lineage?.experimentName ? d : undefined;
    });
    assert.strictEqual(details.lineage?.experimentName, 'train');
    assert.deepStrictEqual(details.lineage?.params, { C: 0.5 });
    assert.deepStrictEqual(
      details.lineage?.metrics.map((m) => [m.key, m.last, m.count]),
      [['accuracy', 0.95, 2]],
    );
    assert.deepStrictEqual(details.lineage?.inputs, [{ dataset: 'iris-data', version: 2 }]);
    // the experiment lists the model file as an artifact
    assert.deepStrictEqual(
      (await client.getExperiment(runId)).artifacts.map((a) => a.path),
      ['artifacts/model.pkl'],
    );
    // registering an experiment's artifact through the API: the path is relative to its run directory
    const v2 = await client.registerModel({ name: 'iris', path: 'artifacts/model.pkl', experimentId: runId });
    assert.deepStrictEqual([v2.version, v2.experimentId, v2.sha256], [2, runId, version.sha256]);
    await rejects(
      client.registerModel({ name: 'iris', path: '../../x', experimentId: runId }),
      400,
      'outside_run',
      /outside the experiment's run directory/,
    );
    // a restart reads the runs again: the logged model is not registered twice, its blob is kept
    await stop();
    await start();
    await new Promise((r) => setTimeout(r, 300));
    assert.deepStrictEqual(
      (await client.getModel('iris')).versions.map((v) => v.version),
      [1, 2],
    );
    assert.ok(fs.existsSync(version.path), 'the start-up collection keeps blobs of model versions');
    // a deleted experiment leaves the id as the record of where the version came from
    await client.deleteExperiment(runId);
    const orphan = await client.getModelVersion('iris', 1);
    assert.deepStrictEqual(orphan.lineage, {
      experimentId: runId,
      experimentName: null,
      params: {},
      metrics: [],
      inputs: [],
    });
  });

  it('registers a model logged by the Node client (exp.logModel)', async () => {
    const exp = startExperiment('node-train', { home, params: { lr: 0.1 } });
    exp.logMetric('loss', 0.2);
    assert.throws(() => exp.logModel(file('x.bin', 'x'), 'a/b'), /looks like a path/);
    assert.throws(() => exp.logModel(path.join(root, 'missing.bin'), 'm'), /no model file/);
    const copy = exp.logModel(file('n.bin', 'node model'), 'node-model', {
      entryPoint: 'predictor:predict',
      tags: ['node'],
    });
    exp.end('completed', 0);
    assert.strictEqual(fs.readFileSync(copy, 'utf8'), 'node model');
    const v = await until(async () => (await client.listModels())[0]?.versions[0]);
    assert.deepStrictEqual(
      [v.name, v.version, v.experimentId, v.entryPoint, v.tags, v.fileName],
      ['node-model', 1, exp.id, 'predictor:predict', ['node'], 'n.bin'],
    );
    // the model is registered as the pass reads it, the run's row is committed with the pass: the
    // lineage names the run's params once that is in
    const lineage = await until(async () => {
      const l = (await client.getModelVersion('node-model')).lineage;
      return l?.experimentName ? l : undefined;
    });
    assert.deepStrictEqual(lineage.params, { lr: 0.1 });
  });

  it('refuses to delete a version a running service uses, unless forced', async () => {
    const v = await client.registerModel({ name: 'served', path: file('s.pkl', 'served') });
    // a service deployed from v1 (as POST /api/models/:name/deploy records it)
    await new ServiceRepository(backend.store).insert(v.projectId, {
      name: 'served-v1',
      image: 'mllab-model-server:x',
      command: [],
      env: { [MODEL_VERSION_ENV]: v.id },
      ports: [{ hostIp: '127.0.0.1', hostPort: 1, containerPort: 8080 }],
      volumes: [{ hostPath: v.path, containerPath: '/model/s.pkl', readOnly: true }],
      restart: 'no',
      healthPath: '/health',
    });
    const details = await client.getModelVersion('served', 1);
    assert.deepStrictEqual(
      details.services.map((s) => s.name),
      ['served-v1'],
    );
    await rejects(client.deleteModelVersion('served', 1), 409, 'in_use', /served by the service "served-v1".*force/);
    assert.ok(fs.existsSync(v.path));
    await client.deleteModelVersion('served', 1, undefined, true);
    assert.ok(!fs.existsSync(v.path), 'the blob goes with its last version');
    assert.deepStrictEqual(await client.listModels(), []);
    assert.ok(events.some((e) => e.type === 'modelDeleted' && e.name === 'served'));
  });

  it('answers bad input with 4xx a person can act on', async () => {
    const ok = file('ok.pkl', 'ok');
    await rejects(client.registerModel({ name: 'm', path: 'rel.pkl' }), 400, 'relative_path', /absolute path/);
    await rejects(
      client.registerModel({ name: 'm', path: path.join(root, 'missing.pkl') }),
      400,
      'not_found',
      /no model file/,
    );
    await rejects(client.registerModel({ name: 'm', path: root }), 400, 'not_a_file', /one file/);
    await rejects(client.registerModel({ name: 'a/b', path: ok }), 400, 'invalid_name', /looks like a path/);
    await rejects(
      client.registerModel({ name: 'm', path: ok, entryPoint: 'no colon' }),
      400,
      'invalid_entry_point',
      /module:function/,
    );
    await rejects(client.registerModel({ name: 'm', path: ok, experimentId: 'nope' }), 404, 'not_found');
    await rejects(client.getModel('m'), 404, 'not_found', /mllab model list/);
    await client.registerModel({ name: 'm', path: ok });
    await rejects(client.getModelVersion('m', 7), 404, 'not_found', /no version 7: its versions are v1/);
    await rejects(client.setModelAlias('m', 'v2', 1), 400, 'invalid_alias');
    await rejects(client.setModelAlias('m', 'latest', 1), 400, 'invalid_alias');
    await rejects(client.setModelAlias('m', 'prod', 9), 404, 'not_found');
    await rejects(client.removeModelAlias('m', 'prod'), 404, 'not_found');
    // schema checks: unknown fields, a missing base image, "latest" for a delete
    let res = await raw(backend.port, 'POST', '/api/models', { body: JSON.stringify({ name: 'm', path: ok, x: 1 }) });
    assert.strictEqual(res.status, 400, res.text);
    res = await raw(backend.port, 'POST', '/api/models/m/deploy', { body: '{}' });
    assert.strictEqual(res.status, 400);
    assert.match(errorOf(res).message, /baseImage/);
    res = await raw(backend.port, 'DELETE', '/api/models/m/versions/latest');
    assert.strictEqual(res.status, 400);
    await rejects(
      client.deployModel('m', { baseImage: 'Not An Image!' }),
      400,
      'invalid_image',
      /not a valid image name/,
    );
  });

  it('deleting the project removes its models and their files', async () => {
    const v = await client.registerModel({ name: 'gone', path: file('g.pkl', 'gone') });
    const contents = await client.projectContents('Lab');
    assert.strictEqual(contents.records.models, 1);
    assert.strictEqual(contents.records['model versions'], 1);
    await client.deleteProject('Lab');
    assert.ok(!fs.existsSync(v.path));
  });

  it('parses model references', () => {
    assert.deepStrictEqual(parseModelRef('iris'), { name: 'iris', version: 'latest' });
    assert.deepStrictEqual(parseModelRef('iris:v2'), { name: 'iris', version: 2 });
    assert.deepStrictEqual(parseModelRef('iris:3'), { name: 'iris', version: 3 });
    assert.deepStrictEqual(parseModelRef('iris@production'), { name: 'iris', version: 'production' });
  });
});

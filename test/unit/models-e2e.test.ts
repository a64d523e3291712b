import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { BackendError, type ApiClient } from '../../src/client/api-client';
import type { Service } from '../../src/protocol/containers';
import { labBackend, readStream, removeContainersOf, requireDocker, until, waitForRun } from './docker-helpers';
import { REPO, tempHome } from './helpers';

/** Debian's python3-sklearn in a local image (scripts/ensure-sklearn-image.sh); nothing is pulled. */
const SKLEARN = 'mllab-test/python-sklearn:1';

function hasImage(image: string): boolean {
  return spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status === 0;
}

/** Undefined when the sklearn image exists (building it once if needed), else why not. */
function sklearnProblem(): string | undefined {
  if (hasImage(SKLEARN)) {
    return undefined;
  }
  const r = spawnSync('bash', [path.join(REPO, 'scripts', 'ensure-sklearn-image.sh')], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  return hasImage(SKLEARN) ? undefined : `scripts/ensure-sklearn-image.sh said: ${r.stderr.trim().slice(-500)}`;
}

/** The fields of the model server's answers that the test reads. */
interface ServerAnswer {
  predictions: number[];
  error: { message: string };
  status: string;
  modelType: string;
  name: string;
  version: number;
  nFeatures: number;
}

/** A JSON request to a model server on 127.0.0.1. */
function call(
  port: number,
  method: string,
  route: string,
  body?: unknown,
): Promise<{ status: number; json: ServerAnswer }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: route,
        agent: false,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += String(c)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as ServerAnswer }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const TRAIN = `
import json, os
import joblib
import mllab
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
C = float(os.environ.get("C", "1.0"))
with mllab.experiment("iris-train", params={"C": C}) as exp:
    model = LogisticRegression(C=C, max_iter=1000).fit(X_train, y_train)
    exp.log_metric("accuracy", model.score(X_test, y_test))
    joblib.dump(model, "/tmp/iris.joblib")
    exp.log_model("/tmp/iris.joblib", "iris", description="logistic regression on iris")
    rows = X_test[:6]
    print("EXPECT " + json.dumps({"rows": rows.tolist(), "labels": y_test[:6].tolist(),
                                  "predictions": model.predict(rows).tolist()}))
`;

describe('models end to end: train in a job, register, deploy, predict over HTTP', function () {
  this.timeout(600_000);
  let home: string;
  let cleanup: () => void;
  let backend: Backend;
  let client: ApiClient;
  let workspace: string;
  const startPeriod = process.env.MLLAB_HEALTH_START_PERIOD_MS;

  before(async function () {
    await requireDocker(this);
    const problem = sklearnProblem();
    if (problem) {
      process.stderr.write(`Model end-to-end tests skipped: the image ${SKLEARN} cannot be built here: ${problem}\n`);
      this.skip();
    }
    // a model that fails to load is reported unhealthy after this, not after the default minute
    process.env.MLLAB_HEALTH_START_PERIOD_MS = '3000';
    ({ home, cleanup } = tempHome());
    ({ backend, client } = await labBackend(home));
    // the workspace mounted into the job: the training script and the Python client
    workspace = path.join(path.dirname(home), 'workspace');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, 'train.py'), TRAIN);
    fs.cpSync(path.join(REPO, 'python', 'mllab'), path.join(workspace, 'mllab'), {
      recursive: true,
      filter: (f) => !f.includes('__pycache__'),
    });
  });
  after(async () => {
    if (startPeriod === undefined) {
      delete process.env.MLLAB_HEALTH_START_PERIOD_MS;
    } else {
      process.env.MLLAB_HEALTH_START_PERIOD_MS = startPeriod;
    }
    if (client) {
      client.dispose();
      await backend.stop('test done');
      await removeContainersOf(home);
      cleanup();
    }
  });

  /** Runs the training script as a job; returns its experiment id and what it expects. */
  async function train(job: string, env: string[]): Promise<{ runId: string; expect: Expectation }> {
    await client.createJob({
      name: job,
      image: SKLEARN,
      command: ['python3', '/workspace/train.py'],
      env: ['PYTHONPATH=/workspace', ...env],
      workspace,
    });
    const run = await waitForRun(client, (await client.runJob(job)).id, ['succeeded', 'failed'], 180_000);
    const logs = await readStream(await client.jobRunLogs(run.id));
    assert.strictEqual(run.state, 'succeeded', logs);
    const line = logs.split('\n').find((l) => l.startsWith('EXPECT '));
    assert.ok(line, logs);
    return { runId: path.basename(run.runDir), expect: JSON.parse(line.slice(7)) as Expectation };
  }

  interface Expectation {
    rows: number[][];
    labels: number[];
    predictions: number[];
  }

  async function healthy(name: string, status: Service['status'] = 'healthy'): Promise<Service> {
    return until(
      async () => {
        const s = await client.getService(name);
        return s.status === status ? s : undefined;
      },
      120_000,
      `service ${name} ${status}`,
    );
  }

  it('serves correct predictions of a model trained and logged in a job; bad input and a bad model fail clearly', async () => {
    const first = await train('train', []);
    // the tracker ingests the job's run and registers the logged model with lineage
    const v1 = await until(async () => (await client.listModels())[0]?.versions[0], 30_000, 'model registered');
    assert.deepStrictEqual([v1.name, v1.version, v1.experimentId], ['iris', 1, first.runId]);
    const details = await client.getModelVersion('iris', 1);
    assert.deepStrictEqual(details.lineage?.params, { C: 1 });
    assert.deepStrictEqual(
      details.lineage?.metrics.map((m) => m.key),
      ['accuracy'],
    );

    await client.setModelAlias('iris', 'production', 1);
    const deployed = await client.deployModel('iris', { version: 'production', baseImage: SKLEARN });
    assert.strictEqual(deployed.name, 'iris-v1');
    assert.deepStrictEqual(
      deployed.volumes.map((v) => [v.hostPath, v.readOnly]),
      [[v1.path, true]],
    );
    const service = await healthy('iris-v1');
    const port = service.ports[0];
    assert.strictEqual(port.hostIp, '127.0.0.1');
    const { rows, predictions, labels } = first.expect;
    // the training run's own predictions, and mostly the true labels
    const predict = await call(port.hostPort, 'POST', '/predict', { inputs: rows });
    assert.strictEqual(predict.status, 200, JSON.stringify(predict.json));
    assert.deepStrictEqual(predict.json.predictions, predictions);
    assert.ok(predictions.filter((p, i) => p === labels[i]).length >= 5, JSON.stringify({ predictions, labels }));
    // MLflow's formats
    const columns = ['sepal length', 'sepal width', 'petal length', 'petal width'];
    const split = await call(port.hostPort, 'POST', '/invocations', { dataframe_split: { columns, data: rows } });
    assert.deepStrictEqual(split.json.predictions, predictions);
    const records = rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]])));
    const byRecords = await call(port.hostPort, 'POST', '/invocations', { dataframe_records: records });
    assert.deepStrictEqual(byRecords.json.predictions, predictions);
    assert.deepStrictEqual(
      (await call(port.hostPort, 'POST', '/invocations', { instances: rows })).json.predictions,
      predictions,
    );
    assert.deepStrictEqual(
      (await call(port.hostPort, 'POST', '/invocations', { inputs: [rows[0]] })).json.predictions,
      predictions.slice(0, 1),
    );
    // what it serves
    const info = await call(port.hostPort, 'GET', '/info');
    assert.strictEqual(info.json.modelType, 'sklearn.linear_model._logistic.LogisticRegression');
    assert.deepStrictEqual([info.json.name, info.json.version, info.json.nFeatures], ['iris', 1, 4]);
    // the wrong shape: 400 with the reason
    const short = await call(port.hostPort, 'POST', '/predict', { inputs: [[5.1, 3.5, 1.4]] });
    assert.strictEqual(short.status, 400);
    assert.match(short.json.error.message, /row 0 has 3 values, but the model expects 4 features/);
    const ragged = await call(port.hostPort, 'POST', '/invocations', {
      instances: [
        [1, 2, 3, 4],
        [1, 2],
      ],
    });
    assert.strictEqual(ragged.status, 400);
    assert.match(ragged.json.error.message, /row 1 has 2 values but row 0 has 4/);
    const unknown = await call(port.hostPort, 'POST', '/invocations', { tensor: [] });
    assert.strictEqual(unknown.status, 400);
    assert.match(unknown.json.error.message, /dataframe_split/);

    // the running service keeps its version from being deleted
    await assert.rejects(client.deleteModelVersion('iris', 1), (e: BackendError) => e.status === 409);

    // a model file that does not load: unhealthy, with the loader's error in the service's logs
    const broken = path.join(path.dirname(home), 'broken.pkl');
    fs.writeFileSync(broken, 'this is not a pickle');
    await client.registerModel({ name: 'broken', path: broken });
    await client.deployModel('broken', { baseImage: SKLEARN });
    const sick = await healthy('broken-v1', 'unhealthy');
    const health = await call(sick.ports[0].hostPort, 'GET', '/health');
    assert.strictEqual(health.status, 503);
    assert.strictEqual(health.json.status, 'failed');
    const logs = await readStream(await client.serviceLogs('broken-v1'));
    assert.match(logs, /cannot load the model \/model\/broken\.pkl: \w*Error/);
    // /health carries the loader's error as a string
    const loaderError = (health.json as unknown as { error: string }).error;
    assert.ok(logs.includes(loaderError), logs);

    // v2 from a second training run; "production" moves to it and deploys by its alias
    const second = await train('train-c01', ['C=0.1']);
    const v2 = await until(async () => {
      const m = await client.getModel('iris');
      return m.versions.find((v) => v.version === 2);
    });
    assert.strictEqual(v2.experimentId, second.runId);
    const moved = await client.setModelAlias('iris', 'production', 2);
    assert.deepStrictEqual(moved.aliases, { production: 2 });
    assert.deepStrictEqual(
      moved.versions.map((v) => [v.version, v.aliases]),
      [
        [1, []],
        [2, ['production']],
      ],
    );
    const productionService = await client.deployModel('iris', { version: 'production', baseImage: SKLEARN });
    assert.strictEqual(productionService.name, 'iris-v2');
    const served = await healthy('iris-v2');
    const again = await call(served.ports[0].hostPort, 'POST', '/predict', { inputs: second.expect.rows });
    assert.deepStrictEqual(again.json.predictions, second.expect.predictions);
    assert.strictEqual((await call(served.ports[0].hostPort, 'GET', '/info')).json.version, 2);
  });
});

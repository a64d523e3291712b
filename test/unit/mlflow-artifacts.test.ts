import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { ExperimentDetails } from '../../src/protocol/experiments';
import type { MlflowFileInfo, MlflowRun } from '../../src/protocol/mlflow';
import { raw } from './helpers';
import { mlflowOk, mlflowLab } from './mlflow-helpers';

const BINARY = { 'content-type': 'application/octet-stream' };

describe("MLflow artifact proxy: log_artifact without shared storage (the run directory's artifacts/)", function () {
  this.timeout(60000);
  const api = mlflowLab();
  let run: MlflowRun;
  let base: string;

  before(async () => {
    const { experiment_id } = await mlflowOk<{ experiment_id: string }>(api.backend, 'POST', 'experiments/create', {
      name: 'art',
    });
    run = (await mlflowOk<{ run: MlflowRun }>(api.backend, 'POST', 'runs/create', { experiment_id })).run;
    // the artifact URI MLflow's client turns into proxy paths
    assert.strictEqual(run.info.artifact_uri, `mlflow-artifacts:/${experiment_id}/${run.info.run_id}/artifacts`);
    base = `/api/2.0/mlflow-artifacts/artifacts/${experiment_id}/${run.info.run_id}/artifacts`;
  });
  after(async () => {});

  it("uploads, lists and downloads artifacts; the lab lists them as the run's artifacts", async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    let res = await raw(api.backend.port, 'PUT', `${base}/model/model.pkl`, { body: bytes, headers: BINARY });
    assert.strictEqual(res.status, 200, res.text);
    res = await raw(api.backend.port, 'PUT', `${base}/notes.txt`, { body: 'first', headers: BINARY });
    assert.strictEqual(res.status, 200, res.text);
    res = await raw(api.backend.port, 'PUT', `${base}/notes.txt`, { body: 'second', headers: BINARY });
    assert.strictEqual(res.status, 200, res.text);
    const dir = path.join(api.home, 'runs', run.info.run_id);
    assert.deepStrictEqual(fs.readFileSync(path.join(dir, 'artifacts', 'model', 'model.pkl')), bytes);
    assert.strictEqual(fs.readFileSync(path.join(dir, 'artifacts', 'notes.txt'), 'utf8'), 'second');
    assert.deepStrictEqual(fs.readdirSync(path.join(api.home, 'tmp')), [], 'no temp file is left');

    const down = await new Promise<Buffer>((resolve, reject) => {
      void fetch(`http://127.0.0.1:${api.backend.port}${base}/model/model.pkl`, {
        headers: { authorization: `Bearer ${'a'.repeat(64)}` },
      })
        .then((r) => r.arrayBuffer())
        .then((b) => resolve(Buffer.from(b)), reject);
    });
    assert.deepStrictEqual(down, bytes);

    const listed = await raw(
      api.backend.port,
      'GET',
      `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(base.split('/artifacts/')[1])}`,
    );
    assert.strictEqual(listed.status, 200, listed.text);
    assert.deepStrictEqual((listed.json() as { files: MlflowFileInfo[] }).files, [
      { path: 'model', is_dir: true },
      { path: 'notes.txt', is_dir: false, file_size: 6 },
    ]);
    const sub = await mlflowOk<{ files: MlflowFileInfo[]; root_uri: string }>(api.backend, 'GET', 'artifacts/list', {
      run_id: run.info.run_id,
      path: 'model',
    });
    assert.deepStrictEqual(sub.files, [{ path: 'model/model.pkl', is_dir: false, file_size: 70_000 }]);
    assert.strictEqual(sub.root_uri, run.info.artifact_uri);

    // the lab's own view of the run lists each artifact once (the second upload replaced the file)
    for (;;) {
      const details = (
        await raw(api.backend.port, 'GET', `/api/experiments/${run.info.run_id}`)
      ).json() as ExperimentDetails;
      if (details.artifacts.length === 2) {
        assert.deepStrictEqual(details.artifacts.map((a) => a.path).sort(), [
          'artifacts/model/model.pkl',
          'artifacts/notes.txt',
        ]);
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it("refuses paths outside the run, unknown runs and missing files in MLflow's words, and names what it does not serve", async () => {
    const outside = await raw(api.backend.port, 'PUT', `${base}/../run.json`, { body: 'x', headers: BINARY });
    assert.strictEqual(outside.status, 400);
    const noRun = await raw(
      api.backend.port,
      'PUT',
      `/api/2.0/mlflow-artifacts/artifacts/x/20200101-000000-000000/artifacts/a.txt`,
      {
        body: 'x',
        headers: BINARY,
      },
    );
    assert.deepStrictEqual(
      [noRun.status, (noRun.json() as { error_code: string }).error_code],
      [404, 'RESOURCE_DOES_NOT_EXIST'],
    );
    const notArtifacts = await raw(
      api.backend.port,
      'PUT',
      `/api/2.0/mlflow-artifacts/artifacts/x/${run.info.run_id}/run.json`,
      {
        body: '{}',
        headers: BINARY,
      },
    );
    assert.strictEqual(notArtifacts.status, 400);
    assert.match((notArtifacts.json() as { message: string }).message, /<experiment id>\/<run id>\/artifacts\/<path>/);
    const missing = await raw(api.backend.port, 'GET', `${base}/nothing.bin`);
    assert.deepStrictEqual(
      [missing.status, (missing.json() as { error_code: string }).error_code],
      [404, 'RESOURCE_DOES_NOT_EXIST'],
    );
    fs.symlinkSync('/etc/hostname', path.join(api.home, 'runs', run.info.run_id, 'artifacts', 'link'));
    const link = await raw(api.backend.port, 'GET', `${base}/link`);
    assert.strictEqual(link.status, 404, 'a symbolic link in a run directory is never followed');
    const del = await raw(api.backend.port, 'DELETE', `${base}/notes.txt`);
    assert.strictEqual(del.status, 501);
    assert.match((del.json() as { message: string }).message, /DELETE \/api\/2\.0\/mlflow-artifacts\/artifacts\//);
    const none = await raw(api.backend.port, 'PUT', `${base}/x.txt`, { token: null, body: 'x', headers: BINARY });
    assert.strictEqual(none.status, 401);
    assert.ok(!fs.existsSync(path.join(api.home, 'runs', run.info.run_id, 'artifacts', 'x.txt')));
  });
});

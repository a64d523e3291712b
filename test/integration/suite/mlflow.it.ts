import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MlLab } from '../../../src/extension/lab';
import type { Project } from '../../../src/protocol/api';
import type { Experiment } from '../../../src/protocol/experiments';
import { closeTestProject, openTestProject, screenshot, waitFor } from './helpers';

/**
 * A training script that knows only MLflow's REST API (Python's standard library, as any HTTP client
 * of MLflow would call it): it creates a run in the "Default" experiment, logs a param and metrics,
 * waits until told to go on (so that the test sees the run while it is running), then ends the run.
 */
const SCRIPT = `import json, os, sys, time, urllib.request
base = os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/"
def call(endpoint, body):
    req = urllib.request.Request(base + endpoint, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": "Bearer " + os.environ["MLFLOW_TRACKING_TOKEN"]})
    with urllib.request.urlopen(req) as res:
        return json.loads(res.read() or b"{}")
run = call("runs/create", {"experiment_id": "0", "run_name": "mlflow-it", "start_time": int(time.time() * 1000),
                           "tags": [{"key": "mlflow.source.name", "value": "train_mlflow.py"}]})["run"]["info"]
run_id = run["run_id"]
call("runs/log-parameter", {"run_id": run_id, "key": "alpha", "value": "0.5"})
for step in range(20):
    call("runs/log-metric", {"run_id": run_id, "key": "loss", "value": 1.0 / (step + 1),
                             "timestamp": int(time.time() * 1000), "step": step})
print("logged", run_id, flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
call("runs/log-batch", {"run_id": run_id, "metrics": [{"key": "acc", "value": 0.9, "timestamp": int(time.time() * 1000)}]})
call("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)})
print("done", flush=True)
`;

describe('MLflow API in a real VS Code extension host: a script logging through MLflow shows up live', () => {
  let lab: MlLab;
  let project: Project | undefined;
  let folder: string;

  before(async () => {
    ({ lab, project } = await openTestProject('MLflow IT'));
    folder = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'mlflow-it');
    fs.mkdirSync(folder, { recursive: true });
  });

  after(async () => {
    await closeTestProject(lab, project);
    if (folder) {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('shows the MLflow run running in the Experiments view, with its param and metrics, then completed', async () => {
    const home = lab.backend.home!;
    const registration = JSON.parse(fs.readFileSync(path.join(home, 'run', 'backend.json'), 'utf8')) as {
      port: number;
      token: string;
    };
    const script = path.join(folder, 'train_mlflow.py');
    fs.writeFileSync(script, SCRIPT);
    const goOn = path.join(folder, 'go-on');
    const child = spawn('python3', [script, goOn], {
      env: {
        ...process.env,
        MLFLOW_TRACKING_URI: `http://127.0.0.1:${registration.port}`,
        MLFLOW_TRACKING_TOKEN: registration.token,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      // live: the run is in the view while the script still runs, in the active project ("Default")
      const running = await waitFor(
        'the MLflow run to show running with its 20 points',
        () =>
          lab.experiments.items.find(
            (e: Experiment) =>
              e.name === 'mlflow-it' &&
              e.status === 'running' &&
              e.metrics.some((m) => m.key === 'loss' && m.count === 20),
          ),
        60000,
      );
      assert.strictEqual(running.projectId, project!.id);
      assert.deepStrictEqual(running.params, { alpha: '0.5' });
      assert.strictEqual(running.metrics.find((m) => m.key === 'loss')!.last, 1 / 20);
      assert.match(String(lab.experimentsTree.getTreeItem(running).description), /running/);
      await vscode.commands.executeCommand('workbench.view.extension.mllab');
      await new Promise((r) => setTimeout(r, 1000)); // let the workbench draw the last tree update
      await screenshot('mlflow-run-live');

      fs.writeFileSync(goOn, '');
      const done = await waitFor(
        'the MLflow run to complete with its last metric',
        () =>
          lab.experiments.items.find(
            (e: Experiment) =>
              e.id === running.id && e.status === 'completed' && e.metrics.some((m) => m.key === 'acc'),
          ),
        60000,
      );
      assert.strictEqual(done.exitCode, 0);
      assert.match(String(lab.experimentsTree.getTreeItem(done).description), /loss 0\.05/);
      assert.strictEqual(await exited, 0, output);
      assert.match(output, /done/);
    } finally {
      child.kill();
    }
  });
});

import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MlLabApi } from '../../../src/extension/extension';
import type { MlLab } from '../../../src/extension/lab';
import type { ImageItem } from '../../../src/extension/docker/images';
import type { Project } from '../../../src/protocol/api';
import type { Experiment } from '../../../src/protocol/experiments';
import { closeTestProject, waitFor } from './helpers';

/**
 * The first hour of a newcomer (issue 19): the status bar before the views are opened, the ports
 * the backend must not forward, Run as Experiment (the name in code, one short terminal per script,
 * the environment and git state of the script), a dataset's click, and a job that imports mllab
 * and loads a dataset by name in a plain Python image.
 */
const PYTHON_IMAGE = 'mllab-test/python-sklearn:1';

describe('The first hour with ML Lab in a real VS Code extension host', () => {
  let api: MlLabApi;
  let lab: MlLab;
  let project: Project | undefined;
  let folder: string;
  const workspace = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

  before(async () => {
    api = await vscode.extensions.getExtension<MlLabApi>('mllab.mllab')!.activate();
    lab = api.lab;
    folder = path.join(workspace(), 'first-hour-it');
    fs.mkdirSync(folder, { recursive: true });
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace
      .getConfiguration('mllab')
      .update('jobs.runFileImage', undefined, vscode.ConfigurationTarget.Workspace);
    await closeTestProject(lab, project);
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('activates on startup without a lab home or a backend, shows "ML Lab", and starts both once the views open', async function () {
    const manifest = vscode.extensions.getExtension('mllab.mllab')!.packageJSON as { activationEvents: string[] };
    assert.ok(manifest.activationEvents.includes('onStartupFinished'), 'the status bar item shows from startup');
    const home = lab.backend.home!;
    if (api.homeExistedAtActivation || lab.backend.state.kind !== 'starting' || fs.existsSync(home)) {
      // an earlier suite of this run opened the views already: only a fresh window shows the rest
      this.skip();
    }
    await new Promise((r) => setTimeout(r, 1500)); // what startup does by itself has had its chance
    assert.strictEqual(fs.existsSync(home), false, 'no lab home is created at startup');
    assert.strictEqual(lab.backend.state.kind, 'starting');
    assert.strictEqual(lab.statusBar.text, '$(beaker) ML Lab');
    await vscode.commands.executeCommand('workbench.view.extension.mllab');
    await waitFor('the backend to connect', () => lab.backend.state.kind === 'connected');
    assert.ok(fs.existsSync(home), 'the lab home exists once the views opened');
    assert.notStrictEqual(lab.statusBar.text, '$(beaker) ML Lab');
  });

  it('opens a project (views shown) and marks the backend port as never forwarded', async () => {
    await vscode.commands.executeCommand('workbench.view.extension.mllab');
    await waitFor('the backend to connect', () => lab.backend.state.kind === 'connected');
    project = await lab.backend.client.createProject(`First hour ${Date.now()}`);
    await lab.backend.client.setActiveProject(project.id);
    await waitFor('the project to be active', () => lab.projects.activeProject?.id === project!.id);
    await waitFor('the status bar to show it', () => lab.statusBar.text === `$(beaker) ${project!.name}`);

    const attributes = vscode.workspace
      .getConfiguration('remote')
      .get<Record<string, { onAutoForward?: string }>>('portsAttributes', {});
    const entries = Object.entries(attributes).filter(([, v]) => v.onAutoForward === 'ignore');
    assert.ok(entries.length > 0, `remote.portsAttributes: ${JSON.stringify(attributes)}`);
    // the key is a regular expression over the command line of the process listening on the port
    const state = lab.backend.state;
    assert.ok(state.kind === 'connected');
    const commandLine = fs.readFileSync(`/proc/${state.pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    assert.ok(
      entries.some(([key]) => new RegExp(key).test(commandLine)),
      `no ignore rule matches the backend's command line: ${commandLine}`,
    );
  });

  it('names a run after mllab.experiment("name"), records its Python, reuses one short terminal per script', async function () {
    this.timeout(240000);
    const repo = path.join(folder, 'repo');
    fs.mkdirSync(path.join(repo, 'scratch'), { recursive: true });
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
        cwd: repo,
        stdio: 'pipe',
      });
    git('init', '-q');
    fs.writeFileSync(path.join(repo, '.gitignore'), 'scratch/\n');
    git('add', '.gitignore');
    git('commit', '-q', '-m', 'ignore scratch');
    const script = path.join(repo, 'scratch', 'train.py');
    fs.writeFileSync(
      script,
      'import mllab\nwith mllab.experiment("sensor-faults") as exp:\n    exp.log_metric("acc", 0.9)\n',
    );
    fs.writeFileSync(path.join(repo, 'scratch', 'params.json'), JSON.stringify({ depth: 3 }));
    await vscode.window.showTextDocument(vscode.Uri.file(script));
    const terminal = await vscode.commands.executeCommand<vscode.Terminal>('mllab.experiment.run');
    assert.strictEqual(terminal.name, 'ML Lab: train.py');
    assert.strictEqual(lab.runTerminals.cli, 'mllab', 'the CLI is on the terminal PATH as "mllab"');
    const launcher = path.join(lab.runTerminals.binFolder!, 'mllab');
    assert.strictEqual(execFileSync(launcher, ['--version'], { encoding: 'utf8' }).trim().length > 0, true);
    const options = terminal.creationOptions as vscode.TerminalOptions;
    assert.ok(String(options.env?.PATH).startsWith(lab.runTerminals.binFolder!));
    const first = await waitFor(
      'the run to complete',
      () => lab.experiments.items.find((e: Experiment) => e.status === 'completed' && e.params.depth === 3),
      90000,
    );
    assert.strictEqual(first.name, 'sensor-faults', 'the name in code wins over the file name');
    const details = await lab.backend.client.getExperiment(first.id);
    assert.ok(details.manifest.runtime.python, JSON.stringify(details.manifest.runtime));
    assert.strictEqual(details.manifest.runtime.node, undefined);
    assert.strictEqual(details.manifest.packages, 'packages.txt');
    assert.strictEqual(details.manifest.git?.script, 'ignored');

    // the next run of the same script goes into the same terminal once its shell is idle
    await waitFor('the shell to be idle', async () => {
      const again = await vscode.commands.executeCommand<vscode.Terminal>('mllab.experiment.run');
      return again === terminal || (again.dispose(), false);
    });
    await waitFor(
      'the second run to complete',
      () =>
        lab.experiments.items.filter((e: Experiment) => e.name === 'sensor-faults' && e.status === 'completed')
          .length >= 2,
      90000,
    );
    assert.strictEqual(vscode.window.terminals.filter((t) => t.name === 'ML Lab: train.py').length, 1);
    terminal.dispose();
  });

  it('runs the sample workspace: train.py reads its dataset by name, records the input and logs a model', async function () {
    this.timeout(180000);
    const sample = path.join(folder, 'sample');
    fs.cpSync(path.resolve(__dirname, '..', '..', '..', '..', 'demo', 'sample-workspace'), sample, { recursive: true });
    const rows = ['timestamp,temperature,vibration,label'];
    for (let i = 0; i < 100; i++) {
      const fault = i % 10 === 0;
      rows.push(
        `2026-01-01T00:00:${i % 60},${fault ? 88 + (i % 5) : 60 + (i % 10)},${fault ? 0.9 : 0.3},${fault ? 'fault' : 'ok'}`,
      );
    }
    fs.mkdirSync(path.join(sample, 'data'));
    fs.writeFileSync(path.join(sample, 'data', 'sensor-readings.csv'), rows.join('\n') + '\n');
    const version = await lab.backend.client.addDataset({
      path: path.join(sample, 'data', 'sensor-readings.csv'),
      name: 'sensor-readings',
      project: project!.id,
    });
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(sample, 'train.py')));
    const terminal = await vscode.commands.executeCommand<vscode.Terminal>('mllab.experiment.run');
    const run = await waitFor(
      'the sample run to complete',
      () =>
        lab.experiments.items.find(
          (e: Experiment) => e.name === 'sensor-faults' && e.status === 'completed' && e.params.epochs === 30,
        ),
      90000,
    );
    terminal.dispose();
    const details = await lab.backend.client.getExperiment(run.id);
    assert.deepStrictEqual(details.inputs, [{ dataset: 'sensor-readings', version: version.version }]);
    assert.ok((run.metrics.find((m) => m.key === 'accuracy')?.last ?? 0) > 0.8);
    const model = await waitFor('the model to be registered', async () =>
      (await lab.backend.client.listModels(project!.id)).find((m) => m.name === 'sensor-faults'),
    );
    assert.strictEqual(model.versions.at(-1)?.experimentId, run.id);
  });

  it('previews the latest version when a dataset is clicked', async () => {
    const csv = path.join(folder, 'sensors.csv');
    fs.writeFileSync(csv, 'a,b\n1,2\n');
    const v1 = await lab.backend.client.addDataset({ path: csv, name: 'fh-sensors', project: project!.id });
    fs.writeFileSync(csv, 'a,b\n3,4\n');
    const v2 = await lab.backend.client.addDataset({ path: csv, name: 'fh-sensors', project: project!.id });
    assert.strictEqual(v2.version, v1.version + 1);
    const dataset = await waitFor('the dataset in the view', () =>
      lab.datasets.datasets.find((d) => d.name === 'fh-sensors' && d.versions.length === 2),
    );
    const item = lab.datasetsTree.getTreeItem(dataset);
    assert.strictEqual(item.command?.command, 'mllab.dataset.preview');
    assert.strictEqual((item.command?.arguments?.[0] as { id: string }).id, v2.id);
  });

  it('runs a file as a job in a picked local image: import mllab, a dataset by name, metrics as an experiment', async function () {
    this.timeout(240000);
    const docker = await lab.backend.client.dockerStatus();
    assert.ok(docker.available, `Docker is needed: ${JSON.stringify(docker)}`);
    await vscode.workspace
      .getConfiguration('mllab')
      .update('jobs.runFileImage', undefined, vscode.ConfigurationTarget.Workspace);
    const script = path.join(folder, 'job_train.py');
    fs.writeFileSync(
      script,
      [
        'import csv, mllab',
        'rows = list(csv.DictReader(open(mllab.dataset("fh-sensors"))))',
        'with mllab.experiment("job-sensors") as exp:',
        '    exp.log_metric("rows", len(rows))',
        '    exp.log_metric("b", float(rows[0]["b"]))',
        '',
      ].join('\n'),
    );
    await vscode.window.showTextDocument(vscode.Uri.file(script));
    const ui = lab.ui as unknown as Record<string, unknown>;
    const offered: ImageItem[] = [];
    ui.pick = async (items: ImageItem[]) => {
      offered.push(...items);
      return items.find((i) => i.image === PYTHON_IMAGE);
    };
    try {
      await vscode.commands.executeCommand('mllab.job.runFile', vscode.Uri.file(script));
    } finally {
      delete ui.pick;
    }
    const python = offered.find((i) => i.image === PYTHON_IMAGE);
    assert.ok(python, `local images offered: ${offered.map((i) => i.label).join(', ')}`);
    assert.match(String(python.description), /\d+(\.\d+)? (MB|GB)/, 'with its size');
    assert.ok(
      offered.some((i) => i.action === 'setting'),
      'and a way to the setting',
    );
    assert.strictEqual(
      vscode.workspace.getConfiguration('mllab').get('jobs.runFileImage'),
      PYTHON_IMAGE,
      'the choice is remembered',
    );
    const run = await waitFor(
      'the job to record its experiment',
      () =>
        lab.experiments.items.find(
          (e: Experiment) =>
            e.name === 'job-sensors' && e.status === 'completed' && e.metrics.some((m) => m.key === 'b'),
        ),
      180000,
    );
    assert.strictEqual(run.metrics.find((m) => m.key === 'rows')?.last, 1);
    assert.strictEqual(run.metrics.find((m) => m.key === 'b')?.last, 4, 'the latest version was read');
    const details = await lab.backend.client.getExperiment(run.id);
    assert.deepStrictEqual(details.inputs, [{ dataset: 'fh-sensors', version: 2 }]);
    assert.ok(details.manifest.runtime.python, 'the Python of the image is recorded');
    assert.strictEqual(details.tags.job, 'file-job_train.py');
  });
});

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { Experiment as RunRecorder } from '../../../src/client/runs/experiment';
import { RunWriter } from '../../../src/client/runs/run-writer';
import type { ExperimentDetailsPanel } from '../../../src/extension/experiments/details/panel';
import type { MlLab } from '../../../src/extension/lab';
import type { Project } from '../../../src/protocol/api';
import type { DetailsSection, ShowMessage } from '../../../src/protocol/webviews/experiment-details';
import { closeTestProject, openTestProject, screenshot, waitFor } from './helpers';

const sectionOf = (show: ShowMessage | undefined, id: string): DetailsSection | undefined =>
  show?.sections.find((s) => s.id === id);
const cell = (show: ShowMessage | undefined, section: string, key: string, column: number) =>
  sectionOf(show, section)?.table?.rows.find((r) => r[0] === key)?.[column];
const detailsTabs = () =>
  vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('mllab.experimentDetails'));

describe('Experiment details webview in a real VS Code extension host', () => {
  let lab: MlLab;
  let project: Project | undefined;
  let folder: string;

  before(async () => {
    ({ lab, project } = await openTestProject('Experiment details IT'));
    folder = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'experiment-details-it');
    fs.mkdirSync(folder, { recursive: true });
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await closeTestProject(lab, project);
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('shows a running run live, opens an artifact, survives hide/show, and shows the deletion', async () => {
    // a run recorded by the Node client in this process: it stays "running" until it ends
    const script = path.join(folder, 'train.js');
    fs.writeFileSync(script, '// training\n');
    const writer = RunWriter.create({
      home: lab.backend.home!,
      name: 'details-it',
      project: project!.id,
      params: { lr: 0.1, größe_学习率: 'ünï', layers: [64, 32] },
      command: ['node', script, '--epochs', '3'],
      cwd: folder,
      script,
    });
    const exp = new RunRecorder(writer, {});
    const stdout = path.join(writer.dir, 'stdout.log');
    fs.writeFileSync(stdout, 'epoch 1\n');
    for (let step = 0; step < 10; step++) {
      exp.logMetric('loss', 1 / (step + 1));
    }
    exp.logMetric('odd', Number.NaN);
    exp.flush();
    const id = exp.id;
    await waitFor('the backend to ingest the run', async () => {
      const details = await lab.backend.client.getExperiment(id).catch(() => undefined);
      return details?.metrics.some((m) => m.key === 'odd');
    });

    await vscode.commands.executeCommand('mllab.experiment.show', id);
    const panel = await waitFor('the details panel', () => lab.experimentDetails.get(id));
    await waitFor('the ready handshake', () => panel.readyCount > 0 && panel.lastPosted?.type === 'show');
    let shown = panel.lastPosted;
    assert.strictEqual(shown?.id, id);
    assert.strictEqual(shown.status, 'running');
    assert.strictEqual(cell(shown, 'params', 'lr', 1), '0.1');
    assert.strictEqual(cell(shown, 'params', 'größe_学习率', 1), '"ünï"');
    assert.strictEqual(cell(shown, 'params', 'layers', 1), '[64,32]');
    assert.strictEqual(cell(shown, 'metrics', 'loss', 4), '10');
    // one number format: 4 significant digits, the full value on hover
    const loss = sectionOf(shown, 'metrics')!.table!;
    const lossRow = loss.rows.findIndex((r) => r[0] === 'loss');
    assert.strictEqual(loss.rows[lossRow][1], '0.1');
    assert.strictEqual(loss.titles?.[lossRow][1], '', 'nothing shortened: no hover');
    assert.strictEqual(cell(shown, 'metrics', 'odd', 1), 'NaN');
    assert.ok(shown.buttons.some((b) => b.request.kind === 'command' && b.request.command === 'stop'));
    assert.match(sectionOf(shown, 'logs')!.texts![0].text, /epoch 1/);
    assert.match(panel.panel!.title, /^details-it · /);

    // live: new points reach the panel through the backend's events, new output through the log tail
    for (let step = 10; step < 25; step++) {
      exp.logMetric('loss', 1 / (step + 1));
    }
    exp.flush();
    fs.appendFileSync(stdout, 'epoch 2\n');
    await waitFor('the new points in the panel', () => cell(panel.lastPosted, 'metrics', 'loss', 4) === '25');
    await waitFor('the new output in the panel', () =>
      sectionOf(panel.lastPosted, 'logs')?.texts?.[0].text.includes('epoch 2'),
    );

    // a value over the limits, written by other code than the client: the backend cuts it and says so,
    // and the page shows its warnings first
    fs.appendFileSync(
      path.join(writer.dir, 'events.jsonl'),
      JSON.stringify({ k: 'param', key: 'notes', v: 'n'.repeat(7000), t: Date.now() }) + '\n',
    );
    const warnings = await waitFor('the warning in the panel', () => sectionOf(panel.lastPosted, 'warnings'));
    assert.strictEqual(panel.lastPosted?.sections[0].id, 'warnings');
    assert.match(warnings.texts![0].text, /notes.* has 7000 characters: kept its first 6000/);

    await new Promise((r) => setTimeout(r, 500)); // let the webview paint
    await screenshot('experiment-details-running');

    // the run ends with an artifact: status, exit code and artifact arrive
    const model = path.join(folder, 'model.bin');
    fs.writeFileSync(model, 'weights');
    exp.logArtifact(model);
    exp.setResult({ accuracy: 0.97 });
    exp.end('completed', 0);
    shown = await waitFor('the completed run in the panel', () =>
      panel.lastPosted?.status === 'completed' && (sectionOf(panel.lastPosted, 'artifacts')?.items?.length ?? 0) > 0
        ? panel.lastPosted
        : undefined,
    );
    assert.ok(shown.buttons.some((b) => b.request.kind === 'command' && b.request.command === 'rerun'));
    assert.match(sectionOf(shown, 'result')!.texts![0].text, /"accuracy": 0.97/);
    const artifact = sectionOf(shown, 'artifacts')!.items![0];
    assert.strictEqual(artifact.label, path.join('artifacts', 'model.bin'));

    // the artifact's Open button, through the same path as a click in the page
    const open = artifact.buttons.find((b) => b.request.kind === 'file' && b.request.action === 'open')!;
    await panel.perform({ type: 'request', id, request: open.request });
    const tab = await waitFor('the artifact in an editor', () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return input instanceof vscode.TabInputText && input.uri.fsPath.endsWith('model.bin') ? input : undefined;
    });
    assert.strictEqual(tab.uri.fsPath, path.join(writer.dir, 'artifacts', 'model.bin'));
    // Reveal (in the browser: in the Explorer view) and the header's Open Log button (a command) work too
    const reveal = artifact.buttons.find((b) => b.request.kind === 'file' && b.request.action === 'reveal')!;
    await panel.perform({ type: 'request', id, request: reveal.request });
    await panel.perform({ type: 'request', id, request: { kind: 'command', command: 'openLog' } });
    await waitFor('the log in an editor', () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return input instanceof vscode.TabInputText && input.uri.fsPath === stdout;
    });
    // Register as Model: the artifact becomes a model version traced to this run
    const register = artifact.buttons.find((b) => b.request.kind === 'file' && b.request.action === 'registerModel')!;
    const ui = lab.ui as unknown as Record<string, unknown>;
    ui.input = async () => 'details-model';
    try {
      await panel.perform({ type: 'request', id, request: register.request });
    } finally {
      delete ui.input;
    }
    const registered = await waitFor('the model registered from the artifact', () =>
      lab.models.model.items.find((m) => m.name === 'details-model'),
    );
    assert.strictEqual(registered.versions[0].experimentId, id);
    // a file the host did not list is refused

    await assert.rejects(
      panel.perform({ type: 'request', id, request: { kind: 'file', action: 'open', file: '/etc/passwd' } }),
      /Unknown file/,
    );

    // the editor hid the panel, whose page was discarded: shown again (same run = same panel), it restores
    const readies = panel.readyCount;
    await vscode.commands.executeCommand('mllab.experiment.show', id);
    assert.strictEqual(lab.experimentDetails.get(id), panel, 'one panel per experiment');
    assert.strictEqual(detailsTabs().length, 1);
    await waitFor('a new ready handshake', () => panel.readyCount > readies);
    assert.strictEqual(panel.lastPosted?.status, 'completed');
    await new Promise((r) => setTimeout(r, 800)); // let the webview paint
    await screenshot('experiment-details');

    // deleted while open: the panel says so and offers no buttons
    await lab.backend.client.deleteExperiment(id);
    await waitFor('the deleted state', () => panel.isDeleted && panel.lastPosted?.deleted);
    assert.deepStrictEqual(panel.lastPosted!.buttons, []);
    assert.match(panel.panel!.title, /\(deleted\)$/);
    await screenshot('experiment-details-deleted');

    // closing disposes the panel
    panel.panel!.dispose();
    await waitFor('the panel to be forgotten', () => lab.experimentDetails.get(id) === undefined);
    assert.strictEqual((panel as ExperimentDetailsPanel).panel, undefined);
  });
});

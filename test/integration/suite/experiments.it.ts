import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MlLab } from '../../../src/extension/lab';
import type { Project } from '../../../src/protocol/api';
import type { Experiment } from '../../../src/protocol/experiments';
import type { RunGroup } from '../../../src/extension/experiments/tree-pages';
import { manifest, writeManifest } from '../../unit/experiments-helpers';
import { closeTestProject, openTestProject, screenshot, waitFor } from './helpers';

const SCRIPT = `import math, mllab
with mllab.experiment("it-train", params={"lr": 0.1}) as exp:
    for step in range(50):
        exp.log_metric("loss", 1.0 / (step + 1))
    exp.log_metric("odd", float("nan"))
    exp.log_metric("lr_used", exp.params["lr"])
print("training done")
`;

describe('Experiments in a real VS Code extension host', () => {
  let lab: MlLab;
  let project: Project | undefined;
  let folder: string;

  before(async () => {
    ({ lab, project } = await openTestProject('Experiments IT'));
    folder = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'experiments-it');
    fs.mkdirSync(folder, { recursive: true });
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await closeTestProject(lab, project);
    if (folder) {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('runs the active Python file as an experiment in a terminal and shows it completed with its metrics', async () => {
    const script = path.join(folder, 'train.py');
    fs.writeFileSync(script, SCRIPT);
    await vscode.window.showTextDocument(vscode.Uri.file(script));
    const asked: string[] = [];
    lab.ui.input = async (options) => {
      asked.push(options.value ?? ''); // accept what is prefilled (no params the first time)
      return options.value ?? '';
    };
    const terminal = await vscode.commands.executeCommand<vscode.Terminal>('mllab.experiment.run');
    assert.deepStrictEqual(asked, [''], 'no params file: asked for params, nothing prefilled');
    assert.ok(terminal, 'a terminal runs the experiment');
    const run = await waitFor(
      'the run to complete in the Experiments view',
      () =>
        lab.experiments.items.find(
          (e: Experiment) => e.status === 'completed' && e.metrics.some((m) => m.key === 'loss'),
        ),
      90000,
    );
    const loss = run.metrics.find((m) => m.key === 'loss')!;
    assert.strictEqual(loss.count, 50);
    assert.strictEqual(loss.last, 1 / 50);
    assert.strictEqual(loss.max, 1);
    const odd = run.metrics.find((m) => m.key === 'odd')!;
    assert.strictEqual(odd.lastRaw, 'NaN');
    assert.strictEqual(run.exitCode, 0);
    assert.deepStrictEqual(run.params.lr, 0.1);
    assert.ok(fs.readFileSync(path.join(run.dir, 'stdout.log'), 'utf8').includes('training done'));

    const groups = lab.experimentsTree.getChildren();
    const group = groups.find((g) => 'kind' in g && g.kind === 'group' && g.name === run.name);
    assert.ok(
      group,
      `a group for ${run.name} in ${JSON.stringify(groups.map((g) => ('name' in g ? g.name : g.kind)))}`,
    );
    const item = lab.experimentsTree.getTreeItem(run);
    assert.match(String(item.description), /loss 0\.02/);
    // the tooltip is built when the pointer rests on the row, from the same run
    assert.strictEqual(item.tooltip, undefined);
    const tooltip = lab.experimentsTree.resolveTreeItem(item, run).tooltip as vscode.MarkdownString;
    assert.ok(tooltip.value.includes(`\`${run.id}\``) && tooltip.value.includes('**Params**'), tooltip.value);
    await vscode.commands.executeCommand('workbench.view.extension.mllab');
    await new Promise((r) => setTimeout(r, 1000)); // let the workbench draw the last tree update
    await screenshot('experiments-view');
    terminal.dispose();

    // group by status, then back by name
    await vscode.commands.executeCommand('mllab.experiment.toggleGrouping');
    const byStatus = lab.experimentsTree.getChildren();
    assert.ok(
      byStatus.some(
        (g) => 'kind' in g && g.kind === 'group' && g.name === 'completed' && g.runs.some((r) => r.id === run.id),
      ),
    );
    await vscode.commands.executeCommand('mllab.experiment.toggleGrouping');

    // the script changed since the run: compare opens a diff of the run's copy with the file now
    fs.appendFileSync(script, '# tuned\n');
    await vscode.commands.executeCommand('mllab.experiment.compareScript', run);
    const tab = await waitFor('the diff editor', () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return input instanceof vscode.TabInputTextDiff ? input : undefined;
    });
    assert.strictEqual(tab.original.fsPath, path.join(run.dir, 'source', 'train.py'));
    assert.strictEqual(tab.modified.fsPath, script);

    // re-run with changed params: the script sees them through exp.params
    lab.ui.input = async (options) => {
      asked.push(options.value ?? '');
      return 'lr=0.5';
    };
    const again = await vscode.commands.executeCommand<vscode.Terminal>('mllab.experiment.rerunWithParams', run);
    const rerun = await waitFor(
      'the re-run to complete',
      () =>
        lab.experiments.items.find(
          (e: Experiment) => e.id !== run.id && e.status === 'completed' && e.metrics.some((m) => m.key === 'lr_used'),
        ),
      90000,
    );
    assert.strictEqual(asked[1], 'lr=0.1', "prefilled with the run's params");
    assert.strictEqual(rerun.params.lr, 0.5);
    assert.strictEqual(rerun.metrics.find((m) => m.key === 'lr_used')?.last, 0.5);
    again.dispose();

    // a params file next to the script is used without asking
    fs.writeFileSync(path.join(folder, 'params.yaml'), 'lr: 0.25\n');
    await vscode.window.showTextDocument(vscode.Uri.file(script));
    const third = await vscode.commands.executeCommand<vscode.Terminal>('mllab.experiment.run');
    const fromFile = await waitFor(
      'the run with the params file',
      () => lab.experiments.items.find((e: Experiment) => e.status === 'completed' && e.params.lr === 0.25),
      90000,
    );
    assert.strictEqual(fromFile.metrics.find((m) => m.key === 'lr_used')?.last, 0.25);
    assert.strictEqual(asked.length, 2, 'not asked when a params file exists');
    third.dispose();
    delete (lab.ui as unknown as Record<string, unknown>).input;
  });

  it('runs the active Jupyter notebook as an experiment, cell by cell, with the params file next to it', async () => {
    const nbFolder = path.join(folder, 'notebook');
    fs.mkdirSync(nbFolder, { recursive: true });
    fs.writeFileSync(path.join(nbFolder, 'params.json'), JSON.stringify({ lr: 0.75 }));
    const cell = (source: string) => ({ cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source });
    const notebook = path.join(nbFolder, 'explore.ipynb');
    fs.writeFileSync(
      notebook,
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {},
        cells: [
          cell('%matplotlib inline\nimport mllab\n'),
          cell(
            'with mllab.experiment("it-notebook") as exp:\n    for s in range(5):\n        exp.log_metric("acc", s / 10)\n    exp.log_metric("lr_used", exp.params["lr"])\n',
          ),
        ],
      }),
    );
    const document = await vscode.workspace.openNotebookDocument(vscode.Uri.file(notebook));
    await vscode.window.showNotebookDocument(document);
    const terminal = await vscode.commands.executeCommand<vscode.Terminal>('mllab.experiment.run');
    assert.ok(terminal, 'a terminal runs the notebook');
    const run = await waitFor(
      'the notebook run to complete',
      () =>
        lab.experiments.items.find(
          // the name the notebook's code gives wins over the file's name ("explore")
          (e: Experiment) =>
            e.name === 'it-notebook' && e.status === 'completed' && e.metrics.some((m) => m.key === 'acc'),
        ),
      90000,
    );
    assert.strictEqual(run.params.lr, 0.75);
    assert.strictEqual(run.metrics.find((m) => m.key === 'acc')?.count, 5);
    assert.strictEqual(run.metrics.find((m) => m.key === 'lr_used')?.last, 0.75);
    const details = await lab.backend.client.getExperiment(run.id);
    assert.strictEqual(details.manifest.script?.path, notebook, 'a copy of the notebook is kept with the run');
    terminal.dispose();
  });

  it('lists 5,000 runs of one name a page at a time: 200 rows and "Show 200 more (4,800 remaining)"', async function () {
    this.timeout(300000);
    const home = lab.backend.home!;
    const suffix = Date.now().toString(16).slice(-4);
    const total = 5_000;
    for (let i = 0; i < total; i++) {
      const id = `20260103-${String(i).padStart(6, '0')}-${suffix}${i.toString(16).padStart(4, '0')}`;
      const started = new Date(Date.UTC(2026, 0, 3) + i * 1000).toISOString();
      writeManifest(
        home,
        manifest(id, {
          name: 'paged',
          project: project!.id,
          status: 'completed',
          startedAt: started,
          endedAt: started,
          exitCode: 0,
          params: { seed: i },
        }),
      );
    }
    const group = await waitFor(
      'the 5,000 runs in one group of the Experiments view',
      () =>
        lab.experimentsTree
          .getChildren()
          .find(
            (g): g is RunGroup => 'kind' in g && g.kind === 'group' && g.name === 'paged' && g.runs.length === total,
          ),
      240000,
    );
    const rows = lab.experimentsTree.getChildren(group);
    assert.strictEqual(rows.length, 201, 'a page of 200 runs and the "more" row');
    const more = rows[200];
    assert.ok('kind' in more && more.kind === 'more');
    const moreItem = lab.experimentsTree.getTreeItem(more);
    assert.strictEqual(moreItem.label, 'Show 200 more (4,800 remaining)');
    assert.strictEqual(moreItem.command?.command, 'mllab.experiment.showMore');
    assert.strictEqual(String(lab.experimentsTree.getTreeItem(group).description), '5,000 runs');
    const first = rows[0] as Experiment;
    assert.strictEqual(first.params.seed, total - 1, 'newest first');
    assert.strictEqual(lab.experimentsTree.getTreeItem(first).label, `seed=${total - 1}`);

    await vscode.commands.executeCommand(moreItem.command.command, ...(moreItem.command.arguments ?? []));
    const next = lab.experimentsTree.getChildren(group);
    assert.strictEqual(next.length, 401);
    assert.strictEqual(lab.experimentsTree.getTreeItem(next[400]).label, 'Show 200 more (4,600 remaining)');

    // a run far down the list is revealed: the page grows to hold it
    const oldest = group.runs[total - 1];
    assert.strictEqual(lab.experimentsTree.getParent(oldest), group);
    assert.strictEqual(lab.experimentsTree.getChildren(group).length, total, 'every page up to the oldest run');
    await screenshot('experiments-view-paged');
  });
});

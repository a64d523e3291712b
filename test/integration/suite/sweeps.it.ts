import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { SweepNode, SweepTreeNode, TrialNode } from '../../../src/extension/experiments/sweeps/tree';
import type { MlLab } from '../../../src/extension/lab';
import type { Project } from '../../../src/protocol/api';
import type { ModelVersion } from '../../../src/protocol/models';
import type { Sweep, SweepTrial } from '../../../src/protocol/sweeps';
import { closeTestProject, openTestProject, screenshot, waitFor } from './helpers';

/**
 * A script to tune: its loss is lowest at x = 2 (1/3 at the last step), logged at three steps; it
 * keeps its "model" as an artifact. A file named "slow" next to it makes each step last a second.
 */
const SCRIPT = `import os, time, mllab
with mllab.experiment() as exp:
    x = exp.params["x"]
    for step in range(3):
        if os.path.exists("slow"):
            time.sleep(1)
        exp.log_metric("loss", (x - 2) ** 2 + 1.0 / (step + 1), step=step)
    with open("model-%s.txt" % exp.id, "w") as f:
        f.write("x=%s" % x)
    exp.log_artifact("model-%s.txt" % exp.id, "model.txt")
`;

describe('Sweeps in a real VS Code extension host', () => {
  let lab: MlLab;
  let project: Project | undefined;
  let folder: string;
  /** the sweep of the first test, finished */
  let done: { node: SweepNode; best: SweepTrial } | undefined;

  before(async () => {
    ({ lab, project } = await openTestProject('Sweeps IT'));
    folder = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'sweeps-it');
    fs.mkdirSync(folder, { recursive: true });
  });

  after(async () => {
    for (const key of ['input', 'pick', 'info', 'error', 'confirm']) {
      delete (lab.ui as unknown as Record<string, unknown>)[key];
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await closeTestProject(lab, project);
    if (folder) {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it('runs a grid sweep from the quick form, fills the Sweeps group live and opens its page', async function () {
    this.timeout(120_000);
    const sweeps = lab.experimentsFeature.sweeps;
    const tree = lab.experimentsTree;
    const script = path.join(folder, 'train.py');
    fs.writeFileSync(script, SCRIPT);
    await vscode.window.showTextDocument(vscode.Uri.file(script));

    // the quick form, answered as a person would: x in 1|2|3, minimize loss, grid, 3 trials, 2 at once
    const inputs = ['x=1|2|3', 'loss', '3', '2'];
    const asked: string[] = [];
    lab.ui.input = async (options) => {
      asked.push(options.prompt ?? '');
      return inputs.shift();
    };
    lab.ui.pick = async <T extends vscode.QuickPickItem>(items: T[]) =>
      items.find((i) => i.label === 'minimize' || i.label === 'grid');
    lab.ui.info = async () => undefined;
    const sweep = await vscode.commands.executeCommand<Sweep>('mllab.sweep.run');
    assert.ok(sweep, 'the command answers the started sweep');
    assert.strictEqual(asked.length, 4, asked.join('\n'));
    assert.strictEqual(sweep.definition.method, 'grid');
    assert.strictEqual(sweep.counts.total, 3);
    const yaml = fs.readFileSync(path.join(folder, 'sweep.yaml'), 'utf8');
    assert.match(yaml, /^script: train\.py$|^command:/m);
    assert.match(yaml, /values:\n\s+- 1\n\s+- 2\n\s+- 3/);
    assert.strictEqual(
      vscode.window.activeTextEditor?.document.uri.fsPath,
      path.join(folder, 'sweep.yaml'),
      'the written file is shown',
    );

    // the Sweeps group, on top of the runs, with the sweep
    const group = await waitFor('the Sweeps group', () => {
      const first = tree.getChildren()[0] as SweepTreeNode | undefined;
      return first && 'kind' in first && first.kind === 'sweeps' ? first : undefined;
    });
    const node = tree.getChildren(group).find((n) => (n as SweepNode).sweep?.id === sweep.id) as SweepNode;
    assert.ok(node, 'the sweep is listed in the group');
    assert.strictEqual(tree.getParent(node), group);
    // its trials: loaded when it is expanded (a note says so meanwhile), then live
    const firstChildren = tree.getChildren(node) as SweepTreeNode[];
    assert.ok(firstChildren.length > 0);
    const finished = await waitFor(
      'the sweep to finish',
      () => {
        const s = sweeps.model.get(sweep.id);
        return s?.state === 'finished' ? s : undefined;
      },
      90_000,
    );
    assert.deepStrictEqual(
      { done: finished.counts.done, failed: finished.counts.failed, pruned: finished.counts.pruned },
      { done: 3, failed: 0, pruned: 0 },
    );
    assert.deepStrictEqual(finished.best?.params, { x: 2 });
    const item = tree.getTreeItem(node);
    assert.match(String(item.description), /^finished · 3\/3 · 3 done · best loss 0\.3333 \(#\d\)$/);
    assert.strictEqual(item.contextValue, 'sweep-finished');
    assert.strictEqual((item.iconPath as vscode.ThemeIcon).id, 'pass');
    const trials = await waitFor('the three trials under the sweep', () => {
      const children = tree.getChildren(node) as SweepTreeNode[];
      const done = children.filter((c): c is TrialNode => c.kind === 'trial');
      return done.length === 3 && done.every((t) => tree.getTreeItem(t).contextValue === 'sweepTrial')
        ? done
        : undefined;
    });
    const bestTrial = trials.find((t) => t.number === finished.best!.number)!;
    const bestItem = tree.getTreeItem(bestTrial);
    assert.strictEqual((bestItem.iconPath as vscode.ThemeIcon).id, 'star-full');
    assert.match(String(bestItem.description), /^loss 0\.3333 · x=2$/);
    assert.deepStrictEqual(bestItem.command?.arguments, [finished.best!.runId], 'opens its run like any experiment');
    // every trial is an ordinary run of the project, tagged with the sweep
    const runs = await waitFor('the trial runs in the Experiments model', () => {
      const tagged = lab.experiments.items.filter((e) => e.tags['mllab.sweep'] === sweep.id);
      return tagged.length === 3 && tagged.every((e) => e.status === 'completed') ? tagged : undefined;
    });
    assert.deepStrictEqual(runs.map((r) => r.params.x).sort(), [1, 2, 3]);
    await vscode.commands.executeCommand('workbench.view.extension.mllab');
    await lab.experimentsView.reveal(node, { expand: true });
    await new Promise((r) => setTimeout(r, 500)); // let the workbench draw the tree
    await screenshot('sweeps-view');

    // its page: best trial, history, trials
    const page = await vscode.commands.executeCommand<unknown>('mllab.sweep.show', node);
    const panel = sweeps.pages.get(sweep.id);
    assert.ok(panel && page === panel, 'the command answers the page');
    await waitFor('the page to draw the three trials', () => panel.lastPainted === 3, 30_000);
    const shown = panel.shown!;
    assert.strictEqual(shown.state, 'finished');
    assert.deepStrictEqual(shown.best?.params.rows, [['x', '2']]);
    assert.strictEqual(shown.history?.trials.length, 3);
    assert.ok(
      shown.history!.best.every((b, i, all) => i === 0 || b <= all[i - 1]),
      'the best so far never rises',
    );
    assert.ok(shown.actions.includes('rerunBest'));
    // offered once the page learnt that the best run logged a file (model.txt)
    await waitFor('Register Best Model on the page', () => panel.shown?.actions.includes('registerBest'));
    assert.strictEqual(panel.panel?.title, `Sweep: ${sweep.name}`);
    await screenshot('sweep-page');

    // its trials as parallel coordinates of its metric, in the compare table
    await vscode.commands.executeCommand('mllab.sweep.parallelCoordinates', node);
    const compare = lab.compareTable;
    assert.deepStrictEqual(
      compare.table.rows.map((r) => r[0]).sort(),
      runs.map((r) => r.id).sort(),
      "only the sweep's trials",
    );
    assert.strictEqual(compare.panel?.title, `Compare: sweep ${sweep.name}`);
    await waitFor('the table sent with the parallel view', () => compare.readyCount > 0);
    // opened again as a whole, every run of the project is back
    await vscode.commands.executeCommand('mllab.experiment.compare');
    assert.strictEqual(compare.panel?.title.startsWith('Compare: sweep'), false);
    done = { node, best: finished.best! };
  });

  it("re-runs the best trial's run and registers its model", async function () {
    this.timeout(90_000);
    assert.ok(done, 'the sweep of the first test');
    const { node, best } = done;
    const before = new Set(lab.experiments.items.map((e) => e.id));
    const terminal = await vscode.commands.executeCommand<vscode.Terminal>('mllab.sweep.rerunBest', node);
    assert.ok(terminal, 'the re-run runs in a terminal, as any re-run');
    const rerun = await waitFor(
      'the re-run of the best trial to complete',
      () => lab.experiments.items.find((e) => !before.has(e.id) && e.status === 'completed'),
      60_000,
    );
    assert.strictEqual(rerun.params.x, 2, "with the best trial's params");
    assert.strictEqual(rerun.metrics.find((m) => m.key === 'loss')?.last, best.value as number);
    terminal.dispose();

    lab.ui.input = async (options) => {
      assert.strictEqual(options.value, 'model', 'the name offered from the file');
      return 'sweep-best';
    };
    lab.ui.info = async () => undefined;
    const version = await vscode.commands.executeCommand<ModelVersion>('mllab.sweep.registerBestModel', node);
    assert.ok(version, 'registered');
    assert.strictEqual(version.name, 'sweep-best');
    assert.strictEqual(version.experimentId, best.runId, "traced to the best trial's run");
  });

  it('pauses, resumes, stops and adds trials to a running sweep', async function () {
    this.timeout(90_000);
    const sweeps = lab.experimentsFeature.sweeps;
    fs.writeFileSync(path.join(folder, 'slow'), '');
    const file = path.join(folder, 'slow.sweep.yaml');
    fs.writeFileSync(
      file,
      'name: slow\nscript: train.py\nparams:\n  x: { type: int, min: 0, max: 100 }\nmethod: random\nseed: 1\nmetric: { name: loss, goal: minimize }\ntrials: 50\nparallel: 1\n',
    );
    lab.ui.info = async () => undefined;
    const sweep = await vscode.commands.executeCommand<Sweep>('mllab.sweep.run', vscode.Uri.file(file));
    assert.ok(sweep);
    const node: SweepNode = { kind: 'sweep', sweep };
    const state = () => sweeps.model.get(sweep.id)?.state;
    const paused = await vscode.commands.executeCommand<Sweep>('mllab.sweep.pause', node);
    assert.strictEqual(paused?.state, 'paused');
    await waitFor('the view to show it paused', () => state() === 'paused');
    assert.strictEqual(lab.experimentsTree.getTreeItem(node).contextValue, 'sweep-paused');
    const resumed = await vscode.commands.executeCommand<Sweep>('mllab.sweep.resume', node);
    assert.strictEqual(resumed?.state, 'running');
    lab.ui.input = async () => '5';
    const added = await vscode.commands.executeCommand<Sweep>('mllab.sweep.addTrials', node);
    assert.strictEqual(added?.counts.total, 55);
    await waitFor('the view to count the added trials', () => sweeps.model.get(sweep.id)?.counts.total === 55);
    const asked: string[] = [];
    lab.ui.confirm = async (message) => {
      asked.push(message);
      return true;
    };
    const stopped = await vscode.commands.executeCommand<Sweep>('mllab.sweep.stop', node);
    assert.deepStrictEqual(asked, ['Stop the sweep slow?']);
    assert.strictEqual(stopped?.state, 'stopped');
    await waitFor('the view to show it stopped', () => state() === 'stopped');
    assert.strictEqual(lab.experimentsTree.getTreeItem(node).contextValue, 'sweep-stopped');
    fs.rmSync(path.join(folder, 'slow'));
  });

  it('shows what the backend says of a bad sweep.yaml and starts nothing', async () => {
    const sweeps = lab.experimentsFeature.sweeps;
    const before = sweeps.model.items.length;
    const bad = path.join(folder, 'bad.sweep.yaml');
    fs.writeFileSync(
      bad,
      'script: train.py\nparams:\n  x: { type: range, min: 1, max: 3 }\nmetric: { name: loss, goal: minimize }\n',
    );
    const errors: string[] = [];
    lab.ui.error = async (message: string) => {
      errors.push(message);
      return undefined;
    };
    const result = await vscode.commands.executeCommand('mllab.sweep.run', vscode.Uri.file(bad));
    assert.strictEqual(result, undefined);
    assert.strictEqual(errors.length, 1);
    assert.match(errors[0], /^ML Lab: sweep\.yaml: params\.x has the type "range": use one of choice, int, float/);
    await sweeps.model.refresh();
    assert.strictEqual(sweeps.model.items.length, before, 'no sweep was created');
  });
});

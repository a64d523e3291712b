import * as assert from 'assert';
import * as vscode from 'vscode';
import type { MlLab } from '../../../src/extension/lab';
import type { TargetTreeNode } from '../../../src/extension/targets/tree';
import type { Project } from '../../../src/protocol/api';
import { closeTestProject, openTestProject, screenshot, waitFor } from './helpers';

/** The machine's own engine, added once more under another name: a second target that answers. */
const ENGINE = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';

describe('the Targets view in a real VS Code extension host', () => {
  let lab: MlLab;
  let project: Project | undefined;

  before(async () => {
    ({ lab, project } = await openTestProject('Targets IT'));
    await vscode.commands.executeCommand('mllab.targets.focus');
    await waitFor('the view to show', () => lab.targets.view.visible);
  });

  after(async () => {
    const client = await lab.backend.ready();
    await client.request('DELETE', '/api/targets/it-engine').catch(() => undefined);
    await closeTestProject(lab, project);
  });

  it('adds a target from input boxes, shows its node, makes it the project default, and removes it', async function () {
    this.timeout(120000);
    // only `local`: the welcome content shows instead of a tree
    await waitFor('the targets to load', () => lab.targets.model.items.length === 1);
    assert.deepStrictEqual(await lab.targets.tree.getChildren(), []);

    const answers = ['it-engine', ENGINE, ''];
    lab.ui.input = async () => answers.shift();
    await vscode.commands.executeCommand('mllab.target.add');
    assert.deepStrictEqual(answers, [], 'every box was asked');
    const roots = await waitFor('both targets in the view', async () => {
      const nodes = await lab.targets.tree.getChildren();
      return nodes.length === 2 ? nodes : undefined;
    });
    assert.deepStrictEqual(
      roots.map((n) => (n.kind === 'target' ? n.status.target.name : n.kind)),
      ['local', 'it-engine'],
    );
    const added = roots[1] as Extract<TargetTreeNode, { kind: 'target' }>;
    const item = lab.targets.tree.getTreeItem(added);
    assert.strictEqual(item.description, 'Docker Engine · ready');
    assert.strictEqual(item.contextValue, 'target');
    const [node] = await lab.targets.tree.getChildren(added);
    assert.strictEqual(node.kind, 'node');
    const nodeItem = lab.targets.tree.getTreeItem(node);
    assert.strictEqual((nodeItem.iconPath as vscode.ThemeIcon).id, 'pass');
    assert.match(String(nodeItem.description), /^manager · ready · \d+ CPUs? · [\d.]+ (GB|MB)/);
    assert.match((nodeItem.tooltip as vscode.MarkdownString).value, /CPUs:&nbsp;\d+[\s\S]*labels:&nbsp;none/);
    await screenshot('targets-view');

    await vscode.commands.executeCommand('mllab.target.setProjectTarget', added);
    await waitFor('the project default in the view', async () => {
      const [, again] = await lab.targets.tree.getChildren();
      return String(lab.targets.tree.getTreeItem(again).description).endsWith('project default');
    });
    assert.strictEqual(
      (await (await lab.backend.ready()).request<{ target: string }>('GET', `/api/projects/${project!.id}/target`))
        .target,
      'it-engine',
    );

    lab.ui.confirm = async () => true;
    await vscode.commands.executeCommand('mllab.target.remove', added);
    await waitFor('the view to be empty again', async () => (await lab.targets.tree.getChildren()).length === 0);
    assert.strictEqual(lab.targets.model.projectTarget, 'local');
  });
});

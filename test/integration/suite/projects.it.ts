import * as assert from 'assert';
import * as vscode from 'vscode';
import { connect, Connection } from '../../../src/client/connect';
import type { MlLabApi } from '../../../src/extension/extension';
import type { MlLab } from '../../../src/extension/lab';
import type { Project } from '../../../src/protocol/api';
import { screenshot, waitFor } from './helpers';

const names = (lab: MlLab) => lab.projectsTree.getChildren().map((p) => p.name);

describe('ML Lab in a real VS Code extension host', () => {
  let api: MlLabApi;
  let lab: MlLab;
  const errors: string[] = [];

  before(async () => {
    const ext = vscode.extensions.getExtension<MlLabApi>('mllab.mllab');
    assert.ok(ext, 'the extension is installed in the host');
    api = await ext.activate();
    lab = api.lab;
    lab.ui.error = async (message: string) => {
      errors.push(message);
      return undefined;
    };
    await vscode.commands.executeCommand('workbench.view.extension.mllab'); // starts the backend
    await waitFor('the backend to connect', () => lab.backend.state.kind === 'connected');
    await lab.projects.refresh();
  });

  it('activates without waiting for the backend, and contributes the seven views', () => {
    assert.ok(api.activationMs >= 0);
    console.log(`MLLAB_METRIC activation_ms ${api.activationMs.toFixed(2)}`);
    const views = (
      vscode.extensions.getExtension('mllab.mllab')!.packageJSON as {
        contributes: { views: { mllab: { id: string }[] } };
      }
    ).contributes.views.mllab.map((v) => v.id);
    assert.deepStrictEqual(views, [
      'mllab.projects',
      'mllab.datasets',
      'mllab.experiments',
      'mllab.models',
      'mllab.services',
      'mllab.jobs',
      'mllab.targets',
    ]);
  });

  it('keeps the lab home in the workspace folder and starts one backend for it', () => {
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    assert.strictEqual(lab.backend.home, `${folder}/.mllab`);
    assert.strictEqual(lab.backend.state.kind, 'connected');
  });

  it('creates the first project, which becomes the active one, shown in the status bar', async () => {
    const project = await vscode.commands.executeCommand<Project>('mllab.project.create', 'Churn');
    assert.strictEqual(project.name, 'Churn');
    await waitFor('the tree to show it', () => names(lab).includes('Churn'));
    assert.strictEqual(lab.projects.activeProject?.id, project.id);
    const item = lab.projectsTree.getTreeItem(project);
    assert.strictEqual(item.contextValue, 'activeProject');
    assert.strictEqual(item.description, 'active');
    assert.match(lab.statusBar.text, /Churn/);
  });

  it('creates through the input box, validating the name as it is typed', async () => {
    let validate: ((v: string) => unknown) | undefined;
    lab.ui.input = async (options) => {
      validate = options.validateInput as (v: string) => unknown;
      return 'Fraud';
    };
    await vscode.commands.executeCommand('mllab.project.create');
    assert.ok(validate);
    assert.match(String(await validate('churn')), /"churn" already exists/);
    assert.match(String(await validate('a/b')), /looks like a path/);
    assert.match(String(await validate('')), /empty/);
    assert.strictEqual(await validate('Fine name'), undefined);
    await waitFor('Fraud in the tree', () => names(lab).includes('Fraud'));
    assert.deepStrictEqual(names(lab), ['Churn', 'Fraud']);
  });

  it('sets another project active from the tree item and the status bar follows', async () => {
    const fraud = lab.projects.projects.find((p) => p.name === 'Fraud')!;
    await vscode.commands.executeCommand('mllab.project.setActive', fraud);
    await waitFor('Fraud active', () => lab.projects.activeProject?.name === 'Fraud');
    assert.match(lab.statusBar.text, /Fraud/);
    assert.strictEqual(lab.projectsTree.getTreeItem(fraud).contextValue, 'activeProject');
  });

  it('renames a project', async () => {
    const churn = lab.projects.projects.find((p) => p.name === 'Churn')!;
    await vscode.commands.executeCommand('mllab.project.rename', churn, 'Churn v2');
    await waitFor('the new name', () => names(lab).includes('Churn v2'));
    assert.ok(!names(lab).includes('Churn'));
    await vscode.commands.executeCommand('workbench.view.extension.mllab');
    await new Promise((r) => setTimeout(r, 1000));
    await screenshot('projects-view');
  });

  it('shows a clear notification for a bad name or a duplicate, and changes nothing', async () => {
    errors.length = 0;
    await vscode.commands.executeCommand('mllab.project.create', '../../etc');
    await vscode.commands.executeCommand('mllab.project.create', 'fraud');
    assert.strictEqual(errors.length, 2, errors.join('\n'));
    assert.match(errors[0], /^ML Lab: The project name "..\/..\/etc" looks like a path/);
    assert.match(errors[1], /^ML Lab: A project called "Fraud" already exists/);
    await lab.projects.refresh();
    assert.deepStrictEqual(names(lab), ['Churn v2', 'Fraud']);
  });

  it('asks before deleting, says what will be removed, and keeps the project on Cancel', async () => {
    const fraud = lab.projects.projects.find((p) => p.name === 'Fraud')!;
    const asked: string[] = [];
    lab.ui.confirm = async (message, detail) => {
      asked.push(`${message}\n${detail}`);
      return false;
    };
    assert.strictEqual(await vscode.commands.executeCommand('mllab.project.delete', fraud), false);
    assert.match(asked[0], /Delete the project "Fraud"\?/);
    assert.match(asked[0], /no datasets, experiments, models, services or jobs/);
    assert.match(asked[0], /It is the active project/);
    assert.ok(names(lab).includes('Fraud'));

    lab.ui.confirm = async () => true;
    assert.strictEqual(await vscode.commands.executeCommand('mllab.project.delete', fraud), true);
    await waitFor('Fraud gone', () => !names(lab).includes('Fraud'));
    assert.strictEqual(lab.projects.activeProject, undefined);
    assert.match(lab.statusBar.text, /No project/);
  });

  describe('several clients of one backend', () => {
    let other: Connection;
    before(async () => {
      // a second client of the same lab home, as another window or a terminal would be
      other = await connect({ home: lab.backend.home! });
    });
    after(() => other.client.dispose());

    it('attaches to the same backend process instead of starting another', () => {
      const state = lab.backend.state;
      assert.ok(state.kind === 'connected');
      assert.strictEqual(other.registration.pid, state.pid);
      assert.strictEqual(other.started, false);
    });

    it('updates this window from backend events when another client changes projects (no polling)', async () => {
      const created = await other.client.createProject('From another window');
      await waitFor('the event-driven refresh', () => names(lab).includes('From another window'));
      await other.client.setActiveProject(created.id);
      await waitFor('the active project to follow', () => lab.projects.activeProject?.id === created.id);
      await other.client.deleteProject(created.id);
      await waitFor('the deletion', () => !names(lab).includes('From another window'));
    });

    it('serves a second VS Code window with the same backend', async () => {
      const before = (await other.client.status()).clients;
      console.log('MLLAB_OPEN_SECOND_WINDOW');
      const status = await waitFor(
        'a second window to attach',
        async () => {
          const s = await other.client.status();
          return s.clients > before ? s : undefined;
        },
        90000,
      );
      const state = lab.backend.state;
      assert.ok(state.kind === 'connected');
      assert.strictEqual(status.pid, state.pid, 'the second window attached to the same process');
    });
  });

  it('opens the backend log in an output channel', async () => {
    await vscode.commands.executeCommand('mllab.backend.showLog');
    assert.deepStrictEqual(errors.slice(2), []);
  });

  it('recovers when the backend is restarted, and a command run meanwhile waits for it', async () => {
    const oldPid = lab.backend.state.kind === 'connected' ? lab.backend.state.pid : 0;
    const restarting = vscode.commands.executeCommand('mllab.backend.restart');
    await waitFor('the restart to begin', () => lab.backend.state.kind !== 'connected');
    errors.length = 0;
    const created = await vscode.commands.executeCommand<Project>('mllab.project.create', 'Made during restart');
    await restarting;
    assert.deepStrictEqual(errors, []);
    assert.strictEqual(created?.name, 'Made during restart');
    const state = await waitFor('reconnection', () =>
      lab.backend.state.kind === 'connected' ? lab.backend.state : undefined,
    );
    assert.notStrictEqual(state.pid, oldPid);
    await lab.projects.refresh();
    assert.deepStrictEqual(names(lab), ['Churn v2', 'Made during restart'], 'the data survived the restart');
  });
});

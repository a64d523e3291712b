import * as assert from 'assert';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MlLabApi } from '../../../src/extension/extension';
import type { MlLab } from '../../../src/extension/lab';
import type { Ui } from '../../../src/extension/common/ui';
import type { Project } from '../../../src/protocol/api';
import type { Dataset, DatasetVersion } from '../../../src/protocol/datasets';
import { screenshot, waitFor } from './helpers';

/**
 * Runs before projects.it.ts in the same extension host (mocha sorts the files): it works in a project
 * of its own and deletes it at the end, leaving no project active, as projects.it.ts expects.
 */
describe('Datasets in a real VS Code extension host', function () {
  this.timeout(120_000);
  let lab: MlLab;
  let project: Project;
  let dataDir: string;
  let bigDir: string;
  let exportDir: string;
  const errors: string[] = [];
  const infos: string[] = [];
  const replaced: (keyof Ui)[] = ['error', 'info', 'input', 'confirm', 'pick', 'copy', 'withProgress', 'openDialog'];

  const cmd = <T>(id: string, ...args: unknown[]) => vscode.commands.executeCommand<T>(id, ...args);
  const dataset = (name: string) => lab.datasetsTree.getChildren().find((d): d is Dataset => d.name === name);
  const versionsOf = (name: string) => {
    const d = dataset(name);
    return d ? (lab.datasetsTree.getChildren(d) as DatasetVersion[]) : [];
  };
  const numbers = (name: string) =>
    versionsOf(name)
      .map((v) => v.version)
      .join();
  const csvPath = () => path.join(dataDir, 'iris.csv');

  before(async () => {
    const ext = vscode.extensions.getExtension<MlLabApi>('mllab.mllab');
    assert.ok(ext, 'the extension is installed in the host');
    lab = (await ext.activate()).lab;
    lab.ui.error = async (message: string) => {
      errors.push(message);
      return undefined;
    };
    lab.ui.info = async (message: string) => {
      infos.push(message);
      return undefined;
    };
    await vscode.commands.executeCommand('workbench.view.extension.mllab'); // starts the backend
    await waitFor('the backend to connect', () => lab.backend.state.kind === 'connected');

    const workspace = process.env.MLLAB_TEST_WORKSPACE ?? vscode.workspace.workspaceFolders![0].uri.fsPath;
    dataDir = path.join(workspace, 'datasets-it');
    const images = path.join(dataDir, 'images');
    fs.mkdirSync(path.join(images, 'nested', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(images, 'labels.csv'), 'file,label\nx.png,cat\n');
    fs.writeFileSync(path.join(images, 'nested', 'deep', 'readme.txt'), 'deep inside\n');
    fs.writeFileSync(path.join(images, 'ünï cødé 数据.txt'), 'unicode name\n');
    const rows = Array.from(
      { length: 1000 },
      (_, i) =>
        `${(4 + (i % 40) / 10).toFixed(1)},${i},${['setosa', 'versicolor'][i % 2]},"row ${i}, with ""quotes""\nand a line break"`,
    );
    fs.writeFileSync(csvPath(), `sepal_length,id,species,note\n${rows.join('\n')}\n`);
    fs.writeFileSync(
      path.join(dataDir, 'graph.graphml'),
      '<?xml version="1.0"?>\n<graphml><graph id="g"><node id="a"/><node id="b"/><edge source="a" target="b"/></graph></graphml>\n',
    );
    exportDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-export-'));

    project = await lab.backend.client.createProject(`Datasets IT ${Date.now()}`);
    await lab.backend.client.setActiveProject(project.id);
    await waitFor('the new project to be active', () => lab.projects.activeProject?.id === project.id);
    await lab.datasets.refresh();
  });

  after(async () => {
    lab.datasetPreview.panel?.dispose();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const key of replaced) {
      delete (lab.ui as unknown as Record<string, unknown>)[key]; // back to the Ui methods
    }
    if (project) {
      await lab.backend.client.deleteProject(project.id);
      await waitFor('the project to go', () => !lab.projects.projects.some((p) => p.id === project.id));
    }
    for (const dir of [dataDir, bigDir, exportDir]) {
      if (dir) {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('starts empty for a new project, with the welcome content offering to add', async () => {
    assert.deepStrictEqual(lab.datasetsTree.getChildren(), []);
    await cmd('workbench.view.extension.mllab');
    await new Promise((r) => setTimeout(r, 500));
    await screenshot('datasets-welcome');
  });

  it('adds a folder as a package: dataset -> v1 with its kind and file count', async () => {
    const v1 = await cmd<DatasetVersion>(
      'mllab.dataset.addFolder',
      path.join(dataDir, 'images'),
      'images',
      'three files',
    );
    assert.strictEqual(v1.kind, 'package');
    assert.strictEqual(v1.fileCount, 3);
    assert.strictEqual(v1.description, 'three files');
    await waitFor('the dataset in the tree', () => versionsOf('images').length === 1);
    const datasetItem = lab.datasetsTree.getTreeItem(dataset('images')!);
    assert.strictEqual(datasetItem.contextValue, 'dataset');
    assert.match(String(datasetItem.description), /^v1 · \d/);
    const item = lab.datasetsTree.getTreeItem(versionsOf('images')[0]);
    assert.strictEqual(item.label, 'v1');
    assert.strictEqual(item.contextValue, 'datasetVersionPackage');
    assert.strictEqual((item.iconPath as vscode.ThemeIcon).id, 'file-zip');
    assert.match(String(item.description), /package: 3 files/);
    const tooltip = (item.tooltip as vscode.MarkdownString).value;
    for (const detail of [v1.sha256, 'application/zip', 'Description', 'Unpacked size', 'Operator']) {
      assert.ok(tooltip.includes(detail), `tooltip has ${detail}:\n${tooltip}`);
    }
    assert.ok(infos.includes('Added images:v1'), infos.join('\n'));
    assert.deepStrictEqual(errors, []);
  });

  it('previews a CSV: the first 200 rows at once, the row count from the background', async () => {
    const v1 = await cmd<DatasetVersion>('mllab.dataset.addFile', csvPath(), 'iris', 'generated');
    assert.strictEqual(v1.kind, 'file');
    await cmd('mllab.dataset.preview', v1);
    const preview = lab.datasetPreview;
    assert.ok(preview.panel, 'the panel is open');
    assert.strictEqual(preview.panel.title, 'iris:v1');
    const shown = preview.lastShown!;
    assert.strictEqual(shown.mode, 'table');
    assert.deepStrictEqual(shown.table!.columns, ['sepal_length', 'id', 'species', 'note']);
    assert.strictEqual(shown.table!.rows.length, 200);
    assert.deepStrictEqual(shown.table!.numeric, [true, true, false, false]);
    assert.strictEqual(shown.table!.rows[199][3], 'row 199, with "quotes"\nand a line break');
    assert.ok(shown.fields.some((f) => f.label === 'SHA-256' && f.value === v1.sha256));
    // the count reaches the webview, which proves that its script ran and answered `ready`
    await waitFor('the row count in the webview', () => preview.lastPosted?.type === 'rowCount');
    assert.match(preview.lastRowCount!.note, /first 200 of 1,000 rows · 4 columns/);
  });

  it('adds the same CSV again as v2 with the same content hash', async () => {
    const [v1] = versionsOf('iris');
    const v2 = await cmd<DatasetVersion>('mllab.dataset.addFile', csvPath(), 'iris', '');
    assert.strictEqual(v2.version, 2);
    assert.strictEqual(v2.sha256, v1.sha256);
    assert.strictEqual(v2.path, v1.path, 'stored once');
    await waitFor('v2 in the tree', () => numbers('iris') === '2,1');
    // the same content was counted before: its row count is known at once
    await cmd('mllab.dataset.preview', v2);
    assert.strictEqual(lab.datasetPreview.lastShown?.counting, false);
    assert.match(lab.datasetPreview.lastShown!.note, /first 200 of 1,000 rows/);
  });

  it('lists the entries of a package in the preview', async () => {
    await cmd('mllab.dataset.preview', versionsOf('images')[0]);
    const shown = lab.datasetPreview.lastShown!;
    assert.strictEqual(shown.mode, 'entries');
    assert.deepStrictEqual(
      shown.table!.rows.map((r) => r[0]),
      ['labels.csv', 'nested/deep/readme.txt', 'ünï cødé 数据.txt'],
    );
    assert.match(shown.note, /^3 files/);
  });

  it('opens a text version in a read-only editor named after its file', async () => {
    const graph = await cmd<DatasetVersion>('mllab.dataset.addFile', path.join(dataDir, 'graph.graphml'), 'graph', '');
    await cmd('mllab.dataset.preview', graph);
    const editor = await waitFor('the editor', () => vscode.window.activeTextEditor);
    assert.strictEqual(editor.document.uri.scheme, 'mllab-dataset');
    assert.strictEqual(path.basename(editor.document.uri.path), 'graph.graphml');
    assert.match(editor.document.getText(), /<graphml>/);
    assert.strictEqual(editor.document.languageId, 'xml');
    // the editor hid the preview, whose page was discarded: shown again, it restores and asks again
    const preview = lab.datasetPreview;
    const readies = preview.readyCount;
    preview.panel!.reveal();
    await waitFor('a new ready handshake', () => preview.readyCount > readies);
    assert.strictEqual(preview.lastPosted?.ref, 'images:v1');
  });

  it('adds from the Explorer context menu and by drag and drop, asking for the name', async () => {
    const asked: vscode.InputBoxOptions[] = [];
    const answers = ['from-explorer', 'picked in the explorer', 'iris', ''];
    lab.ui.input = async (options) => {
      asked.push(options);
      return answers.shift();
    };
    const uri = vscode.Uri.file(csvPath());
    const added = await cmd<DatasetVersion[]>('mllab.dataset.addFromExplorer', uri, [uri]);
    assert.deepStrictEqual(
      added.map((v) => [v.name, v.version, v.description]),
      [['from-explorer', 1, 'picked in the explorer']],
    );
    assert.strictEqual(asked[0].value, 'iris');
    const validate = asked[0].validateInput!;
    assert.match(String(await validate('a/b')), /looks like a path/);
    assert.match(JSON.stringify(await validate('iris')), /Adds v3 of the existing dataset/);
    assert.strictEqual(await validate('new-name'), undefined);

    const transfer = new vscode.DataTransfer();
    transfer.set('text/uri-list', new vscode.DataTransferItem(`${uri.toString()}\r\n`));
    await lab.datasetsDrop.handleDrop(dataset('iris'), transfer);
    await waitFor('v3 from the drop', () => versionsOf('iris').length === 3);
    assert.strictEqual(asked[2].value, 'iris', 'a drop onto a dataset proposes its name');
    assert.deepStrictEqual(errors, []);
  });

  it('copies the code that loads a version, in Python or Node.js', async () => {
    const copied: string[] = [];
    lab.ui.copy = async (text) => void copied.push(text);
    const v2 = versionsOf('iris').find((v) => v.version === 2)!;
    await cmd('mllab.dataset.copyLoadCode', v2, 'python');
    lab.ui.pick = async (items) => items[1];
    await cmd('mllab.dataset.copyLoadCode', v2);
    await cmd('mllab.dataset.copyPath', v2);
    assert.deepStrictEqual(copied, [
      'import mllab\npath = mllab.dataset("iris", version=2)\n',
      'const mllab = require(\'mllab\');\nconst path = await mllab.dataset("iris", { version: 2 });\n',
      v2.path,
    ]);
  });

  it('exports a file and a package into a folder', async () => {
    const csv = await cmd<string>('mllab.dataset.export', versionsOf('iris')[0], exportDir);
    assert.strictEqual(fs.readFileSync(csv, 'utf8'), fs.readFileSync(csvPath(), 'utf8'));
    const folder = await cmd<string>('mllab.dataset.export', versionsOf('images')[0], vscode.Uri.file(exportDir));
    assert.strictEqual(fs.readFileSync(path.join(folder, 'nested', 'deep', 'readme.txt'), 'utf8'), 'deep inside\n');
    assert.ok(fs.existsSync(path.join(folder, 'ünï cødé 数据.txt')));
    assert.deepStrictEqual(errors, []);
  });

  it('cancels the add of a big folder: no new version, nothing left in tmp/', async () => {
    bigDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-big-'));
    for (let i = 0; i < 20; i++) {
      fs.writeFileSync(path.join(bigDir, `part-${i}.bin`), randomBytes(10 * 1024 * 1024));
    }
    const reports: { message?: string; increment?: number }[] = [];
    lab.ui.withProgress = (<R>(
      _options: vscode.ProgressOptions,
      task: (p: vscode.Progress<{ message?: string; increment?: number }>, t: vscode.CancellationToken) => Thenable<R>,
    ) => {
      const source = new vscode.CancellationTokenSource();
      // the person presses Cancel as soon as the packaging shows progress
      return task({ report: (value) => (reports.push(value), source.cancel()) }, source.token);
    }) as Ui['withProgress'];
    infos.length = 0;
    const result = await cmd('mllab.dataset.addFolder', bigDir, 'big', 'too big');
    assert.strictEqual(result, undefined);
    assert.deepStrictEqual(infos, ['Cancelled: nothing was stored.']);
    assert.match(reports[0].message ?? '', /^packaging .+ of .+ MB, [\d,]+ of 20 files$/);
    const stored = await lab.backend.client.listDatasets(project.id);
    assert.ok(!stored.some((d) => d.name === 'big'), 'no dataset "big"');
    const tmp = path.join(lab.backend.home!, 'tmp');
    await waitFor('tmp/ to be empty', () => !fs.existsSync(tmp) || fs.readdirSync(tmp).length === 0);
    assert.deepStrictEqual(errors, []);
  });

  it('deletes a version after a modal confirmation that names it', async () => {
    const asked: string[] = [];
    let answer = false;
    lab.ui.confirm = async (message, detail) => {
      asked.push(`${message}\n${detail}`);
      return answer;
    };
    const v1 = versionsOf('iris').find((v) => v.version === 1)!;
    assert.strictEqual(await cmd('mllab.dataset.deleteVersion', v1), false);
    assert.match(asked[0], /^Delete iris:v1\?/);
    assert.match(asked[0], /content stays stored: .* have the same content/);
    for (const other of ['iris:v2', 'iris:v3', 'from-explorer:v1']) {
      assert.ok(asked[0].includes(other), `names ${other}: ${asked[0]}`);
    }
    answer = true;
    assert.strictEqual(await cmd('mllab.dataset.deleteVersion', v1), true);
    await waitFor('v1 gone', () => numbers('iris') === '3,2');
    assert.ok(fs.existsSync(v1.path), 'the content is kept for the versions that share it');
  });

  it('gives integrated terminals MLLAB_HOME and the Python client', () => {
    assert.strictEqual(lab.terminalEnvironment.get('MLLAB_HOME')?.value, lab.backend.home);
    const pythonPath = lab.terminalEnvironment.get('PYTHONPATH');
    assert.strictEqual(pythonPath?.type, vscode.EnvironmentVariableMutatorType.Prepend);
    assert.match(pythonPath.value, /[/\\]python:$/);
  });

  it('shows the view and the preview together', async () => {
    await cmd('workbench.view.extension.mllab');
    const v3 = versionsOf('iris')[0];
    await lab.datasetsView.reveal(v3, { expand: true, select: true, focus: false });
    await lab.datasetsView.reveal(dataset('images')!, { expand: true, select: false });
    await cmd('mllab.dataset.preview', v3);
    await waitFor('the webview', () => lab.datasetPreview.lastPosted?.ref === 'iris:v3');
    await new Promise((r) => setTimeout(r, 1000));
    await screenshot('datasets-view');
  });
});

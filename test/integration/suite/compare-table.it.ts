import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MlLab } from '../../../src/extension/lab';
import type { Project } from '../../../src/protocol/api';
import type { Experiment } from '../../../src/protocol/experiments';
import type { WebviewToHostMessage } from '../../../src/protocol/webviews/compare-table';
import { appendEvents, manifest, metricLine, writeManifest } from '../../unit/experiments-helpers';
import { closeTestProject, openTestProject, screenshot, waitFor } from './helpers';

describe('Compare table in a real VS Code extension host', function () {
  this.timeout(120000);
  let lab: MlLab;
  let project: Project | undefined;
  let csv: string | undefined;

  before(async () => {
    ({ lab, project } = await openTestProject('Compare IT'));
  });

  after(async () => {
    lab.compareTable.panel?.dispose();
    lab.metricCharts.panel?.dispose();
    if (csv) {
      fs.rmSync(csv, { force: true });
    }
    await closeTestProject(lab, project);
  });

  it('opens with the selected runs preselected, posts the rows, follows a running run live, exports CSV', async () => {
    const home = lab.backend.home!;
    const suffix = Date.now().toString(16).slice(-6);
    const ids = ['030405', '030406', '030407'].map((t) => `20260102-${t}-${suffix}`);
    const finished = { status: 'completed' as const, endedAt: '2026-01-02T03:14:05.000Z', exitCode: 0 };
    writeManifest(
      home,
      manifest(ids[0], { name: 'cmp-a', project: project!.id, params: { lr: 0.1, opt: 'adam, "b"' }, ...finished }),
    );
    writeManifest(
      home,
      manifest(ids[1], { name: 'cmp-b', project: project!.id, params: { lr: 0.01, opt: 'sgd' }, ...finished }),
    );
    // still running: its pid (this extension host) lives
    writeManifest(home, manifest(ids[2], { name: 'cmp-live', project: project!.id, params: { lr: 0.5 } }));
    appendEvents(home, ids[0], metricLine('acc', 0.9, 0) + metricLine('acc', 'NaN', 1));
    appendEvents(home, ids[1], metricLine('acc', 0.7, 0));
    appendEvents(home, ids[2], metricLine('acc', 0.2, 0));
    const runs = await waitFor(
      'the three runs with their metrics',
      () => {
        const found = ids.map((id) => lab.experiments.items.find((e: Experiment) => e.id === id));
        return found.every((e) => e && e.metrics.length === 1) ? found.map((e) => e!) : undefined;
      },
      60000,
    );

    const table = lab.compareTable;
    // as from the Experiments view's context menu on a multi-selection: (clicked, selected)
    await vscode.commands.executeCommand('mllab.experiment.compare', runs[0], [runs[0], runs[1]]);
    await waitFor('the ready handshake', () => table.readyCount > 0);
    const first = await waitFor('the table posted', () =>
      table.lastPosted?.type === 'table' ? table.lastPosted : undefined,
    );
    assert.deepStrictEqual([...(first.select ?? [])].sort(), [ids[0], ids[1]].sort());
    assert.strictEqual(first.project, project!.name);
    const columnIds = first.columns.map((c) => c.id);
    for (const id of [
      'name',
      'status',
      'started',
      'runId',
      'params.lr',
      'params.opt',
      'metrics.acc.last',
      'metrics.acc.max',
    ]) {
      assert.ok(columnIds.includes(id), `${id} in ${columnIds.join(', ')}`);
    }
    const last = columnIds.indexOf('metrics.acc.last') + 1;
    const row = (id: string) => first.rows.find((r) => r[0] === id)!;
    assert.deepStrictEqual(
      ids.map((id) => row(id)[columnIds.indexOf('name') + 1]),
      ['cmp-a', 'cmp-b', 'cmp-live'],
    );
    assert.strictEqual(row(ids[0])[last], 'NaN', 'NaN travels as text');
    assert.strictEqual(row(ids[0])[columnIds.indexOf('runId') + 1], ids[0], 'the run id column');
    assert.strictEqual(row(ids[1])[columnIds.indexOf('params.lr') + 1], 0.01);
    // the tab names what it compares (newest first), not the project
    assert.strictEqual(vscode.window.tabGroups.activeTabGroup.activeTab?.label, 'Compare: 3 runs (cmp-live, cmp-b, …)');
    await new Promise((r) => setTimeout(r, 1000)); // let the webview draw
    await screenshot('compare-table');

    // the running run logs a point: only its row is posted again
    appendEvents(home, ids[2], metricLine('acc', 0.6, 1));
    const update = await waitFor(
      'the live row',
      () => (table.lastPosted?.type === 'rows' ? table.lastPosted : undefined),
      30000,
    );
    assert.deepStrictEqual(
      update.rows.map((r) => [r[0], r[last]]),
      [[ids[2], 0.6]],
    );

    // "Export CSV" from the page: the shown columns and rows; the host writes where the person chose
    const file = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, `compare-it-${suffix}.csv`);
    csv = file;
    table.pickCsvTarget = async () => vscode.Uri.file(file);
    const exportMessage: WebviewToHostMessage = {
      type: 'exportCsv',
      columns: ['name', 'params.opt', 'metrics.acc.last'],
      ids: [ids[1], ids[0]],
    };
    (table as unknown as { onMessage(m: WebviewToHostMessage): void }).onMessage(exportMessage);
    await waitFor('the CSV file', () => table.lastExport === file && fs.existsSync(file));
    assert.strictEqual(
      fs.readFileSync(file, 'utf8'),
      `id,name,params.opt,metrics.acc.last\r\n${ids[1]},cmp-b,sgd,0.7\r\n${ids[0]},cmp-a,"adam, ""b""",NaN\r\n`,
    );
    assert.deepStrictEqual(
      fs.readdirSync(path.dirname(file)).filter((f) => f.includes(`compare-it-${suffix}`) && f.endsWith('.tmp')),
      [],
      'no temp file left',
    );

    // "Chart Selected" opens the metric charts of the selected runs
    (table as unknown as { onMessage(m: WebviewToHostMessage): void }).onMessage({
      type: 'chart',
      ids: [ids[0], ids[2]],
    });
    await waitFor('the metric charts page', () => lab.metricCharts.readyCount > 0);
    lab.metricCharts.panel?.dispose();
    // the table was hidden behind the charts: shown again, its page reloads and gets the table again
    await waitFor('the table page again', () => table.readyCount === 2 && table.lastPosted?.type === 'table');

    // a deleted run leaves the table
    await lab.backend.client.deleteExperiment(ids[1]);
    const deleted = await waitFor('the deleted row', () =>
      table.lastPosted?.type === 'deleteRows' ? table.lastPosted : undefined,
    );
    assert.deepStrictEqual(deleted.ids, [ids[1]]);

    // opened again from the toolbar with another selection: the open panel selects those rows
    await vscode.commands.executeCommand('mllab.experiment.compare', undefined, [runs[2]]);
    await waitFor('the new selection', () =>
      table.lastPosted?.type === 'select' && table.lastPosted.ids[0] === ids[2] ? true : undefined,
    );
    assert.strictEqual(table.readyCount, 2, 'the same page: no reload');
  });
});

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MlLab } from '../../../src/extension/lab';
import type { Project } from '../../../src/protocol/api';
import type { WebviewToHostMessage } from '../../../src/protocol/webviews/metric-charts';
import { appendEvents, manifest, metricLine, writeManifest } from '../../unit/experiments-helpers';
import { closeTestProject, openTestProject, screenshot, waitFor } from './helpers';

/** Two finished runs written straight into the lab home, as a tracking client would. */
function writeRun(home: string, id: string, name: string, projectId: string, seed: number): void {
  writeManifest(
    home,
    manifest(id, {
      name,
      project: projectId,
      status: 'completed',
      endedAt: '2026-01-02T03:14:05.000Z',
      exitCode: 0,
    }),
  );
  let lines = '';
  for (let s = 0; s < 500; s++) {
    lines += metricLine('loss', seed * Math.exp(-s / 100) + 0.01 * (s % 7), s);
    lines += metricLine('accuracy', s >= 200 && s < 220 && seed === 2 ? 'NaN' : 1 - Math.exp(-s / 80) / seed, s);
  }
  appendEvents(home, id, lines);
}

describe('Metric charts in a real VS Code extension host', function () {
  this.timeout(120000);
  let lab: MlLab;
  let project: Project | undefined;

  before(async () => {
    ({ lab, project } = await openTestProject('Charts IT'));
  });

  after(async () => {
    lab.metricCharts.panel?.dispose();
    await closeTestProject(lab, project);
  });

  it('opens the charts of two selected runs: ready handshake, series posted, live status of a deleted run', async () => {
    const home = lab.backend.home!;
    const suffix = Date.now().toString(16).slice(-6);
    const ids = [`20260102-030405-${suffix}`, `20260102-030406-${suffix}`];
    writeRun(home, ids[0], 'charts-a', project!.id, 1);
    writeRun(home, ids[1], 'charts-b', project!.id, 2);
    const runs = await waitFor(
      'both runs with all their points in the Experiments view',
      () => {
        const found = ids.map((id) => lab.experiments.items.find((e) => e.id === id));
        return found.every((e) => e?.metrics.find((m) => m.key === 'loss')?.count === 500)
          ? found.map((e) => e!)
          : undefined;
      },
      60000,
    );

    const charts = lab.metricCharts;
    // as from the Experiments view's context menu on a multi-selection: (clicked, selected)
    await vscode.commands.executeCommand('mllab.experiment.showCharts', runs[0], runs);
    await waitFor('the ready handshake', () => charts.readyCount > 0);
    assert.deepStrictEqual(
      charts.shownRuns.map((r) => r.name),
      ['charts-a', 'charts-b'],
    );
    // the tab names what it shows
    assert.strictEqual(charts.panel?.title, 'Metrics: 2 runs (charts-a, charts-b)');
    // the page asks for the keys on screen; the host answers with both runs' series of both keys
    await waitFor('the series of both keys for both runs', () => charts.seriesPosted >= 4, 30000);
    // the last series message, not the last message: a run list or status message may follow it
    const last = charts.lastSeries;
    assert.ok(last, 'a series message was posted');
    for (const s of last.series) {
      assert.ok(s.steps.length > 0 && s.steps.length <= s.total, `${s.key} of ${s.runId}`);
    }
    const accuracy = last.series.find((s) => s.key === 'accuracy' && s.runId === ids[1]);
    if (accuracy) {
      assert.strictEqual(accuracy.values.filter((v) => Number.isNaN(v)).length, 20, 'the NaN period arrives as NaN');
    }
    // the page drew both charts from those arrays (typed arrays cross VS Code's postMessage as binary)
    const drawn = await waitFor('the page to report both charts drawn', () =>
      charts.drawnCharts.length === 2 && charts.drawnCharts.every((c) => c.points > 0) ? charts.drawnCharts : undefined,
    );
    assert.deepStrictEqual(drawn.map((c) => c.key).sort(), ['accuracy', 'loss']);
    await screenshot('metric-charts');

    // "CSV" on a chart: the host writes every point of the key of both runs where the person chose
    const csvFile = path.join(os.tmpdir(), `mllab-charts-it-${suffix}.csv`);
    charts.saveDialog = async () => vscode.Uri.file(csvFile);
    (charts as unknown as { onMessage(m: WebviewToHostMessage): void }).onMessage({
      type: 'exportCsv',
      keys: ['loss'],
    });
    const csv = await waitFor('the CSV file', () => fs.existsSync(csvFile) && fs.readFileSync(csvFile, 'utf8'));
    const lines = csv.trim().split('\n');
    assert.strictEqual(lines[0], 'run_id,run_name,key,step,time,relative_seconds,value');
    assert.strictEqual(lines.length, 1 + 2 * 500, 'every point of both runs, not the downsampled ones');
    fs.rmSync(csvFile, { force: true });

    // a run deleted while its chart is open is kept, marked deleted
    await lab.backend.client.deleteExperiment(ids[1]);
    await waitFor(
      'the deleted run to be marked',
      () => charts.shownRuns.find((r) => r.id === ids[1])?.status === 'deleted',
    );
    assert.strictEqual(charts.lastPosted?.type, 'runs');
  });

  it('labels runs of one script by the params that differ; the picker starts from the selection and Enter accepts', async () => {
    const home = lab.backend.home!;
    const suffix = Date.now().toString(16).slice(-6);
    const ids = [`20260102-040405-${suffix}`, `20260102-040406-${suffix}`];
    ids.forEach((id, i) => {
      writeManifest(
        home,
        manifest(id, {
          name: 'train',
          project: project!.id,
          status: 'completed',
          endedAt: '2026-01-02T04:14:05.000Z',
          exitCode: 0,
          params: { lr: [0.05, 0.1][i], epochs: 10 },
        }),
      );
      appendEvents(
        home,
        id,
        Array.from({ length: 30 + 50 * i }, (_, s) => metricLine('loss', 1 / (s + 1), s)).join(''),
      );
    });
    const runs = await waitFor(
      'both runs of train',
      () => {
        const found = ids.map((id) => lab.experiments.items.find((e) => e.id === id && e.metrics.length === 1));
        return found.every((e) => e) ? found.map((e) => e!) : undefined;
      },
      60000,
    );
    const charts = lab.metricCharts;
    await vscode.commands.executeCommand('mllab.experiment.showCharts', runs[0], runs);
    assert.deepStrictEqual(
      charts.shownRuns.map((r) => r.label),
      ['train lr=0.05', 'train lr=0.1'],
    );
    assert.strictEqual(charts.panel?.title, 'Metrics: 2 runs of train');
    await waitFor('the page to paint', () => charts.drawnCharts.some((c) => c.key === 'loss' && c.points > 0));
    await screenshot('metric-charts-labels');

    // the Experiments view: under the group "train" each run reads by what differs, then its status
    const item = lab.experimentsTree.getTreeItem(runs[1]);
    assert.strictEqual(item.label, 'lr=0.1');
    assert.match(String(item.description), /^completed · loss 0\.0125 · /);

    // no arguments (the view's toolbar, the command palette): a picker with the view's selection checked
    await vscode.commands.executeCommand('workbench.view.extension.mllab');
    await lab.experimentsView.reveal(runs[1], { select: true, focus: true });
    await waitFor('the selection', () => lab.experimentsView.selection.some((n) => 'id' in n && n.id === ids[1]));
    const shown = vscode.commands.executeCommand('mllab.experiment.showCharts');
    await new Promise((r) => setTimeout(r, 1500)); // the picker opens
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem'); // Enter
    assert.strictEqual(await shown, charts, 'Enter accepted the picker');
    assert.deepStrictEqual(
      charts.shownRuns.map((r) => r.id),
      [ids[1]],
    );
  });

  it('appends the points of a running run live, and shows when it ends', async () => {
    const home = lab.backend.home!;
    const id = `20260102-030407-${Date.now().toString(16).slice(-6)}`;
    // a running run of this very process (its pid is alive), as a training script in progress
    const running = manifest(id, { name: 'charts-live', project: project!.id });
    writeManifest(home, running);
    appendEvents(home, id, Array.from({ length: 50 }, (_, s) => metricLine('loss', 1 / (s + 1), s)).join(''));
    const run = await waitFor(
      'the running run',
      () => lab.experiments.items.find((e) => e.id === id && e.metrics.some((m) => m.count === 50)),
      60000,
    );
    const charts = lab.metricCharts;
    await vscode.commands.executeCommand('mllab.experiment.showCharts', run);
    await waitFor('its series', () => charts.lastSeries?.series.length === 1, 30000);
    const before = charts.livePointsPosted;
    appendEvents(home, id, Array.from({ length: 30 }, (_, s) => metricLine('loss', 1 / (s + 51), s + 50)).join(''));
    appendEvents(home, id, metricLine('new_metric', 0.5, 0));
    await waitFor('the live points', () => charts.livePointsPosted >= before + 31, 30000);
    assert.ok(charts.shownRuns[0].status === 'running');
    writeManifest(home, { ...running, status: 'completed', endedAt: new Date().toISOString(), exitCode: 0 });
    await waitFor('the run to show as completed', () => charts.shownRuns[0].status === 'completed', 30000);
    await screenshot('metric-charts-live');
  });
});

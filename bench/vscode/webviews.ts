// Runs inside a real VS Code extension host (through the integration harness, see bench/run.ts
// `webviews`): times each of ML Lab's experiment pages from the command to the page's first paint
// (the page posts `painted` after the frame that shows its data), side by side with a bare webview
// that posts as soon as it is painted (the floor: what any webview costs in this editor), and prints
// `MLLAB_BENCH <name> <ms>` lines that bench/run.ts reads.
import { performance } from 'perf_hooks';
import * as vscode from 'vscode';
import type { MlLabApi } from '../../src/extension/extension';
import type { MlLab } from '../../src/extension/lab';
import { appendEvents, manifest, metricLine, writeManifest } from '../../test/unit/experiments-helpers';

const RUNS = 12;
const POINTS = 500;
const REPEATS = 3;

function waitFor<T>(what: string, probe: () => T | undefined | false, ms = 60000): Promise<T> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = () => {
      const v = probe();
      if (v) {
        resolve(v);
      } else if (Date.now() > end) {
        reject(new Error(`timed out waiting for ${what}`));
      } else {
        setTimeout(check, 5);
      }
    };
    check();
  });
}

/** Milliseconds from `start()` to the first firing of `event` that `accept` takes. */
function timeTo<T>(
  event: vscode.Event<T>,
  start: () => unknown,
  accept: (v: T) => boolean = () => true,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no paint within 60 s')), 60000);
    let t0 = 0;
    const sub = event((v) => {
      if (accept(v)) {
        clearTimeout(timer);
        sub.dispose();
        resolve(performance.now() - t0);
      }
    });
    t0 = performance.now();
    Promise.resolve(start()).catch((e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
  });
}

/**
 * A bare webview page that loads one small stylesheet of the extension and posts once painted: the
 * floor of any page in this editor (the first one of a window also pays for the editor setting up
 * the loading of extension files into webviews).
 */
async function bareWebview(extensionUri: vscode.Uri): Promise<number> {
  let panel: vscode.WebviewPanel | undefined;
  const emitter = new vscode.EventEmitter<void>();
  const folder = vscode.Uri.joinPath(extensionUri, 'dist', 'webviews');
  const ms = await timeTo(emitter.event, () => {
    panel = vscode.window.createWebviewPanel('mllab.benchBare', 'Bare', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [folder],
    });
    panel.webview.onDidReceiveMessage(() => emitter.fire());
    const css = panel.webview.asWebviewUri(vscode.Uri.joinPath(folder, 'uplot.css')).toString();
    panel.webview.html = `<!DOCTYPE html><html><head><link rel="stylesheet" href="${css}"></head>
      <body><div id="x">bare</div><script>
      const api = acquireVsCodeApi();
      requestAnimationFrame(() => setTimeout(() => api.postMessage({ type: 'painted' }), 0));
    </script></body></html>`;
  });
  panel?.dispose();
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function closeEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

export async function run(): Promise<void> {
  const extension = vscode.extensions.getExtension<MlLabApi>('mllab.mllab')!;
  const lab: MlLab = (await extension.activate()).lab;
  // as a person's first click: showing the views starts the backend
  await vscode.commands.executeCommand('workbench.view.extension.mllab');
  await waitFor('the backend', () => lab.backend.state.kind === 'connected').catch((e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(lab.backend.state)}`);
  });
  const project = await lab.backend.client.createProject(`Bench webviews ${Date.now()}`);
  await lab.backend.client.setActiveProject(project.id);
  await waitFor('the project', () => lab.projects.activeProject?.id === project.id);
  const home = lab.backend.home!;
  const suffix = Date.now().toString(16).slice(-6);
  const ids: string[] = [];
  for (let r = 0; r < RUNS; r++) {
    const id = `20260102-03${String(r).padStart(4, '0')}-${suffix}`;
    ids.push(id);
    writeManifest(
      home,
      manifest(id, {
        name: 'train',
        project: project.id,
        status: 'completed',
        endedAt: '2026-01-02T03:14:05.000Z',
        exitCode: 0,
        params: { lr: [0.01, 0.05, 0.1][r % 3], epochs: 10 + (r % 4) * 10, data: 'iris.csv' },
      }),
    );
    let lines = '';
    for (let s = 0; s < POINTS; s++) {
      lines += metricLine('loss', Math.exp(-s / (50 + r)) + 0.01 * (s % 7), s);
      lines += metricLine('accuracy', 1 - Math.exp(-s / (60 + r)), s);
    }
    appendEvents(home, id, lines);
  }
  const runs = await waitFor('the runs ingested', () => {
    const found = ids.map((id) => lab.experiments.items.find((e) => e.id === id));
    return found.every((e) => e?.metrics.find((m) => m.key === 'loss')?.count === POINTS)
      ? found.map((e) => e!)
      : undefined;
  });

  // let the ingestion's last events and the views' refreshes settle: a page is opened on a quiet window
  await new Promise((r) => setTimeout(r, Number(process.env.MLLAB_BENCH_SETTLE_MS ?? 5000)));
  const figures: Record<string, number[]> = { bare: [], charts: [], compare: [], details: [] };
  for (let i = 0; i < REPEATS; i++) {
    await closeEditors();
    figures.bare.push(await bareWebview(extension.extensionUri));
    await closeEditors();
    // phases of the charts page: the page's ready, the series posted
    const charts = lab.metricCharts;
    const t0 = performance.now();
    const phases: string[] = [];
    const readyBefore = charts.readyCount;
    const seriesBefore = charts.seriesPosted;
    let last = performance.now();
    let lag = 0;
    const poll = setInterval(() => {
      const now = performance.now();
      lag = Math.max(lag, now - last - 2);
      last = now;
      if (phases.length === 0 && charts.readyCount > readyBefore) {
        phases.push(`ready ${(performance.now() - t0).toFixed(0)}`);
      }
      if (phases.length === 1 && charts.seriesPosted > seriesBefore) {
        phases.push(`series ${(performance.now() - t0).toFixed(0)}`);
      }
    }, 2);
    figures.charts.push(
      await timeTo(charts.onDidPaint, () =>
        vscode.commands.executeCommand('mllab.experiment.showCharts', runs[0], runs),
      ),
    );
    clearInterval(poll);
    console.log(
      `MLLAB_BENCH_PHASES charts ${phases.join(' ')} (longest stall of the extension host ${lag.toFixed(0)} ms, list loads so far ${lab.experiments.loads})`,
    );
    await closeEditors();
    figures.compare.push(
      await timeTo(lab.compareTable.onDidPaint, () => vscode.commands.executeCommand('mllab.experiment.compare')),
    );
    await closeEditors();
    const id = ids[i % ids.length];
    figures.details.push(
      await timeTo(
        lab.experimentDetails.onDidPaint,
        () => vscode.commands.executeCommand('mllab.experiment.show', id),
        (painted) => painted === id,
      ),
    );
  }
  await closeEditors();
  for (const [name, xs] of Object.entries(figures)) {
    // the median, then each repeat (the first is the first page of the window)
    console.log(`MLLAB_BENCH webview_${name} ${median(xs).toFixed(1)} ${xs.map((x) => x.toFixed(0)).join(',')}`);
  }
  await lab.backend.client.deleteProject(project.id);
}

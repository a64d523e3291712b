// `npm run bench`: every figure side by side with its reference, one line each; see docs/PERFORMANCE.md.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ApiClient } from '../src/client/api-client';
import { chartsBench } from './charts';
import { clusterJobsBench } from './cluster-jobs';
import { clusterServicesBench } from './cluster-services';
import { clusterTargetsBench } from './cluster-targets';
import { cliStartupBench } from './cli-startup';
import { compareTableBench } from './compare-table';
import { csvPreviewBench } from './csv-preview';
import { dockerBench } from './docker';
import { eventLatencyBench } from './event-latency';
import { ingestBench, listingBench } from './ingest';
import { mlflowBench } from './mlflow';
import { modelsBench } from './models';
import { packagingBench } from './packaging';
import { remoteBench } from './remote';
import { remoteEngineBench } from './remote-engine';
import { proxyBench } from './proxy';
import { scaleBench } from './scale';
import { schedulerBench } from './scheduler';
import { storeReplayBench } from './store-replay';
import { sweepsBench } from './sweeps';
import { get, load, startBackend, startReference, Target, tempHome } from './http-bench';
import { median, report } from './stats';

const RUNS = Number(process.env.MLLAB_BENCH_RUNS ?? 7);

/** Time from spawning the process to its first answered request, polling every millisecond. */
async function timeToFirstAnswer(start: () => Promise<Target>, urlPath: string): Promise<number> {
  const t0 = performance.now();
  const target = await start();
  const agent = new http.Agent();
  for (;;) {
    try {
      await get(agent, target, urlPath);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 1));
    }
  }
  const elapsed = performance.now() - t0;
  agent.destroy();
  await target.stop();
  return elapsed;
}

async function startup(): Promise<void> {
  const ours: number[] = [];
  const reference: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const home = tempHome();
    ours.push(await timeToFirstAnswer(() => startBackend(home), '/api/status'));
    reference.push(await timeToFirstAnswer(() => startReference('{}'), '/'));
    fs.rmSync(path.dirname(home), { recursive: true, force: true });
  }
  report(
    'backend start to first answered request (median)',
    median(ours),
    median(reference),
    'ms',
    'bare node http server',
  );
}

async function reads(): Promise<void> {
  const home = tempHome();
  const backend = await startBackend(home);
  const client = new ApiClient(backend.port, backend.token!);
  for (let i = 0; i < 20; i++) {
    await client.createProject(`project-${i}`, 'a project of the benchmark');
  }
  const body = JSON.stringify(await client.listProjects());
  client.dispose();
  const reference = await startReference(body);
  const rate = Number(process.env.MLLAB_BENCH_RPS ?? 1000);
  const seconds = Number(process.env.MLLAB_BENCH_SECONDS ?? 10);
  await load(backend, '/api/projects', rate, 1); // warm-up
  await load(reference, '/', rate, 1);
  const ours = await load(backend, '/api/projects', rate, seconds);
  const ref = await load(reference, '/', rate, seconds);
  const label = `GET /api/projects (20 projects) at ${rate} req/s for ${seconds} s`;
  report(`${label}: p99 latency`, ours.p99, ref.p99, 'ms', 'bare node http server, same body');
  report(`${label}: p50 latency`, ours.p50, ref.p50, 'ms', 'bare node http server, same body');
  report(`${label}: achieved rate`, ours.achievedRps, ref.achievedRps, 'req/s', 'bare node http server');
  await backend.stop();
  await reference.stop();
  fs.rmSync(path.dirname(home), { recursive: true, force: true });
}

async function writes(): Promise<void> {
  const home = tempHome();
  const backend = await startBackend(home);
  const client = new ApiClient(backend.port, backend.token!);
  const n = 300;
  const ours: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await client.createProject(`w-${i}`);
    ours.push(performance.now() - t0);
  }
  client.dispose();
  await backend.stop();
  // reference: the durable-append floor, one small line appended and fdatasync'ed per write
  const file = path.join(path.dirname(home), 'reference.log');
  const fd = fs.openSync(file, 'a');
  const ref: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fs.writeSync(fd, `${'x'.repeat(200)}\n`);
    fs.fdatasyncSync(fd);
    ref.push(performance.now() - t0);
  }
  fs.closeSync(fd);
  report(
    'acknowledged durable write, POST /api/projects (median)',
    median(ours),
    median(ref),
    'ms',
    'append + fdatasync alone',
  );
  fs.rmSync(path.dirname(home), { recursive: true, force: true });
}

/** Activation in a real VS Code extension host, through the integration harness. */
async function activation(): Promise<void> {
  const repo = path.resolve(__dirname, '..', '..');
  const result = spawnSync(process.execPath, [path.join(repo, 'out', 'test', 'integration', 'run.js')], {
    encoding: 'utf8',
    env: {
      ...process.env,
      MLLAB_IT_TESTS_PATH: path.join(repo, 'out', 'bench', 'vscode', 'index.js'),
      MLLAB_IT_SCREENSHOT: '0',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  const figures = new Map<string, string[]>();
  for (const m of result.stdout.matchAll(/MLLAB_BENCH (\S+) (.+)/g)) {
    figures.set(m[1], m[2].trim().split(' '));
  }
  const wall = Number(figures.get('activate_wall')?.[0]);
  if (result.status !== 0 || !Number.isFinite(wall)) {
    throw new Error(`activation benchmark failed:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`);
  }
  const ref = figures.get('reference_wall');
  if (ref) {
    report(
      'extension activation, activate() call as seen by VS Code',
      wall,
      Number(ref[0]),
      'ms',
      `built-in ${ref[1]}`,
    );
  } else {
    process.stdout.write(
      `extension activation, activate() call as seen by VS Code: ${wall.toFixed(2)} ms (no inactive built-in extension to compare)\n`,
    );
  }
  process.stdout.write(
    `extension activation, bundle evaluation (our code): ${Number(figures.get('bundle_evaluation')?.[0]).toFixed(2)} ms\n`,
  );
  process.stdout.write(
    `extension activation, time inside activate(): ${Number(figures.get('activate_inside')?.[0]).toFixed(2)} ms\n`,
  );
  process.stdout.write(
    `backend connected after activation returned (background): ${Number(figures.get('backend_ready_after_activation')?.[0]).toFixed(2)} ms\n`,
  );
}

/**
 * Runs a bench module (its compiled path under bench/vscode/) inside a real VS Code extension host
 * through the integration harness, and returns its `MLLAB_BENCH <name> <values...>` lines by name.
 */
function inVsCode(
  module: string,
  env: Record<string, string> = {},
): { figures: Map<string, string[]>; stdout: string; output: string } {
  const out = path.resolve(__dirname, '..');
  const result = spawnSync(process.execPath, [path.join(out, 'test', 'integration', 'run.js')], {
    encoding: 'utf8',
    env: {
      ...process.env,
      MLLAB_IT_TESTS_PATH: path.join(__dirname, 'vscode', module),
      MLLAB_IT_SCREENSHOT: '0',
      ...env,
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  const figures = new Map<string, string[]>();
  for (const m of result.stdout.matchAll(/MLLAB_BENCH (\S+) (.+)/g)) {
    figures.set(m[1], m[2].trim().split(' '));
  }
  const output = `${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`;
  return { figures: result.status === 0 ? figures : new Map(), stdout: result.stdout, output };
}

/**
 * ML Lab's experiment pages in a real VS Code host: from the command to the page's first paint
 * (bench/vscode/webviews.ts), side by side with a bare webview page.
 */
async function webviews(): Promise<void> {
  const { figures, output } = inVsCode('webviews.js');
  const bare = Number(figures.get('webview_bare')?.[0]);
  if (!Number.isFinite(bare)) {
    throw new Error(`webviews benchmark failed:\n${output}`);
  }
  for (const [name, page] of [
    ['charts', 'metric charts of 12 runs'],
    ['compare', 'compare table of 12 runs'],
    ['details', 'experiment details'],
  ]) {
    const f = figures.get(`webview_${name}`)!;
    report(`${page}, command to painted page (median; runs ${f[1]})`, Number(f[0]), bare, 'ms', 'a bare webview page');
  }
}

/**
 * The Experiments view in a real VS Code host on a lab of 1,000 / 10,000 / 100,000 finished runs
 * (MLLAB_BENCH_TREE_RUNS, comma-separated; one window each; bench/vscode/experiments-view.ts): from
 * showing the view (or from its list changing while it is shown) to its rows answered and handed to
 * the workbench, side by side with a bare TreeDataProvider of the same rows in the same view, and with the
 * view of an empty project. MLLAB_BENCH_TREE_PROFILE=<folder> adds CPU profiles of the extension host.
 */
async function tree(): Promise<void> {
  const sizes = (process.env.MLLAB_BENCH_TREE_RUNS ?? '1000,10000,100000').split(',').map(Number);
  for (const n of sizes.filter((x) => x > 0)) {
    const { figures, stdout, output } = inVsCode('experiments-view.js', {
      MLLAB_BENCH_TREE_N: String(n),
      MLLAB_IT_TIMEOUT_MS: process.env.MLLAB_IT_TIMEOUT_MS ?? String(120 * 60_000),
    });
    const runs = `${n.toLocaleString('en-US')} runs`;
    for (const line of stdout.split('\n').filter((l) => /MLLAB_BENCH_(PHASES|PROFILE)/.test(l))) {
      process.stdout.write(`${line.replace(/^.*MLLAB_BENCH_(PHASES|PROFILE) /, `[${runs}] `)}\n`);
    }
    const empty = figures.get('tree_show_empty');
    if (!empty) {
      throw new Error(`experiments view benchmark failed:\n${output}`);
    }
    const load = os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ');
    const shapes = {
      status: 'grouped by status (1 group: 200 runs and "Show 200 more")',
      name: `grouped by name (${runs}, a group each; the top level shows 200 and "Show 200 more groups")`,
    };
    for (const grouping of ['status', 'name'] as const) {
      const show = figures.get(`tree_show_${grouping}`)!;
      const bare = figures.get(`tree_bare_show_${grouping}`)!;
      const name = `[${runs}] Experiments view shown, to rows delivered, ${shapes[grouping]} (median; runs ${show[1]})`;
      report(name, Number(show[0]), Number(bare[0]), 'ms', `bare TreeDataProvider, same rows; runs ${bare[1]}`);
      report(name, Number(show[0]), Number(empty[0]), 'ms', `same view, empty project; runs ${empty[1]}`);
    }
    for (const grouping of ['status', 'name'] as const) {
      const refresh = figures.get(`tree_refresh_${grouping}`)!;
      const bare = figures.get(`tree_bare_refresh_${grouping}`)!;
      report(
        `[${runs}] Experiments view on screen, list reloaded: from the list's change to rows delivered, ${shapes[grouping]} (median; runs ${refresh[1]})`,
        Number(refresh[0]),
        Number(bare[0]),
        'ms',
        `bare TreeDataProvider, same rows; runs ${bare[1]}`,
      );
    }
    const first = figures.get('tree_first_show_status')!;
    process.stdout.write(
      `[${runs}] Experiments view shown the first time in the window, grouped by status: ${Number(first[0]).toFixed(1)} ms\n` +
        `[${runs}] load average at the end: ${load}\n`,
    );
  }
}

/** The Python client's log_metric cost, measured by bench/python-log-metric.py with the machine's python3. */
async function python(): Promise<void> {
  const repo = path.resolve(__dirname, '..', '..');
  const r = spawnSync('python3', [path.join(repo, 'bench', 'python-log-metric.py')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) {
    throw new Error(`bench/python-log-metric.py failed with exit code ${r.status}`);
  }
  process.stdout.write(r.stdout);
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const all: Record<string, () => Promise<void>> = {
    startup,
    reads,
    writes,
    activation,
    webviews,
    tree,
    cli: cliStartupBench,
    packaging: packagingBench,
    csv: csvPreviewBench,
    charts: chartsBench,
    compare: compareTableBench,
    ingest: ingestBench,
    listing: listingBench,
    events: eventLatencyBench,
    python,
    docker: dockerBench,
    scheduler: schedulerBench,
    models: modelsBench,
    scale: scaleBench,
    replay: storeReplayBench,
    remote: remoteBench,
    proxy: proxyBench,
    mlflow: mlflowBench,
    'cluster-jobs': clusterJobsBench,
    'cluster-services': clusterServicesBench,
    'cluster-targets': clusterTargetsBench,
    'remote-engine': remoteEngineBench,
    sweeps: sweepsBench,
  };
  for (const [name, fn] of Object.entries(all)) {
    if (!only || only === name) {
      await fn();
    }
  }
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
  process.exitCode = 1;
});

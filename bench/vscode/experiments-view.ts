// Runs inside a real VS Code extension host (through the integration harness, see bench/run.ts
// `tree`): times the Experiments view on a lab of MLLAB_BENCH_TREE_N finished runs and prints
// `MLLAB_BENCH <name> <median ms> <each repeat> ...` lines that bench/run.ts reads.
//
// The lab is written before the window's backend starts (in a child process: a backend makes the
// project active, then bench/scale.ts's generateRuns copies the runs in), and the view is timed only
// once the window's list holds every run and the backend lists them all: the view, not the ingest.
//
// Two figures. "show": the view is hidden (the Explorer is shown), its tree changes meanwhile (the
// editor then refreshes it when it shows again), and `mllab.experiments.focus` shows it, as a click
// on the ML Lab icon does. "refresh": the view is on screen and its list reloads (as after a run
// changes, or Refresh), timed from the list's change. The tree's getChildren and getTreeItem are
// wrapped on the instance to see when the root rows and the rows of every expanded group have been
// answered, then a round trip to the workbench: the time "delivered". The view may answer more than
// once (e.g. empty first, then the runs): the figure is the last answer holding the expected rows,
// once nothing is asked for a second. Each generated run has a name of its own, so grouped by name
// the view has one group per run (the most groups a lab of N runs gives; the top level shows a page
// of 200 and a "Show 200 more groups" row, the first group expanded); grouped by status
// it has one group showing a page of 200 runs and a "Show 200 more" row. The references, in the same
// window: a bare TreeDataProvider giving the same rows (labels only) in the same view, and the same
// view with an empty project. MLLAB_BENCH_TREE_PROFILE=<folder> writes CPU profiles of this host.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as inspector from 'inspector';
import * as os from 'os';
import * as path from 'path';
import { monitorEventLoopDelay, performance } from 'perf_hooks';
import * as vscode from 'vscode';
import type { BackendState } from '../../src/extension/backend/backend-service';
import type { MlLabApi } from '../../src/extension/extension';
import type { MlLab } from '../../src/extension/lab';
import type { Grouping } from '../../src/extension/experiments/tree';
import { PAGE_SIZE } from '../../src/extension/experiments/tree-pages';
import { waitFor } from '../../test/integration/suite/helpers';
import { median } from '../stats';

const VIEW = 'mllab.experiments';
const REPEATS = Number(process.env.MLLAB_BENCH_TREE_REPEATS ?? 3);
/** no open waits longer than this */
const LIMIT_MS = Number(process.env.MLLAB_BENCH_TREE_LIMIT_MS ?? 10 * 60_000);
/** an open slower than this is not repeated (its figure is then the repeats done) */
const SLOW_MS = Number(process.env.MLLAB_BENCH_TREE_SLOW_MS ?? 60_000);
const SETTLE_MS = Number(process.env.MLLAB_BENCH_SETTLE_MS ?? 5000);
/** an answer is the last one once the view asks nothing for this long */
const QUIET_MS = 1000;

/** One complete answer of the tree, in ms from the start. */
interface Answer {
  /** the root's rows answered (getChildren and each row's getTreeItem) */
  root: number;
  /** the first expanded group's rows answered */
  firstGroup: number;
  /** every expanded group's rows answered */
  rows: number;
  /** then a round trip to the workbench */
  delivered: number;
  topLevel: number;
  /** expanded groups, and the rows in them */
  groups: number;
  children: number;
}

/** What one show or refresh of the view took. */
interface Open extends Answer {
  /** the first root answer, whatever it held */
  firstAnswer: number;
  /** complete answers */
  answers: number;
  /** time inside the provider's getChildren and getTreeItem */
  provider: number;
  /** the extension host's longest stall */
  stall: number;
  /** times the window's backend connection was started again, and list loads, meanwhile */
  reconnects: number;
  loads: number;
  /** ms from the act to the event the time is counted from (the list reloaded), if any */
  before: number;
  /** the extension host's resident memory afterwards, MB */
  rss: number;
}

type Provider<T> = vscode.TreeDataProvider<T>;
type Methods<T> = { getChildren: Provider<T>['getChildren']; getTreeItem: Provider<T>['getTreeItem'] };

/**
 * Wraps `provider`'s getChildren and getTreeItem on the instance (the editor calls them through it)
 * and resolves with the last complete answer of `topLevel` root rows once `settled()` holds and the
 * view has asked nothing for QUIET_MS.
 */
function traceAnswers<T>(
  provider: Provider<T>,
  since: () => number,
  topLevel: number,
  settled: () => boolean,
): Promise<Omit<Open, 'stall' | 'reconnects' | 'loads' | 'before' | 'rss'>> {
  const own = provider as unknown as Methods<T>;
  const getChildren = own.getChildren.bind(provider);
  const getTreeItem = own.getTreeItem.bind(provider);
  let roots = new Set<T>();
  let current: Answer | undefined;
  let answeredGroups = 0;
  let pending = 0;
  let lastCall = performance.now();
  let inProvider = 0;
  let firstAnswer = NaN;
  const complete: Answer[] = [];
  const completed = (a: Answer) => {
    a.rows = since();
    a.firstGroup = Number.isNaN(a.firstGroup) ? a.rows : a.firstGroup;
    complete.push(a);
    current = undefined;
    // the editor sends its answer once the getTreeItem calls have returned: one round trip after it
    setTimeout(
      () =>
        void vscode.commands
          .executeCommand('setContext', 'mllabBench.probe', complete.length)
          .then(() => (a.delivered = since())),
      0,
    );
  };
  const rowAnswered = () => {
    if (--pending > 0 || !current) {
      return;
    }
    if (Number.isNaN(current.root)) {
      current.root = since();
      firstAnswer = Number.isNaN(firstAnswer) ? current.root : firstAnswer;
      if (current.groups === 0) {
        completed(current);
      }
    } else if (++answeredGroups === current.groups) {
      completed(current);
    } else if (answeredGroups === 1) {
      current.firstGroup = since();
    }
  };
  own.getChildren = (node?: T) => {
    const s = performance.now();
    const result = (getChildren(node) ?? []) as T[];
    lastCall = performance.now();
    inProvider += lastCall - s;
    if (!node) {
      roots = new Set(result);
      answeredGroups = 0;
      const nan = NaN;
      current = {
        root: nan,
        firstGroup: nan,
        rows: nan,
        delivered: nan,
        topLevel: result.length,
        groups: 0,
        children: 0,
      };
    } else if (current) {
      current.children += result.length;
    }
    pending += result.length;
    if (result.length === 0) {
      pending++;
      queueMicrotask(rowAnswered);
    }
    return result;
  };
  own.getTreeItem = (node: T) => {
    const s = performance.now();
    const item = getTreeItem(node) as vscode.TreeItem;
    lastCall = performance.now();
    inProvider += lastCall - s;
    if (current && roots.has(node) && item.collapsibleState === vscode.TreeItemCollapsibleState.Expanded) {
      current.groups++;
    }
    rowAnswered();
    return item;
  };
  const restore = () => {
    delete (own as Partial<Methods<T>>).getChildren;
    delete (own as Partial<Methods<T>>).getTreeItem;
  };
  return new Promise((resolve, reject) => {
    const deadline = performance.now() + LIMIT_MS;
    const poll = setInterval(() => {
      const last = complete.filter((a) => a.topLevel === topLevel).pop();
      const now = performance.now();
      if (last && !current && !Number.isNaN(last.delivered) && now - lastCall > QUIET_MS && settled()) {
        clearInterval(poll);
        restore();
        resolve({ ...last, firstAnswer, answers: complete.length, provider: inProvider });
      } else if (now > deadline) {
        clearInterval(poll);
        restore();
        reject(new Error(`no answer of ${topLevel} rows within ${LIMIT_MS} ms (${complete.length} answers)`));
      }
    }, 20);
  });
}

/** The window's backend connected and the list holding `runs` runs, then a second of quiet. */
async function quiet(lab: MlLab, runs: number): Promise<void> {
  await waitFor(
    `the list of ${runs} runs`,
    () => lab.backend.state.kind === 'connected' && lab.experiments.items.length === runs,
    LIMIT_MS,
  );
  await new Promise((r) => setTimeout(r, QUIET_MS));
}

/**
 * Times `act` until the view's last answer of `topLevel` rows is delivered (the list holds `runs`),
 * from `act` or, given `startOn`, from that event's first firing after it.
 */
async function measure<T>(
  lab: MlLab,
  provider: Provider<T>,
  topLevel: number,
  runs: number,
  act: () => unknown,
  startOn?: vscode.Event<unknown>,
): Promise<Open> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  let reconnects = 0;
  const states = lab.backend.onDidChangeState((s) => (reconnects += s.kind === 'starting' ? 1 : 0));
  const loads = lab.experiments.loads;
  let start = 0;
  const answered = traceAnswers(
    provider,
    () => performance.now() - start,
    topLevel,
    () => lab.backend.state.kind === 'connected' && lab.experiments.items.length === runs,
  );
  const stopProfile = profileNext ? await startProfile(profileNext) : undefined;
  profileNext = undefined;
  loop.enable();
  const t0 = performance.now();
  const started = startOn?.(() => {
    started?.dispose();
    start = performance.now();
  });
  start = started ? 0 : t0;
  await act();
  const open = await answered.finally(() => stopProfile?.());
  loop.disable();
  states.dispose();
  return {
    ...open,
    before: start - t0,
    stall: loop.max / 1e6,
    reconnects,
    loads: lab.experiments.loads - loads,
    rss: process.memoryUsage().rss / 1024 / 1024,
  };
}

/** Shows the hidden view after `change` (which changes its tree while it is hidden). */
async function showOnce<T>(
  lab: MlLab,
  view: vscode.TreeView<T>,
  provider: Provider<T>,
  topLevel: number,
  runs: number,
  change: () => unknown,
): Promise<Open> {
  await vscode.commands.executeCommand('workbench.view.explorer');
  await waitFor('the Experiments view to be hidden', () => !view.visible, LIMIT_MS);
  await change();
  await quiet(lab, runs);
  return measure(lab, provider, topLevel, runs, () => vscode.commands.executeCommand(`${VIEW}.focus`));
}

/** Changes the tree of the shown view with `change`; timed from `startOn` if given. */
async function refreshOnce<T>(
  lab: MlLab,
  view: vscode.TreeView<T>,
  provider: Provider<T>,
  topLevel: number,
  runs: number,
  change: () => unknown,
  startOn?: vscode.Event<unknown>,
): Promise<Open> {
  await vscode.commands.executeCommand(`${VIEW}.focus`);
  await waitFor('the Experiments view to show', () => view.visible, LIMIT_MS);
  await quiet(lab, runs);
  return measure(lab, provider, topLevel, runs, change, startOn);
}

interface BareNode {
  readonly label: string;
  /** a group's rows, undefined for a leaf (a "Show more" row) */
  readonly rows?: number;
  readonly expanded?: boolean;
}

/** How a top-level row of ML Lab's tree shows now: an expanded group's rows, a collapsed group, a leaf. */
type RowShape = number | 'collapsed' | 'leaf';

/** A tree of the same rows as ML Lab's (groups, expanded or not, with as many rows each), labels only. */
class BareTree implements vscode.TreeDataProvider<BareNode> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private groups: BareNode[] = [];

  show(shape: readonly RowShape[]): void {
    this.groups = shape.map((s, i) =>
      s === 'leaf'
        ? { label: `more ${i}` }
        : s === 'collapsed'
          ? { label: `group ${i}`, rows: 1, expanded: false }
          : { label: `group ${i}`, rows: s, expanded: true },
    );
    this.changed.fire();
  }

  getChildren(node?: BareNode): BareNode[] {
    if (!node) {
      return this.groups;
    }
    return Array.from({ length: node.rows ?? 0 }, (_, i) => ({ label: `row ${i}` }));
  }

  getTreeItem(node: BareNode): vscode.TreeItem {
    return new vscode.TreeItem(
      node.label,
      node.rows === undefined
        ? vscode.TreeItemCollapsibleState.None
        : node.expanded
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed,
    );
  }
}

/** How each top-level row of ML Lab's tree shows now (a group's page and its "more" row, if expanded). */
function rowsPerGroup(lab: MlLab): RowShape[] {
  const tree = lab.experimentsTree;
  return tree.getChildren().map((node) => {
    const item = tree.getTreeItem(node);
    return item.collapsibleState === vscode.TreeItemCollapsibleState.Expanded
      ? tree.getChildren(node).length
      : item.collapsibleState === vscode.TreeItemCollapsibleState.Collapsed
        ? 'collapsed'
        : 'leaf';
  });
}

/** Sets the tree's grouping; the tree changes (and forgets its groups) at least once. */
function setGrouping(lab: MlLab, want: Grouping): void {
  if (lab.experimentsTree.toggleGrouping() !== want) {
    lab.experimentsTree.toggleGrouping();
  }
}

/** Repeats `once` `times` times and prints the figure; stops early once one is slower than SLOW_MS. */
async function repeat(name: string, once: () => Promise<Open>, times = REPEATS): Promise<void> {
  const opens: Open[] = [];
  for (let i = 0; i < times; i++) {
    const o = await once();
    opens.push(o);
    const ms = (x: number) => x.toFixed(0);
    console.log(
      `MLLAB_BENCH_PHASES ${name} #${i + 1}: delivered ${ms(o.delivered)} ms (root ${ms(o.root)}, first group ` +
        `${ms(o.firstGroup)}, all rows ${ms(o.rows)}; first answer ${ms(o.firstAnswer)}, ${o.answers} answers); ` +
        `${o.topLevel} top-level rows, ${o.groups} expanded, ${o.children} rows in them; ` +
        `${ms(o.provider)} ms in the provider; longest stall of the extension host ${ms(o.stall)} ms; ` +
        `${o.reconnects} reconnects, ${o.loads} list loads${o.before ? ` (${ms(o.before)} ms before the list changed)` : ''}; ` +
        `extension host RSS ${ms(o.rss)} MB; load average ${os.loadavg()[0].toFixed(1)}`,
    );
    if (o.delivered > SLOW_MS) {
      break;
    }
  }
  const m = (f: (o: Open) => number) => median(opens.map(f)).toFixed(1);
  console.log(
    `MLLAB_BENCH tree_${name} ${m((o) => o.delivered)} ${opens.map((o) => o.delivered.toFixed(0)).join(',')} ` +
      `${m((o) => o.root)} ${m((o) => o.rows)} ${m((o) => o.provider)} ${m((o) => o.firstAnswer)} ${opens[0].topLevel}`,
  );
}

/** Where measure() writes a CPU profile of the extension host for the next timed act (then cleared). */
let profileNext: string | undefined;

/** Starts the CPU profiler of this extension host; the returned function stops it and writes `file`. */
async function startProfile(file: string): Promise<() => Promise<void>> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, params ?? {}, (e, r) => (e ? reject(e) : resolve(r))),
    );
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: CpuProfile };
    session.disconnect();
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(profile));
    printTopSelf(path.basename(file), profile);
  };
}

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

function printTopSelf(name: string, profile: CpuProfile): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${path.basename(f.url)}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  const idle = self.get('(idle) :0:0') ?? 0;
  console.log(`MLLAB_BENCH_PROFILE ${name}: ${total.toFixed(0)} ms sampled, ${(total - idle).toFixed(0)} ms busy`);
  for (const [key, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`MLLAB_BENCH_PROFILE ${name}   ${ms.toFixed(1)} ms self  ${key}`);
  }
}

/**
 * Writes the lab as bench/scale.ts does, in a child process that keeps the backend's and the
 * generator's code out of this extension host: a backend makes a project active and stops, then the
 * runs are copied in (the compiled bench modules are loaded from the folder above this one).
 */
const GENERATOR = `
const [bench, home, n] = process.argv.slice(1);
const path = require('path');
const { startBackend } = require(path.join(bench, 'http-bench.js'));
const { generateRuns } = require(path.join(bench, 'scale.js'));
const { ApiClient } = require(path.join(bench, '..', 'src', 'client', 'api-client.js'));
(async () => {
  const t0 = performance.now();
  const setup = await startBackend(home);
  const client = new ApiClient(setup.port, setup.token);
  const project = await client.createProject('Bench experiments view');
  await client.setActiveProject(project.id);
  client.dispose();
  await setup.stop();
  generateRuns(path.join(home, 'runs'), Number(n));
  process.send({ projectId: project.id, ms: performance.now() - t0 }, () => process.exit(0));
})().catch((e) => process.send({ error: String(e.stack || e) }, () => process.exit(1)));
`;

function generateLab(home: string, n: number): Promise<{ projectId: string; ms: number }> {
  const child = spawn(process.execPath, ['-e', GENERATOR, path.resolve(__dirname, '..'), home, String(n)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.once('message', (m: { projectId?: string; ms: number; error?: string }) =>
      m.error ? reject(new Error(m.error)) : resolve({ projectId: m.projectId!, ms: m.ms }),
    );
    child.once('exit', (code) => reject(new Error(`the lab generator exited with ${code}: ${stderr}`)));
  });
}

export async function run(): Promise<void> {
  const n = Number(process.env.MLLAB_BENCH_TREE_N ?? 1000);
  const extension = vscode.extensions.getExtension<MlLabApi>('mllab.mllab')!;
  const lab = (await extension.activate()).lab;
  const home = lab.backend.home!;
  if (lab.backend.state.kind !== 'starting' || fs.existsSync(home)) {
    throw new Error(`expected a folder without a lab home and no backend yet: ${JSON.stringify(lab.backend.state)}`);
  }
  const generated = await generateLab(home, n);
  console.log(`MLLAB_BENCH_PHASES lab of ${n} runs written in ${(generated.ms / 1000).toFixed(1)} s`);

  // the window's backend ingests the runs (as when a window opens on an existing lab home); the view
  // is timed once the list holds them all
  const i0 = performance.now();
  await lab.backend.start();
  await waitFor('the project', () => lab.projects.activeProject?.id === generated.projectId, 120_000);
  await quiet(lab, n);
  const listed = await lab.backend.client.listExperiments(generated.projectId);
  if (listed.length !== n) {
    throw new Error(`GET /api/experiments lists ${listed.length} runs, expected ${n}`);
  }
  console.log(`MLLAB_BENCH_PHASES ingested and listed in ${((performance.now() - i0) / 1000).toFixed(1)} s`);
  await new Promise((r) => setTimeout(r, SETTLE_MS));

  const tree = lab.experimentsTree;
  const view = lab.experimentsView;
  // grouped by name a run of its own name is a group of its own: the top level shows a page of them
  const groupsOf = { status: 1, name: n > PAGE_SIZE ? PAGE_SIZE + 1 : n };
  const profileDir = process.env.MLLAB_BENCH_TREE_PROFILE;
  const maybeProfiled = async (name: string, once: () => Promise<Open>) => {
    if (profileDir) {
      profileNext = path.join(profileDir, `experiments-view-${n}-${name}.cpuprofile`);
      await once();
    }
  };
  // ML Lab's view, grouped by status first: grouped by name a lab of N runs of N names has N groups,
  // the heaviest case, measured last
  const shows: Record<Grouping, () => Promise<Open>> = {
    status: () => showOnce(lab, view, tree, groupsOf.status, n, () => setGrouping(lab, 'status')),
    name: () => showOnce(lab, view, tree, groupsOf.name, n, () => setGrouping(lab, 'name')),
  };
  // the list reloaded (as after any run's change, or the view's Refresh), timed from the list's change
  const refreshes: Record<Grouping, () => Promise<Open>> = {
    status: () =>
      refreshOnce(lab, view, tree, groupsOf.status, n, () => lab.experiments.refresh(), lab.experiments.onDidChange),
    name: () =>
      refreshOnce(lab, view, tree, groupsOf.name, n, () => lab.experiments.refresh(), lab.experiments.onDidChange),
  };
  // the first time the view shows in this window
  await repeat('first_show_status', shows.status, 1);
  await repeat('show_status', shows.status);
  await maybeProfiled('show-status', shows.status);
  await repeat('refresh_status', refreshes.status);
  await maybeProfiled('refresh-status', refreshes.status);
  const shapes = { status: rowsPerGroup(lab), name: [] as RowShape[] };

  // reference 1: the same view shown with an empty project (its welcome text)
  const client = lab.backend.client;
  const empty = await client.createProject('Bench experiments view empty');
  const activate = async (projectId: string, runs: number) => {
    await (await lab.backend.ready()).setActiveProject(projectId);
    await waitFor('the project', () => lab.projects.activeProject?.id === projectId, LIMIT_MS);
    await quiet(lab, runs);
  };
  await repeat('show_empty', async () => {
    const open = await showOnce(lab, view, tree, 0, 0, () => activate(empty.id, 0));
    await vscode.commands.executeCommand('workbench.view.explorer');
    await activate(generated.projectId, n);
    return open;
  });

  // grouped by name
  await repeat('show_name', shows.name);
  await maybeProfiled('show-name', shows.name);
  await repeat('refresh_name', refreshes.name);
  await maybeProfiled('refresh-name', refreshes.name);
  shapes.name = rowsPerGroup(lab);

  // reference 2: a bare provider of the same rows in the same view (ML Lab's provider is let go)
  await vscode.commands.executeCommand('workbench.view.explorer');
  await waitFor('the Experiments view to be hidden', () => !view.visible, LIMIT_MS);
  view.dispose();
  await new Promise((r) => setTimeout(r, 1000));
  const bare = new BareTree();
  const bareView = vscode.window.createTreeView(VIEW, { treeDataProvider: bare });
  for (const grouping of ['status', 'name'] as const) {
    const rows = shapes[grouping];
    await repeat(`bare_show_${grouping}`, () => showOnce(lab, bareView, bare, rows.length, n, () => bare.show(rows)));
    await repeat(`bare_refresh_${grouping}`, () =>
      refreshOnce(lab, bareView, bare, rows.length, n, () => bare.show(rows)),
    );
  }
  bareView.dispose();

  // the backend of this window, and the lab, go
  const state = lab.backend.state as BackendState; // (narrowed to "starting" above)
  lab.backend.dispose();
  if (state.kind === 'connected') {
    process.kill(state.pid, 'SIGTERM');
    await waitFor('the backend to exit', () => !alive(state.pid), 60_000);
  }
  fs.rmSync(home, { recursive: true, force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Scale: a lab home with N run directories (copies of one small finished run, 100 points each),
// the backend started as a user would after copying them in. Side by side with a bare Node loop
// reading the same files (the reference). N = 1,000, 10,000 and 100,000 (MLLAB_BENCH_SCALE_RUNS
// takes a comma-separated list). Generated data stays in the temp folder and is removed.
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ApiClient } from '../src/client/api-client';
import { homePaths, readRegistration } from '../src/common/home';
import type { RunManifest } from '../src/protocol/experiments';
import { get, startBackend, startReference, type Target } from './http-bench';
import { median, percentile, report } from './stats';
import { manifest as ingestManifest } from './ingest';

const REPO = path.resolve(__dirname, '..', '..');
const POINTS = 100;
/** requests per second of each probe (status, projects) while the backlog is ingested */
const PROBE_RPS = 100;
/** no phase waits longer than this */
const PHASE_LIMIT_MS = Number(process.env.MLLAB_BENCH_SCALE_LIMIT_MS ?? 20 * 60_000);

/** The finished run every copy holds (the ingest bench's run.json with a scale-bench name and host). */
function manifest(id: string, startedAt: string): RunManifest {
  return ingestManifest(id, startedAt, {
    name: `run ${id}`,
    command: ['python', 'train.py', '--epochs', '100'],
    cwd: '/home/user/project',
    host: { hostname: 'bench-host', os: 'linux', cpus: 8, memoryBytes: 34359738368, gpus: [] },
  });
}

/** The events of the small finished run every copy holds. */
function events(): string {
  let text = `${JSON.stringify({ k: 'param', key: 'epochs', v: 100, t: 1767225600000 })}\n`;
  for (let s = 0; s < POINTS; s++) {
    text += `${JSON.stringify({ k: 'm', key: 'loss', v: 1 / (1 + s), s, t: 1767225600000 + s * 1000 })}\n`;
  }
  return `${text}${JSON.stringify({ k: 'status', status: 'completed', exitCode: 0, t: 1767225700000 })}\n`;
}

/** Writes `n` run directories as a copy would; ids are unique and sort by start time. */
export function generateRuns(runsDir: string, n: number, text = events()): void {
  fs.mkdirSync(runsDir, { recursive: true });
  const base = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i++) {
    const t = new Date(base + i * 1000);
    const stamp = t.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const id = `${stamp}-${i.toString(16).padStart(6, '0')}`;
    const dir = path.join(runsDir, id);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(manifest(id, t.toISOString())));
    fs.writeFileSync(path.join(dir, 'events.jsonl'), text);
  }
}

const fdsOf = (pid: number) => {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
};
const rssOf = (pid: number) => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
};

/** Samples a process's descriptors and RSS every 50 ms until stopped. */
function sampler(pid: number): { stop(): { fds: number; rss: number } } {
  let fds = 0;
  let rss = 0;
  const take = () => {
    fds = Math.max(fds, fdsOf(pid));
    rss = Math.max(rss, rssOf(pid));
  };
  take();
  const timer = setInterval(take, 50);
  return {
    stop: () => {
      clearInterval(timer);
      take();
      return { fds, rss };
    },
  };
}

/** Open-loop probe of `urlPath` at `rate` req/s until `until` resolves; latency from the scheduled send. */
async function probe(target: Pick<Target, 'port' | 'token'>, urlPath: string, until: Promise<unknown>) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const latencies: number[] = [];
  let done = false;
  void until.finally(() => (done = true));
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; !done && performance.now() - start < PHASE_LIMIT_MS; i++) {
    const due = start + (i * 1000) / PROBE_RPS;
    const wait = due - performance.now();
    if (wait > 1) {
      await new Promise((r) => setTimeout(r, wait));
    }
    const t0 = Math.min(due, performance.now());
    pending.push(
      get(agent, target, urlPath).then(
        () => void latencies.push(performance.now() - t0),
        () => void latencies.push(Infinity),
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { p99: percentile(latencies, 99), count: latencies.length };
}

function waitFor(what: string, test: () => boolean, ms = PHASE_LIMIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (test()) {
        resolve();
      } else if (Date.now() > deadline) {
        reject(new Error(`scale bench: timed out waiting for ${what}`));
      } else {
        setTimeout(poll, 20);
      }
    };
    poll();
  });
}

interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  readonly token: string;
  readonly listeningMs: number;
}

async function startOurs(home: string): Promise<Started> {
  const t0 = performance.now();
  const child = fork(path.join(REPO, 'dist', 'backend.js'), ['--home', home], { stdio: 'ignore' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { type: string; port?: number; message?: string }) =>
      m.type === 'ready' ? resolve(m.port!) : reject(new Error(m.message)),
    );
    child.once('exit', (code) => reject(new Error(`the backend exited with ${code}`)));
  });
  return { child, port, token: readRegistration(home)!.token, listeningMs: performance.now() - t0 };
}

/** SIGTERM, and the time until the process is gone. */
async function stopTimed(child: ChildProcess): Promise<number> {
  const t0 = performance.now();
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await gone;
  clearTimeout(killer);
  return performance.now() - t0;
}

/** Lines of the backend log that say a backlog was ingested. */
function ingestedLines(home: string): number {
  try {
    return fs.readFileSync(homePaths(home).log, 'utf8').split('run directories checked and ingested').length - 1;
  } catch {
    return 0;
  }
}

/** The reference, in a process of its own: read every run.json and events.jsonl, parse every line. */
function referenceMain(runsDir: string): void {
  const t0 = performance.now();
  let runs = 0;
  let points = 0;
  for (const name of fs.readdirSync(runsDir)) {
    const dir = path.join(runsDir, name);
    JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'));
    const text = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8');
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if ((JSON.parse(text.slice(start, nl)) as { k: string }).k === 'm') {
        points++;
      }
      start = nl + 1;
    }
    runs++;
  }
  const ms = performance.now() - t0;
  process.send!({ runs, points, ms, fds: fdsOf(process.pid), rss: rssOf(process.pid) }, () => process.exit(0));
}

async function runReference(runsDir: string) {
  const child = fork(__filename, ['--reference', runsDir], { stdio: 'inherit' });
  const sample = sampler(child.pid!);
  const result = await new Promise<{ runs: number; points: number; ms: number; fds: number; rss: number }>(
    (resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`the reference exited with ${code}`)));
    },
  );
  const sampled = sample.stop();
  await new Promise((r) => child.once('exit', r));
  return { ...result, fds: Math.max(result.fds, sampled.fds), rss: Math.max(result.rss, sampled.rss) };
}

const mb = (bytes: number) => bytes / 1024 / 1024;

async function scaleOnce(n: number): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-bench-scale-'));
  const home = path.join(root, '.mllab');
  const label = `${n.toLocaleString('en-US')} runs`;
  try {
    // a lab with an active project, stopped; then the runs are copied in
    const setup = await startBackend(home);
    const setupClient = new ApiClient(setup.port, setup.token!);
    await setupClient.setActiveProject((await setupClient.createProject('scale')).id);
    setupClient.dispose();
    const emptyRss = rssOf(setup.child.pid!);
    await setup.stop();
    const g0 = performance.now();
    generateRuns(path.join(home, 'runs'), n);
    process.stdout.write(`[${label}] generated in ${((performance.now() - g0) / 1000).toFixed(1)} s\n`);

    const reference = await runReference(path.join(home, 'runs'));
    if (reference.runs !== n || reference.points !== n * POINTS) {
      throw new Error(`the reference read ${reference.runs} runs and ${reference.points} points`);
    }

    // start, ingest with probes of the API
    const ours = await startOurs(home);
    const sample = sampler(ours.child.pid!);
    const t0 = performance.now();
    const ingested = waitFor('the ingest', () => ingestedLines(home) >= 1);
    const [status, projects] = await Promise.all([
      probe(ours, '/api/status', ingested),
      probe(ours, '/api/projects', ingested),
      ingested,
    ]);
    const ingestMs = performance.now() - t0;
    const during = sample.stop();
    await new Promise((r) => setTimeout(r, 1000));
    const afterRss = rssOf(ours.child.pid!);
    const client = new ApiClient(ours.port, ours.token);
    const listed = await client.listExperiments();
    client.dispose();
    const complete = listed.filter((e) => e.metrics.length === 1 && e.metrics[0].count === POINTS).length;
    if (listed.length !== n || complete !== n) {
      throw new Error(`listed ${listed.length} runs, ${complete} with all ${POINTS} points; expected ${n}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    const listedRss = rssOf(ours.child.pid!);
    const afterFds = fdsOf(ours.child.pid!);
    const agent = new http.Agent({ keepAlive: true });
    const listingTimes: number[] = [];
    let body = '';
    for (let i = 0; i < 7; i++) {
      const l0 = performance.now();
      body = await get(agent, ours, '/api/experiments');
      listingTimes.push(performance.now() - l0);
    }
    agent.destroy();
    const stopMs = await stopTimed(ours.child);

    // the references of the HTTP figures: a bare server with the same body, and with a tiny one
    const bodyFile = path.join(root, 'listing.json');
    fs.writeFileSync(bodyFile, body);
    body = '';
    const bare = await startReference('{}');
    const bareProbe = await probe(bare, '/', new Promise((r) => setTimeout(r, 5000)));
    await bare.stop();
    const bareListing = fork(__filename, ['--serve', bodyFile], { stdio: 'ignore' });
    const barePort = await new Promise<number>((resolve) =>
      bareListing.once('message', (m: { port: number }) => resolve(m.port)),
    );
    const bareAgent = new http.Agent({ keepAlive: true });
    const bareTimes: number[] = [];
    for (let i = 0; i < 7; i++) {
      const l0 = performance.now();
      await get(bareAgent, { port: barePort }, '/');
      bareTimes.push(performance.now() - l0);
    }
    bareAgent.destroy();
    await stopTimed(bareListing);

    // a restart: listening, the re-check of every run, and a stop in the middle of it
    const again = await startOurs(home);
    const r0 = performance.now();
    await waitFor('the re-check', () => ingestedLines(home) >= 2);
    const recheckMs = performance.now() - r0;
    await stopTimed(again.child);
    const third = await startOurs(home);
    await new Promise((r) => setTimeout(r, Math.min(recheckMs / 2, 1000)));
    const busyStopMs = await stopTimed(third.child);
    const killed = await startOurs(home);
    killed.child.kill('SIGKILL');
    await new Promise((r) => killed.child.once('exit', r));
    const afterKill = await startOurs(home);
    await stopTimed(afterKill.child);

    const bareStart = median(await Promise.all([0].map(() => timeBareStart())));
    report(
      `[${label}] start to listening (store and runs on disk)`,
      ours.listeningMs,
      bareStart,
      'ms',
      'bare node http server',
    );
    report(
      `[${label}] restart to listening after a clean stop`,
      again.listeningMs,
      bareStart,
      'ms',
      'bare node http server',
    );
    report(
      `[${label}] restart to listening after kill -9`,
      afterKill.listeningMs,
      bareStart,
      'ms',
      'bare node http server',
    );
    report(
      `[${label}] ingest, from listening to every run queryable`,
      ingestMs,
      reference.ms,
      'ms',
      'bare loop reading and parsing the same files',
    );
    report(
      `[${label}] re-check after a restart (nothing new)`,
      recheckMs,
      reference.ms,
      'ms',
      'bare loop reading and parsing the same files',
    );
    report(
      `[${label}] GET /api/status p99 during the ingest (${status.count} requests)`,
      status.p99,
      bareProbe.p99,
      'ms',
      'bare node http server, idle',
    );
    report(
      `[${label}] GET /api/projects p99 during the ingest (${projects.count} requests)`,
      projects.p99,
      bareProbe.p99,
      'ms',
      'bare node http server, idle',
    );
    report(`[${label}] descriptors, most at any time during the ingest`, during.fds, reference.fds, 'fds', 'bare loop');
    report(`[${label}] descriptors after the ingest`, afterFds, reference.fds, 'fds', 'bare loop');
    report(`[${label}] RSS, most during the ingest`, mb(during.rss), mb(reference.rss), 'MB', 'bare loop');
    report(`[${label}] RSS after the ingest`, mb(afterRss), mb(emptyRss), 'MB', 'the same backend with no runs');
    report(
      `[${label}] RSS after listing every run (the listing is cached)`,
      mb(listedRss),
      mb(emptyRss),
      'MB',
      'the same backend with no runs',
    );
    process.stdout.write(
      `[${label}] RSS growth per run: ${((afterRss - emptyRss) / n).toFixed(0)} bytes (target < 1024)\n`,
    );
    report(
      `[${label}] GET /api/experiments, all runs (${mb(fs.statSync(bodyFile).size).toFixed(1)} MB, median of 7)`,
      median(listingTimes),
      median(bareTimes),
      'ms',
      'bare node http server, same body',
    );
    process.stdout.write(
      `[${label}] SIGTERM to exit: ${stopMs.toFixed(0)} ms after the ingest, ${busyStopMs.toFixed(0)} ms in the middle of the re-check\n`,
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** A bare Node http server: fork to listening. */
async function timeBareStart(): Promise<number> {
  const t0 = performance.now();
  const target = await startReference('{}');
  const ms = performance.now() - t0;
  await target.stop();
  return ms;
}

function serveMain(bodyFile: string): void {
  const body = fs.readFileSync(bodyFile);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
  process.on('SIGTERM', () => process.exit(0));
}

export async function scaleBench(): Promise<void> {
  const sizes = (process.env.MLLAB_BENCH_SCALE_RUNS ?? '1000,10000,100000')
    .split(',')
    .map(Number)
    .filter((x) => x > 0);
  for (const n of sizes) {
    await scaleOnce(n);
  }
}

if (require.main === module) {
  if (process.argv[2] === '--reference') {
    referenceMain(process.argv[3]);
  } else if (process.argv[2] === '--serve') {
    serveMain(process.argv[3]);
  }
}

// A lab over the network (issue 13), side by side with the same work on a local lab: one lab served
// over TLS on 127.0.0.1 (`mllab serve --listen`, a certificate made here with openssl), reached by its
// URL and a member's token, against the same lab's home used locally.
//
// 1. Metric logging end to end: a Python script logs POINTS points (10 keys) and ends; timed from its
//    start to the lab listing the run ended with every point. Remote: MLLAB_URL/MLLAB_TOKEN (the run is
//    journaled locally and shipped); local: MLLAB_HOME (the lab ingests the run directory).
// 2. Live events: a point logged every 20 ms reaches a window's event stream (p95), the stream over
//    TLS and the run shipped, against the local run directory and the local stream.
//    With MLLAB_BENCH_REMOTE_BEFORE=<folder> (a checkout of an earlier commit with its dist/ built), the
//    same is measured against a second lab served by that folder's CLI and logged by its Python client:
//    before and after side by side in one run (logging and users parts).
// 3. USERS users each logging a run at once (10 metrics a step, 20 steps a second, as a training loop
//    logs): GET /api/projects p99 over TLS at 100 req/s from 4 s after they start (once going), against
//    the same runs logged on the lab's home, the same processes logging into nothing, and the idle lab.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ApiClient } from '../src/client/api-client';
import { downloadVersion, hashFile, sendFile } from '../src/client/datasets';
import { HashCache } from '../src/client/hash-cache';
import { EventStream } from '../src/client/event-stream';
import { makeCertificate } from '../test/unit/certificate';
import { percentile, report } from './stats';

const REPO = path.resolve(__dirname, '..', '..');
const POINTS = Number(process.env.MLLAB_BENCH_REMOTE_POINTS ?? 1_000_000);
const USERS = Number(process.env.MLLAB_BENCH_REMOTE_USERS ?? 20);
const EVENT_POINTS = Number(process.env.MLLAB_BENCH_EVENT_POINTS ?? 200);
const LOAD_SECONDS = Number(process.env.MLLAB_BENCH_REMOTE_SECONDS ?? 10);
const DATASET_BYTES = Number(process.env.MLLAB_BENCH_REMOTE_DATASET_BYTES ?? 1024 ** 3);

interface Lab {
  /** the tree its CLI and Python client come from (this repository, or MLLAB_BENCH_REMOTE_BEFORE) */
  readonly tree: string;
  readonly dir: string;
  readonly home: string;
  readonly url: string;
  readonly ca: string;
  readonly owner: ApiClient;
  /** a member's token, editor of the project */
  readonly token: string;
  readonly process: ChildProcess;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function serveLab(tree = REPO): Promise<Lab> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-bench-remote-'));
  const home = path.join(dir, 'home');
  const { cert, key } = makeCertificate(dir);
  // MLLAB_BENCH_REMOTE_PROFILE=<folder>: a CPU profile of the lab process
  const profile = process.env.MLLAB_BENCH_REMOTE_PROFILE;
  const child = spawn(
    process.execPath,
    [
      ...(profile ? ['--cpu-prof', '--cpu-prof-dir', profile] : []),
      path.join(tree, 'dist', 'cli.js'),
      'serve',
      '--home',
      home,
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--tls-cert',
      cert,
      '--tls-key',
      key,
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const served = await new Promise<{ teamUrl: string }>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const end = out.indexOf('\n}');
      if (end >= 0) {
        resolve(JSON.parse(out.slice(0, end + 2)) as { teamUrl: string });
      }
    });
    child.once('exit', (code) => reject(new Error(`the lab exited with ${code}: ${out}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  const registration = JSON.parse(fs.readFileSync(path.join(home, 'run', 'backend.json'), 'utf8')) as {
    port: number;
    token: string;
  };
  const owner = new ApiClient(registration.port, registration.token);
  await owner.addUser('bench', 'member');
  const { token } = await owner.createToken({ user: 'bench' });
  const project = await owner.createProject('Bench remote');
  await owner.setActiveProject(project.id);
  await owner.setMember(project.id, 'bench', 'editor');
  return { tree, dir, home, url: served.teamUrl, ca: fs.readFileSync(cert, 'utf8'), owner, token, process: child };
}

async function stopLab(lab: Lab): Promise<void> {
  lab.owner.dispose();
  lab.process.kill('SIGTERM');
  await new Promise((r) => lab.process.once('exit', r));
  fs.rmSync(lab.dir, { recursive: true, force: true });
}

/** The environment of a Python script logging to `lab`, remotely (by URL) or locally (its home). */
function pythonEnv(lab: Lab, remote: boolean, journal: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: path.join(lab.tree, 'python') };
  delete env.MLLAB_URL;
  delete env.MLLAB_TOKEN;
  if (remote) {
    const caFile = path.join(lab.dir, 'lab.crt');
    return { ...env, MLLAB_URL: lab.url, MLLAB_TOKEN: lab.token, MLLAB_CA_FILE: caFile, MLLAB_LOCAL_RUNS: journal };
  }
  return { ...env, MLLAB_HOME: lab.home };
}

function runPython(script: string, env: NodeJS.ProcessEnv): { child: ChildProcess; id: Promise<string> } {
  const child = spawn('python3', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const id = new Promise<string>((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`python exited ${code}: ${err}`)),
    ),
  );
  return { child, id };
}

const LOG_SCRIPT = (points: number) => `
import mllab
exp = mllab.start_experiment("bench-remote")
log = exp.log_metric
for s in range(${Math.ceil(points / 10)}):
    for k in range(10):
        log("metric_%d" % k, s / (k + 1), step=s)
exp.end()
print(exp.id)
`;

/** The same loop written with the Node client (`require('mllab')`, dist/client.js of `tree`). */
const NODE_LOG_SCRIPT = (tree: string, points: number) => `
const mllab = require(${JSON.stringify(path.join(tree, 'dist', 'client.js'))});
const exp = mllab.startExperiment('bench-remote');
const keys = Array.from({ length: 10 }, (_, k) => 'metric_' + k);
for (let s = 0; s < ${Math.ceil(points / 10)}; s++) {
  for (let k = 0; k < 10; k++) {
    exp.logMetric(keys[k], s / (k + 1), s);
  }
}
exp.end('completed', 0);
exp.sent().then(() => console.log(exp.id));
`;

/** A Node script with the environment of a Python one (the clients read the same variables). */
function runNode(script: string, env: NodeJS.ProcessEnv): { id: Promise<string> } {
  const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  return {
    id: new Promise<string>((resolve, reject) =>
      child.once('exit', (code) =>
        code === 0 ? resolve(out.trim()) : reject(new Error(`node exited ${code}: ${err}`)),
      ),
    ),
  };
}

/** Waits until the lab lists run `id` ended with `points` points in all. */
async function untilListed(client: ApiClient, id: string, points: number): Promise<void> {
  for (;;) {
    const e = await client.getExperiment(id).catch(() => undefined);
    if (e && e.status !== 'running' && e.metrics.reduce((n, m) => n + m.count, 0) >= points) {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Times (ms from the script's start) of the script's exit and of the lab listing all its points. */
interface LoggingTimes {
  readonly exited: number;
  readonly listed: number;
}

async function logging(lab: Lab, remote: boolean, client: 'python' | 'node' = 'python'): Promise<LoggingTimes> {
  const journal = fs.mkdtempSync(path.join(lab.dir, 'journal-'));
  const env = pythonEnv(lab, remote, journal);
  const t0 = performance.now();
  const { id } =
    client === 'node' ? runNode(NODE_LOG_SCRIPT(lab.tree, POINTS), env) : runPython(LOG_SCRIPT(POINTS), env);
  const runId = await id;
  const exited = performance.now() - t0;
  await untilListed(lab.owner, runId, POINTS);
  return { exited, listed: performance.now() - t0 };
}

const EVENT_SCRIPT = `
import time, mllab
exp = mllab.start_experiment("event-latency")
for i in range(${EVENT_POINTS}):
    exp.log_metric("wall", time.time() * 1000)
    time.sleep(0.02)
exp.end()
print(exp.id)
`;

/** Latencies (ms) from log_metric to the point's arrival on a stream of `client`. */
async function eventLatencies(lab: Lab, client: ApiClient, remote: boolean): Promise<number[]> {
  const latencies: number[] = [];
  const stream = new EventStream(
    client,
    (event) => {
      if (event.type === 'metricPoints' && event.key === 'wall') {
        const now = Date.now();
        for (const v of event.values) {
          latencies.push(now - Number(v));
        }
      }
    },
    () => undefined,
  );
  try {
    await new Promise((r) => setTimeout(r, 500)); // the stream is open
    const journal = fs.mkdtempSync(path.join(lab.dir, 'journal-'));
    const { id } = runPython(EVENT_SCRIPT, pythonEnv(lab, remote, journal));
    await untilListed(lab.owner, await id, EVENT_POINTS);
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    stream.dispose();
  }
  return latencies.sort((a, b) => a - b);
}

/** GET /api/projects over TLS at `rate` req/s for `seconds` s: p99 (ms), from the scheduled start. */
async function tlsLoad(lab: Lab, rate: number, seconds: number): Promise<{ p50: number; p99: number }> {
  const target = new URL(lab.url);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: lab.ca });
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < rate * seconds; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) {
      await new Promise((r) => setTimeout(r, wait));
    }
    const t0 = Math.min(due, performance.now());
    pending.push(
      new Promise<void>((resolve, reject) => {
        const req = https.get(
          {
            agent,
            host: target.hostname,
            port: target.port,
            path: `${target.pathname.replace(/\/$/, '')}/api/projects`,
            headers: { authorization: `Bearer ${lab.token}` },
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              latencies.push(performance.now() - t0);
              resolve();
            });
          },
        );
        req.on('error', reject);
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export async function remoteBench(): Promise<void> {
  const lab = await serveLab();
  const only = process.env.MLLAB_BENCH_REMOTE_ONLY; // logging | node-logging | events | users | datasets
  const beforeTree = process.env.MLLAB_BENCH_REMOTE_BEFORE;
  const before =
    beforeTree && (!only || only === 'logging' || only === 'users') ? await serveLab(beforeTree) : undefined;
  try {
    if (!only || only === 'logging') {
      await loggingFigures(lab, before);
    }
    if (!only || only === 'logging' || only === 'node-logging') {
      await nodeLoggingFigures(lab);
    }
    if (!only || only === 'events') {
      await eventFigures(lab);
    }
    if (!only || only === 'users') {
      await userFigures(lab, before);
    }
    if (!only || only === 'datasets') {
      await datasetFigures(lab);
    }
  } finally {
    await stopLab(lab);
    if (before) {
      await stopLab(before);
    }
  }
}

/**
 * 1. logging end to end, alternately remote and local (the first of each as a warm-up); with a lab
 * `before`, its remote and local runs alternate with these, so that a change of the machine's load
 * falls on both alike
 */
async function loggingFigures(lab: Lab, before?: Lab): Promise<void> {
  const labs = before ? [lab, before] : [lab];
  const remote: number[][] = labs.map(() => []);
  const local: number[][] = labs.map(() => []);
  // the script's exit (its end waits for the shipper) against the lab listing every point
  const phases: string[][] = labs.map(() => []);
  for (let i = 0; i < 3; i++) {
    for (const [n, target] of labs.entries()) {
      const r = await logging(target, true);
      const l = await logging(target, false);
      remote[n].push(r.listed);
      local[n].push(l.listed);
      phases[n].push(
        `remote ${r.exited.toFixed(0)}/${r.listed.toFixed(0)}, local ${l.exited.toFixed(0)}/${l.listed.toFixed(0)}`,
      );
    }
  }
  const best = (xs: number[]) => Math.min(...xs.slice(1));
  const rate = (ms: number) => POINTS / (ms / 1000);
  for (const n of labs.keys()) {
    const label = n === 0 ? '' : 'before: ';
    report(
      `${label}${POINTS.toLocaleString('en-US')} points logged by a Python script until the lab lists them all, over TLS (best of 2 after a warm-up; runs ${remote[n].map((x) => x.toFixed(0)).join(', ')} ms)`,
      best(remote[n]),
      best(local[n]),
      'ms',
      `the same script on the lab's home, ingested locally; runs ${local[n].map((x) => x.toFixed(0)).join(', ')} ms`,
    );
    process.stdout.write(
      `  ${label}end-to-end rate: remote ${(rate(best(remote[n])) / 1e6).toFixed(2)} M points/s, local ${(rate(best(local[n])) / 1e6).toFixed(2)} M points/s (remote/local ${(rate(best(remote[n])) / rate(best(local[n]))).toFixed(2)})\n` +
        `  ${label}script exited / all listed (ms): ${phases[n].join('; ')}\n`,
    );
  }
}

/**
 * 1b. the same logging with the Node client (its loop costs less than Python's, so more of the time is
 * the shipping and the lab's ingest), remote and local alternating, the first of each a warm-up
 */
async function nodeLoggingFigures(lab: Lab): Promise<void> {
  const remote: LoggingTimes[] = [];
  const local: LoggingTimes[] = [];
  for (let i = 0; i < 3; i++) {
    remote.push(await logging(lab, true, 'node'));
    local.push(await logging(lab, false, 'node'));
  }
  const best = (xs: LoggingTimes[]) => Math.min(...xs.slice(1).map((x) => x.listed));
  const rate = (ms: number) => POINTS / (ms / 1000);
  const runs = (xs: LoggingTimes[]) => xs.map((x) => `${x.exited.toFixed(0)}/${x.listed.toFixed(0)}`).join(', ');
  report(
    `${POINTS.toLocaleString('en-US')} points logged by a Node script (the Node client) until the lab lists them all, over TLS (best of 2 after a warm-up; exited/listed ms: ${runs(remote)})`,
    best(remote),
    best(local),
    'ms',
    `the same script on the lab's home, ingested locally; ${runs(local)}`,
  );
  process.stdout.write(
    `  end-to-end rate with the Node client: remote ${(rate(best(remote)) / 1e6).toFixed(2)} M points/s, local ${(rate(best(local)) / 1e6).toFixed(2)} M points/s (remote/local ${(rate(best(remote)) / rate(best(local))).toFixed(2)})\n`,
  );
}

/** 2. live events: remote window (stream over TLS, run shipped) vs local */
async function eventFigures(lab: Lab): Promise<void> {
  {
    const remoteClient = new ApiClient({ url: lab.url, token: lab.token, ca: lab.ca });
    const r = await eventLatencies(lab, remoteClient, true);
    remoteClient.dispose();
    const l = await eventLatencies(lab, lab.owner, false);
    report(
      `a point logged every 20 ms reaches a remote window's event stream, p95 (${r.length} points; p50 ${percentile(r, 50).toFixed(0)} ms, max ${r[r.length - 1]?.toFixed(0)} ms)`,
      percentile(r, 95),
      percentile(l, 95),
      'ms',
      `local run directory and local stream, p95 (${l.length} points; p50 ${percentile(l, 50).toFixed(0)} ms)`,
    );
  }
}

/**
 * USERS Python processes each logging a run as a training loop does: remotely, on the lab's home, or
 * (`none`) into a stand-in that keeps nothing, the same processes without ML Lab.
 */
function users(lab: Lab, where: 'remote' | 'local' | 'none'): Promise<string>[] {
  return Array.from({ length: USERS }, () => {
    const journal = fs.mkdtempSync(path.join(lab.dir, 'journal-'));
    const start =
      where === 'none'
        ? 'class Exp:\n    id = "none"\n    def log_metric(self, *a, **k): pass\n    def end(self): pass\nexp = Exp()'
        : 'import mllab\nexp = mllab.start_experiment("user")';
    const script = `
import time
${start}
t = time.time()
s = 0
while time.time() - t < ${LOAD_SECONDS + 5}:
    for k in range(10):
        exp.log_metric("m%d" % k, s * 0.5, step=s)
    s += 1
    time.sleep(0.05)
exp.end()
print(exp.id)
`;
    return runPython(script, pythonEnv(lab, where === 'remote', journal)).id;
  });
}

/** 3. USERS users logging at once: API p99 over TLS, against the same runs logged on the lab's home */
async function userFigures(lab: Lab, before?: Lab): Promise<void> {
  type Load = { p50: number; p99: number };
  const idle = await tlsLoad(lab, 100, LOAD_SECONDS);
  const measure = async (target: Lab, where: 'remote' | 'local' | 'none', label: string): Promise<Load> => {
    const ids = users(target, where);
    // the runs are going, past their start (each starts a few processes: git, the package list)
    await new Promise((res) => setTimeout(res, 4000));
    const load = await tlsLoad(target, 100, LOAD_SECONDS);
    const done = await Promise.all(ids);
    if (where !== 'none') {
      const listed = await Promise.all(done.map((id) => target.owner.getExperiment(id).catch(() => undefined)));
      process.stdout.write(
        `  ${label}${where}: ${listed.filter((e) => e !== undefined).length} of ${USERS} runs listed by the lab; p99 ${load.p99.toFixed(1)} ms, p50 ${load.p50.toFixed(1)} ms\n`,
      );
    }
    return load;
  };
  const none = await measure(lab, 'none', '');
  // before and after alternate, so that a change of the machine's load falls on both alike
  const local = await measure(lab, 'local', '');
  const localBefore = before ? await measure(before, 'local', 'before: ') : undefined;
  const remote = await measure(lab, 'remote', '');
  const remoteBefore = before ? await measure(before, 'remote', 'before: ') : undefined;
  const name = `GET /api/projects over TLS at 100 req/s while ${USERS} users each log a run, 200 points/s each (p99; p50 ${remote.p50.toFixed(1)} ms)`;
  report(name, remote.p99, local.p99, 'ms', `the same runs logged on the lab's home (p50 ${local.p50.toFixed(1)} ms)`);
  report(
    name,
    remote.p99,
    none.p99,
    'ms',
    `the same ${USERS} processes logging into nothing, lab idle (p50 ${none.p50.toFixed(1)} ms)`,
  );
  report(name, remote.p99, idle.p99, 'ms', `the same requests to the idle lab (p50 ${idle.p50.toFixed(1)} ms)`);
  if (remoteBefore && localBefore) {
    report(
      name,
      remote.p99,
      remoteBefore.p99,
      'ms',
      `before: the lab and client of MLLAB_BENCH_REMOTE_BEFORE (p50 ${remoteBefore.p50.toFixed(1)} ms)`,
    );
    report(
      `same, the runs logged on the lab's home (p99; p50 ${local.p50.toFixed(1)} ms)`,
      local.p99,
      localBefore.p99,
      'ms',
      `before (p50 ${localBefore.p50.toFixed(1)} ms)`,
    );
  }
}

/**
 * curl over the same TLS lab: `args` after the common ones; returns the time it took (ms) and the CPU
 * time curl used (ms, user + system, as /usr/bin/time counts it).
 */
function curl(lab: Lab, args: string[]): { ms: number; cpuMs: number } {
  const caFile = path.join(lab.dir, 'lab.crt');
  const t0 = performance.now();
  const timed = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      'cpu %U %S',
      'curl',
      '-sS',
      '--fail',
      '--cacert',
      caFile,
      '-H',
      `Authorization: Bearer ${lab.token}`,
      ...args,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  );
  const ms = performance.now() - t0;
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(timed.stderr);
  if (timed.status !== 0 || !cpu) {
    throw new Error(`curl failed: ${timed.stderr}`);
  }
  return { ms, cpuMs: (Number(cpu[1]) + Number(cpu[2])) * 1000 };
}

/** The CPU time (ms, user + system) this process used since `since`. */
const cpuSince = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/** What the Python client's `mllab.add_dataset` and `mllab.dataset` take for `file` (time and CPU of the calls). */
const PYTHON_DATASET_SCRIPT = (file: string) => `
import json, os, resource, time, mllab
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1000
t0, c0 = time.perf_counter(), cpu()
mllab.add_dataset(${JSON.stringify(file)}, name="py-data")
sent, sent_cpu = (time.perf_counter() - t0) * 1000, cpu() - c0
t0, c0 = time.perf_counter(), cpu()
local = mllab.dataset("py-data")
fetched, fetched_cpu = (time.perf_counter() - t0) * 1000, cpu() - c0
print(json.dumps({"sent": sent, "sentCpu": sent_cpu, "fetched": fetched, "fetchedCpu": fetched_cpu, "size": os.path.getsize(local)}))
`;

/**
 * The Python client (a data scientist's path: `mllab.add_dataset`, then `mllab.dataset` into an empty
 * cache) with the same kind of bytes, new to the lab, against the same curl commands.
 */
async function pythonDatasetFigures(
  lab: Lab,
  file: string,
  curlUpload: { ms: number; cpuMs: number },
  curlDownload: { ms: number; cpuMs: number },
): Promise<void> {
  const cache = path.join(lab.dir, 'python-cache');
  const env = { ...pythonEnv(lab, true, path.join(lab.dir, 'python-journal')), MLLAB_CACHE_DIR: cache };
  const out = JSON.parse(await runPython(PYTHON_DATASET_SCRIPT(file), env).id) as {
    sent: number;
    sentCpu: number;
    fetched: number;
    fetchedCpu: number;
    size: number;
  };
  if (out.size !== DATASET_BYTES) {
    throw new Error(`the Python client fetched ${out.size} bytes of ${DATASET_BYTES}`);
  }
  const mib = (DATASET_BYTES / 1024 ** 2).toFixed(0);
  report(
    `a ${mib} MiB dataset sent by the Python client (mllab.add_dataset, hashed on the way)`,
    out.sent,
    curlUpload.ms,
    'ms',
    'curl -T (PUT) of the same bytes to the same route',
  );
  report("  the Python client's CPU time for it (user + system)", out.sentCpu, curlUpload.cpuMs, 'ms', "curl's");
  report(
    'the same dataset fetched by the Python client into its empty cache (mllab.dataset, sha256 checked)',
    out.fetched,
    curlDownload.ms,
    'ms',
    'curl -o of the same route into a file',
  );
  report("  the Python client's CPU time for it (user + system)", out.fetchedCpu, curlDownload.cpuMs, 'ms', "curl's");
  fs.rmSync(cache, { recursive: true, force: true });
  fs.rmSync(file, { force: true });
}

/**
 * 4. A dataset of DATASET_BYTES sent to the lab and fetched back by ML Lab's client (as `mllab dataset
 * add` / `get` do: a new file hashed while it is sent, then finished with its sha256; fetched into a
 * file, checked), against curl sending and fetching the same bytes over the same TLS lab. Each side
 * gets content new to the lab.
 */
async function datasetFigures(lab: Lab): Promise<void> {
  const client = new ApiClient({ url: lab.url, token: lab.token, ca: lab.ca });
  try {
    const make = (seed: number) => {
      const file = path.join(lab.dir, `data-${seed}.bin`);
      const fd = fs.openSync(file, 'w');
      const chunk = Buffer.alloc(8 * 1024 * 1024);
      for (let at = 0; at < DATASET_BYTES; at += chunk.length) {
        chunk.writeUInt32LE(seed, 0);
        chunk.writeUInt32LE(at / chunk.length, 4);
        fs.writeSync(fd, chunk, 0, Math.min(chunk.length, DATASET_BYTES - at));
      }
      fs.closeSync(fd);
      return file;
    };
    const ours = make(1);
    const theirs = make(2);
    // an empty cache of hashes: the file is new, as a first send of it is
    const cache = new HashCache(path.join(lab.dir, 'hash-cache'));
    let t0 = performance.now();
    let cpu0 = process.cpuUsage();
    const content = await sendFile(client, ours, { cache });
    const version = await client.addUploadedDataset({
      name: 'bench-data',
      sha256: content.sha256,
      size: content.size,
      fileName: 'data.bin',
      kind: 'file',
    });
    const upload = performance.now() - t0;
    const uploadCpu = cpuSince(cpu0);
    const theirsSha = (await hashFile(theirs)).sha256;
    const curlUpload = curl(lab, [
      '-H',
      'Content-Type: application/octet-stream',
      '-T',
      theirs,
      `${lab.url}/api/blobs/${theirsSha}?offset=0&size=${DATASET_BYTES}`,
      '-o',
      '/dev/null',
    ]);
    report(
      `a ${(DATASET_BYTES / 1024 ** 2).toFixed(0)} MiB dataset sent to the lab over TLS by ML Lab's client (hashed on the way)`,
      upload,
      curlUpload.ms,
      'ms',
      'curl -T (PUT) of the same bytes to the same route',
    );
    report("  the client's CPU time for it (user + system)", uploadCpu, curlUpload.cpuMs, 'ms', "curl's");
    const target = path.join(lab.dir, 'fetched.bin');
    t0 = performance.now();
    cpu0 = process.cpuUsage();
    await downloadVersion(client, version, target);
    const download = performance.now() - t0;
    const downloadCpu = cpuSince(cpu0);
    fs.rmSync(target, { force: true });
    const curlDownload = curl(lab, [
      `${lab.url}/api/datasets/bench-data/versions/${version.version}/content`,
      '-o',
      path.join(lab.dir, 'curl.bin'),
    ]);
    report(
      `the same dataset fetched from the lab over TLS by ML Lab's client into a file (sha256 checked)`,
      download,
      curlDownload.ms,
      'ms',
      'curl -o of the same route into a file',
    );
    report("  the client's CPU time for it (user + system)", downloadCpu, curlDownload.cpuMs, 'ms', "curl's");
    // the floor of any client in Node: the same bytes received over the same TLS and thrown away (no
    // hash, no file), against curl writing its file
    t0 = performance.now();
    cpu0 = process.cpuUsage();
    await new Promise<void>((resolve, reject) => {
      const req = client.rawRequest(
        'GET',
        `/api/datasets/bench-data/versions/${version.version}/content`,
        {},
        (res) => {
          res.on('data', () => undefined);
          res.on('end', resolve);
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
    report(
      '  only received by Node over the same TLS, nothing hashed or written (the floor of a client in Node)',
      performance.now() - t0,
      curlDownload.ms,
      'ms',
      'curl -o of the same route into a file',
    );
    report('  its CPU time (user + system)', cpuSince(cpu0), curlDownload.cpuMs, 'ms', "curl's");
    await pythonDatasetFigures(lab, make(3), curlUpload, curlDownload);
    for (const f of [ours, theirs, path.join(lab.dir, 'curl.bin')]) {
      fs.rmSync(f, { force: true });
    }
  } finally {
    client.dispose();
  }
}

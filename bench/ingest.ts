// Experiment ingest: 1,000,000 metric lines of a run directory into a fresh store + metric files,
// side by side with the physical reference (read the same file, JSON.parse every line); and the
// listing of 10,000 experiments with their summaries (repository call and HTTP route).
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { Backend } from '../src/backend/app';
import { RunIngest } from '../src/backend/experiments/ingest';
import { MetricFiles } from '../src/backend/experiments/metric-files';
import { ExperimentRepository, KeyState, emptyLogged } from '../src/backend/experiments/repository';
import { MemoryLogger } from '../src/backend/log';
import { ProjectRepository } from '../src/backend/projects/repository';
import { Store } from '../src/backend/store/database';
import { ApiClient } from '../src/client/api-client';
import { homePaths } from '../src/common/home';
import type { RunManifest } from '../src/protocol/experiments';
import { median } from './stats';
import { EventBus } from '../src/backend/events';

const KEYS = 10;
const STEPS = Number(process.env.MLLAB_BENCH_INGEST_STEPS ?? 100_000);
const RUNS = Number(process.env.MLLAB_BENCH_INGEST_RUNS ?? 3);
const LIST_EXPERIMENTS = 10_000;
const TOKEN = 'b'.repeat(64);

/** The run.json of a finished run as a client writes it; the scale bench overrides a few fields. */
export function manifest(id: string, startedAt: string, overrides: Partial<RunManifest> = {}): RunManifest {
  return {
    format: 1,
    id,
    name: id,
    project: null,
    status: 'completed',
    startedAt,
    endedAt: startedAt,
    exitCode: 0,
    pid: 1,
    operator: 'bench',
    command: ['python', 'train.py'],
    cwd: '/work',
    script: null,
    host: { hostname: 'bench', os: 'linux', cpus: 2, memoryBytes: 1, gpus: [] },
    runtime: { python: '3.11.7' },
    packages: null,
    git: null,
    params: { lr: 0.01, batch: 32, optimizer: 'adam' },
    tags: { kind: 'bench' },
    ...overrides,
  };
}

/** A run directory with KEYS x STEPS metric lines as a client writes them (cached between runs). */
function runDir(root: string): string {
  const dir = path.join(root, 'source', 'runs', '20260101-000000-benchmk');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'run.json'),
    JSON.stringify(manifest('20260101-000000-benchmk', '2026-01-01T00:00:00Z')),
  );
  const fd = fs.openSync(path.join(dir, 'events.jsonl'), 'w');
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let s = 0; s < STEPS; s += 1000) {
    let text = '';
    for (let i = s; i < Math.min(STEPS, s + 1000); i++) {
      for (let k = 0; k < KEYS; k++) {
        text += `${JSON.stringify({ k: 'm', key: `metric_${k}`, v: random() / (1 + i / 1000), s: i, t: 1767225600000 + i * 37 })}\n`;
      }
    }
    fs.writeSync(fd, text);
  }
  fs.closeSync(fd);
  return dir;
}

async function timeOurs(root: string, source: string, run: number): Promise<number> {
  const home = path.join(root, `home-${run}`);
  const log = new MemoryLogger();
  const store = await Store.open(homePaths(home).db, log);
  const projects = new ProjectRepository(store, new EventBus());
  const { project } = await projects.create('bench'); // the first project becomes the active one
  const repo = new ExperimentRepository(store);
  const ingest = new RunIngest({
    store,
    repo,
    files: new MetricFiles(path.join(home, 'metrics')),
    log,
    resolveProject: () => project.id,
  });
  const t0 = performance.now();
  await ingest.ingest(source);
  const [e] = repo.list(project.id); // queryable
  const elapsed = performance.now() - t0;
  const points = e.metrics.reduce((n, m) => n + m.count, 0);
  if (points !== KEYS * STEPS) {
    throw new Error(`ingested ${points} points, expected ${KEYS * STEPS}`);
  }
  store.close();
  return elapsed;
}

function timeReference(source: string): number {
  const t0 = performance.now();
  const text = fs.readFileSync(path.join(source, 'events.jsonl'), 'utf8');
  let points = 0;
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      break;
    }
    const e = JSON.parse(text.slice(start, nl)) as { k: string };
    if (e.k === 'm') {
      points++;
    }
    start = nl + 1;
  }
  const elapsed = performance.now() - t0;
  if (points !== KEYS * STEPS) {
    throw new Error(`reference parsed ${points} points`);
  }
  return elapsed;
}

async function ingestThroughput(root: string): Promise<void> {
  const source = runDir(root);
  const ours: number[] = [];
  const reference: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await timeOurs(root, source, i));
    reference.push(timeReference(source));
  }
  const n = KEYS * STEPS;
  const oursRate = n / (median(ours) / 1000);
  const refRate = n / (median(reference) / 1000);
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  process.stdout.write(
    `ingest ${fmt(n)} metric points: ${fmt(oursRate)} points/s (ML Lab) vs ${fmt(refRate)} points/s (read + JSON.parse loop), ratio ${(oursRate / refRate).toFixed(2)}\n`,
  );
}

async function listing(root: string): Promise<void> {
  const home = path.join(root, 'list-home');
  const log = new MemoryLogger();
  const store = await Store.open(homePaths(home).db, log);
  const projects = new ProjectRepository(store, new EventBus());
  const { project } = await projects.create('bench'); // the first project becomes the active one
  const repo = new ExperimentRepository(store);
  for (let batch = 0; batch < LIST_EXPERIMENTS; batch += 1000) {
    await store.write((tx) => {
      for (let i = batch; i < batch + 1000; i++) {
        const id = `20260101-${String(i).padStart(6, '0')}-aaaaaa`;
        const startedAt = new Date(Date.UTC(2026, 0, 1) + i * 60000).toISOString();
        const m = manifest(id, startedAt);
        const keys = new Map<string, KeyState>(
          ['loss', 'val_loss', 'acc', 'val_acc', 'lr'].map((key, index) => [
            key,
            { index, count: 100, last: 0.5, lastRaw: 0.5, lastStep: 99, min: 0.1, max: 0.9 },
          ]),
        );
        repo.save(
          tx,
          {
            id,
            projectId: project.id,
            name: id,
            status: 'completed',
            startedAt,
            endedAt: startedAt,
            exitCode: 0,
            operator: 'bench',
            dir: path.join(home, 'runs', id),
            manifestText: JSON.stringify(m),
            manifest: m,
            logged: emptyLogged(),
            offset: 0,
            corruptLines: 0,
            skippedPoints: 0,
          },
          keys,
          keys.keys(),
          { isNew: true, manifestChanged: true },
        );
      }
    });
  }
  const cold: number[] = [];
  const times: number[] = [];
  const parsed: number[] = [];
  for (let i = 0; i < 7; i++) {
    await store.write((tx) => repo.remove(tx, 'no-such-run')); // any write to experiments: the cache is gone
    let t0 = performance.now();
    const first = repo.listJson(project.id);
    cold.push(performance.now() - t0);
    t0 = performance.now();
    const text = repo.listJson(project.id);
    times.push(performance.now() - t0);
    t0 = performance.now();
    const list = repo.list(project.id);
    parsed.push(performance.now() - t0);
    if (list.length !== LIST_EXPERIMENTS || list[0].metrics.length !== 5 || text !== first) {
      throw new Error('listing is incomplete');
    }
  }
  store.close();
  const backend = await Backend.start({ home, token: TOKEN, version: 'bench', log });
  const client = new ApiClient(backend.port, TOKEN);
  const overHttp: number[] = [];
  const httpParsed: number[] = [];
  for (let i = 0; i < 7; i++) {
    let t0 = performance.now();
    const body = await getText(backend.port, '/api/experiments');
    overHttp.push(performance.now() - t0);
    t0 = performance.now();
    const list = await client.listExperiments();
    httpParsed.push(performance.now() - t0);
    if (list.length !== LIST_EXPERIMENTS || body.length < 1000) {
      throw new Error('listing over HTTP is incomplete');
    }
  }
  client.dispose();
  await backend.stop('bench done');
  const n = LIST_EXPERIMENTS.toLocaleString('en-US');
  process.stdout.write(
    `list ${n} experiments with 5 metric summaries each (median): ${median(cold).toFixed(2)} ms (query after a write, JSON text), ` +
      `${median(times).toFixed(2)} ms (unchanged since the last listing), ` +
      `${median(parsed).toFixed(2)} ms (query + JSON.parse), ${median(overHttp).toFixed(2)} ms (GET /api/experiments, body received), ` +
      `${median(httpParsed).toFixed(2)} ms (ApiClient.listExperiments, parsed)\n`,
  );
}

/** GET with the bench token, the body as text. */
function getText(port: number, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      })
      .on('error', reject);
  });
}

export async function ingestBench(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-bench-ingest-'));
  try {
    await ingestThroughput(root);
    await listing(root);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Only the listing of 10,000 experiments (`node out/bench/run.js listing`). */
export async function listingBench(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-bench-listing-'));
  try {
    await listing(root);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  ingestBench().catch((e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  });
}

// The MLflow-compatible API (issue 15), side by side in one run with the lab's own routes:
// - log-batch of 1,000 metric points against POST /api/runs/:id/events of the same points (the route a
//   run recorded on another machine is sent by), request to answer, median;
// - runs/search with a filter over 10,000 runs against GET /api/experiments of the same project (the
//   lab's own listing of those runs), request to answer, median.
// `node out/bench/run.js mlflow`
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { Backend } from '../src/backend/app';
import { MemoryLogger } from '../src/backend/log';
import type { RunManifest } from '../src/protocol/experiments';
import { median } from './stats';

const TOKEN = 'b'.repeat(64);
const POINTS = 1000;
const BATCHES = Number(process.env.MLLAB_BENCH_MLFLOW_BATCHES ?? 200);
/** Batches of each route sent first and not counted: a training loop logs many batches, so the
 * figure is the steady state, not the first requests through code the JIT has not compiled yet. */
const WARMUP = 20;
const SEARCH_RUNS = Number(process.env.MLLAB_BENCH_MLFLOW_RUNS ?? 10_000);
const SEARCHES = 20;
const FILTER = "metrics.acc > 0.99 AND params.model = 'a'";

function request(
  port: number,
  method: string,
  urlPath: string,
  body?: string | Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body !== undefined
            ? {
                'content-type': typeof body === 'string' ? 'application/json' : 'application/octet-stream',
                'content-length': String(Buffer.byteLength(body)),
              }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function ok(port: number, method: string, urlPath: string, body?: string | Buffer): Promise<string> {
  const res = await request(port, method, urlPath, body);
  if (res.status !== 200) {
    throw new Error(`${method} ${urlPath}: ${res.status} ${res.text.slice(0, 300)}`);
  }
  return res.text;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

function manifestOf(id: string, project: string, startedAt: string): RunManifest {
  return {
    format: 1,
    id,
    name: id,
    project,
    status: 'completed',
    startedAt,
    endedAt: startedAt,
    exitCode: 0,
    pid: 1,
    operator: 'bench',
    command: ['python', 'train.py'],
    cwd: '/',
    script: null,
    host: { hostname: 'bench-host', os: 'linux', cpus: 2, memoryBytes: 1, gpus: [] },
    runtime: {},
    packages: null,
    git: null,
    params: {},
    tags: {},
  };
}

async function logBatch(backend: Backend, experimentId: string): Promise<void> {
  const port = backend.port;
  const run = JSON.parse(
    await ok(port, 'POST', '/api/2.0/mlflow/runs/create', JSON.stringify({ experiment_id: experimentId })),
  ) as {
    run: { info: { run_id: string } };
  };
  const runId = run.run.info.run_id;
  // the lab's own route: a run sent over the network, its manifest first
  const ownId = '20260101-000000-b0b0b0';
  await ok(
    port,
    'PUT',
    `/api/runs/${ownId}/manifest`,
    JSON.stringify({ ...manifestOf(ownId, experimentId, new Date().toISOString()), status: 'running' }),
  );
  let offset = 0;
  const ours: number[] = [];
  const reference: number[] = [];
  for (let b = 0; b < WARMUP + BATCHES; b++) {
    const points = Array.from({ length: POINTS }, (_, i) => ({
      key: `m${i % 10}`,
      value: Math.sin(b * POINTS + i),
      timestamp: 1767225600000 + b * POINTS + i,
      step: b * 100 + Math.floor(i / 10),
    }));
    const batch = JSON.stringify({ run_id: runId, metrics: points });
    const lines = Buffer.from(
      points.map((p) => JSON.stringify({ k: 'm', key: p.key, v: p.value, s: p.step, t: p.timestamp })).join('\n') +
        '\n',
    );
    const mlflow = await timed(() => ok(port, 'POST', '/api/2.0/mlflow/runs/log-batch', batch));
    const at = offset;
    const own = await timed(() => ok(port, 'POST', `/api/runs/${ownId}/events?offset=${at}`, lines));
    if (b >= WARMUP) {
      ours.push(mlflow);
      reference.push(own);
    }
    offset += lines.length;
  }
  await backend.experiments.idle();
  const history = JSON.parse(
    await ok(port, 'GET', `/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=m0`),
  ) as { metrics: unknown[] };
  if (history.metrics.length !== ((WARMUP + BATCHES) * POINTS) / 10) {
    throw new Error(`log-batch lost points: ${history.metrics.length} of m0`);
  }
  const o = median(ours);
  const r = median(reference);
  process.stdout.write(
    `MLflow log-batch of ${POINTS} metric points (median of ${BATCHES}, after ${WARMUP} of each not counted): ${o.toFixed(2)} ms (POST /api/2.0/mlflow/runs/log-batch) vs ${r.toFixed(2)} ms (the lab's POST /api/runs/:id/events of the same points), ratio ${(o / r).toFixed(2)}\n`,
  );
}

/** 10,000 finished runs written as the clients write them, then ingested by the lab. */
function writeRuns(home: string, project: string): void {
  const runs = path.join(home, 'runs');
  fs.mkdirSync(runs, { recursive: true });
  for (let i = 0; i < SEARCH_RUNS; i++) {
    const id = `20250101-${String(i).padStart(6, '0')}-aaaaaa`;
    const dir = path.join(runs, id);
    fs.mkdirSync(dir);
    const startedAt = new Date(Date.UTC(2025, 0, 1) + i * 60000).toISOString();
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(manifestOf(id, project, startedAt)));
    const t = Date.parse(startedAt);
    const events = [
      { k: 'param', key: 'model', v: ['a', 'b', 'c', 'd'][i % 4], t },
      { k: 'param', key: 'lr', v: String(0.001 * (1 + (i % 7))), t },
      { k: 'tag', key: 'team', v: i % 2 ? 'risk' : 'growth', t },
      ...['acc', 'loss', 'val_acc', 'val_loss', 'lr'].map((key, j) => ({
        k: 'm',
        key,
        v: key === 'acc' ? (i % 1000) / 1000 : j / 10,
        s: 0,
        t,
      })),
      { k: 'status', status: 'completed', exitCode: 0, t },
    ];
    fs.writeFileSync(path.join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  }
}

async function search(root: string): Promise<void> {
  const home = path.join(root, 'search-home');
  const log = new MemoryLogger();
  // a first start makes the project; the runs are then written and ingested at the next start
  let backend = await Backend.start({ home, token: TOKEN, version: 'bench', log });
  const { experiment_id: experimentId } = JSON.parse(
    await ok(backend.port, 'POST', '/api/2.0/mlflow/experiments/create', JSON.stringify({ name: 'search' })),
  ) as { experiment_id: string };
  await backend.stop('seeding');
  writeRuns(home, experimentId);
  backend = await Backend.start({ home, token: TOKEN, version: 'bench', log });
  await backend.experiments.idle();
  const port = backend.port;
  const body = JSON.stringify({ experiment_ids: [experimentId], filter: FILTER, max_results: 1000 });
  const first = JSON.parse(await ok(port, 'POST', '/api/2.0/mlflow/runs/search', body)) as { runs?: unknown[] };
  const expected = Array.from({ length: SEARCH_RUNS }, (_, i) => i).filter((i) => i % 1000 > 990 && i % 4 === 0).length;
  if ((first.runs ?? []).length !== expected) {
    throw new Error(`runs/search found ${(first.runs ?? []).length} runs, not ${expected}`);
  }
  const listed = JSON.parse(await ok(port, 'GET', `/api/experiments?project=${experimentId}`)) as { rows: unknown[] };
  if (listed.rows.length !== SEARCH_RUNS) {
    throw new Error(`the lab lists ${listed.rows.length} runs, not ${SEARCH_RUNS}`);
  }
  const ours: number[] = [];
  const reference: number[] = [];
  for (let i = 0; i < SEARCHES; i++) {
    ours.push(await timed(() => ok(port, 'POST', '/api/2.0/mlflow/runs/search', body)));
    reference.push(await timed(() => ok(port, 'GET', `/api/experiments?project=${experimentId}`)));
  }
  // after a change of the runs (a new run logged), the first search parses the lab's listing again
  const afterChange: number[] = [];
  const listAfterChange: number[] = [];
  for (let i = 0; i < 5; i++) {
    await ok(port, 'POST', '/api/2.0/mlflow/runs/create', JSON.stringify({ experiment_id: experimentId }));
    afterChange.push(await timed(() => ok(port, 'POST', '/api/2.0/mlflow/runs/search', body)));
    await ok(port, 'POST', '/api/2.0/mlflow/runs/create', JSON.stringify({ experiment_id: experimentId }));
    listAfterChange.push(await timed(() => ok(port, 'GET', `/api/experiments?project=${experimentId}`)));
  }
  await backend.stop('bench done');
  const o = median(ours);
  const r = median(reference);
  process.stdout.write(
    `MLflow runs/search "${FILTER}" over ${SEARCH_RUNS.toLocaleString('en-US')} runs (${expected} found; median of ${SEARCHES}): ${o.toFixed(2)} ms vs ${r.toFixed(2)} ms (the lab's GET /api/experiments of those runs), ratio ${(o / r).toFixed(2)}\n` +
      `MLflow runs/search, the first after a run was created (median of 5): ${median(afterChange).toFixed(2)} ms vs ${median(listAfterChange).toFixed(2)} ms (the lab's GET /api/experiments, the first after a run was created), ratio ${(median(afterChange) / median(listAfterChange)).toFixed(2)}\n`,
  );
}

export async function mlflowBench(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-bench-mlflow-'));
  try {
    const home = path.join(root, 'batch-home');
    const backend = await Backend.start({ home, token: TOKEN, version: 'bench', log: new MemoryLogger() });
    try {
      const { experiment_id } = JSON.parse(
        await ok(backend.port, 'POST', '/api/2.0/mlflow/experiments/create', JSON.stringify({ name: 'batch' })),
      ) as { experiment_id: string };
      await logBatch(backend, experiment_id);
    } finally {
      await backend.stop('bench done');
    }
    await search(root);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  mlflowBench().catch((e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  });
}

// Models: deploy-to-healthy time of a small scikit-learn model, side by side with `docker run` of the
// same image and mount polled on /health; and single-row prediction latency under an open-loop load
// of 200 requests/s sent from a second process on 127.0.0.1, side by side with the same server
// answering GET /health (the HTTP floor). Needs a Docker Engine and the image of
// scripts/ensure-sklearn-image.sh (built when missing).
import { fork, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ApiClient } from '../src/client/api-client';
import type { Service } from '../src/protocol/containers';
import { startBackend, tempHome } from './http-bench';
import { median, percentile, report } from './stats';

const SKLEARN = 'mllab-test/python-sklearn:1';
const REPO = path.resolve(__dirname, '..', '..');
const RUNS = Number(process.env.MLLAB_BENCH_MODEL_RUNS ?? 5);
const RATE = Number(process.env.MLLAB_BENCH_MODEL_RPS ?? 200);
const SECONDS = Number(process.env.MLLAB_BENCH_MODEL_SECONDS ?? 10);
const ROW = { inputs: [[5.9, 3.0, 5.1, 1.8]] };

interface LoadRequest {
  readonly port: number;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  readonly rate: number;
  readonly seconds: number;
}

interface LoadResult {
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly achievedRps: number;
}

function send(agent: http.Agent, r: LoadRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = r.body === undefined ? undefined : Buffer.from(r.body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port: r.port,
        method: r.method,
        path: r.path,
        agent,
        headers: body ? { 'content-type': 'application/json', 'content-length': body.length } : {},
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Open loop: one request every 1/rate s whatever the answers do; latency counted from the scheduled start. */
async function openLoop(r: LoadRequest): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const latencies: number[] = [];
  let errors = 0;
  const total = r.rate * r.seconds;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / r.rate;
    const wait = due - performance.now();
    if (wait > 1) {
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const t0 = Math.min(due, performance.now());
    pending.push(
      send(agent, r).then(
        (status) => {
          latencies.push(performance.now() - t0);
          errors += status === 200 ? 0 : 1;
        },
        () => void errors++,
      ),
    );
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors, achievedRps: total / elapsed };
}

/** Runs the load in a second process (so its own event loop does not share the backend's or ours). */
function loadFromAnotherProcess(r: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--load', JSON.stringify(r)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m: LoadResult) => resolve(m));
    child.once('exit', (code) => code !== 0 && reject(new Error(`the load process exited with ${code}`)));
  });
}

async function healthyAt(client: ApiClient, name: string): Promise<number> {
  for (;;) {
    const s: Service = await client.getService(name);
    if (s.status === 'healthy') {
      return performance.now();
    }
    if (s.status !== 'starting') {
      throw new Error(`service ${name} is ${s.status}: ${s.reason ?? ''}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `docker run -d` of the same image and mount, then GET /health every 5 ms until it answers 200. */
async function dockerRunToHealthy(image: string, model: string, port: number): Promise<number> {
  const t0 = performance.now();
  const r = spawnSync('docker', [
    'run',
    '-d',
    '--rm',
    '-p',
    `127.0.0.1:${port}:8080`,
    '-v',
    `${model}:/model/iris.joblib:ro`,
    '-e',
    'MODEL_PATH=/model/iris.joblib',
    image,
  ]);
  if (r.status !== 0) {
    throw new Error(`docker run: ${String(r.stderr)}`);
  }
  const agent = new http.Agent();
  for (;;) {
    const status = await send(agent, { port, method: 'GET', path: '/health', rate: 0, seconds: 0 }).catch(() => 0);
    if (status === 200) {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const elapsed = performance.now() - t0;
  agent.destroy();
  spawnSync('docker', ['rm', '-f', String(r.stdout).trim()], { stdio: 'ignore' });
  return elapsed;
}

export async function modelsBench(): Promise<void> {
  if (spawnSync('docker', ['image', 'inspect', SKLEARN], { stdio: 'ignore' }).status !== 0) {
    const built = spawnSync('bash', [path.join(REPO, 'scripts', 'ensure-sklearn-image.sh')], { stdio: 'inherit' });
    if (built.status !== 0) {
      throw new Error(`the image ${SKLEARN} cannot be built: see scripts/ensure-sklearn-image.sh`);
    }
  }
  const home = tempHome();
  const root = path.dirname(home);
  const backend = await startBackend(home);
  const client = new ApiClient(backend.port, backend.token!);
  try {
    await client.setActiveProject((await client.createProject('bench')).id);
    // the small model: logistic regression on iris, trained in the image (its scikit-learn)
    const train = spawnSync('docker', [
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${root}:/out`,
      SKLEARN,
      'python3',
      '-c',
      'import joblib; from sklearn.datasets import load_iris; from sklearn.linear_model import LogisticRegression; ' +
        'X, y = load_iris(return_X_y=True); joblib.dump(LogisticRegression(max_iter=1000).fit(X, y), "/out/iris.joblib")',
    ]);
    if (train.status !== 0) {
      throw new Error(`training failed: ${String(train.stderr)}`);
    }
    const version = await client.registerModel({ name: 'iris', path: path.join(root, 'iris.joblib') });
    let t0 = performance.now();
    const first = await client.deployModel('iris', { baseImage: SKLEARN, serviceName: 'first' });
    const firstMs = (await healthyAt(client, first.name)) - t0;
    process.stdout.write(
      `model deploy to healthy, first (model-server image built if new): ${firstMs.toFixed(2)} ms\n`,
    );
    await client.deleteService(first.name);

    const ours: number[] = [];
    const reference: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      t0 = performance.now();
      const s = await client.deployModel('iris', { baseImage: SKLEARN, serviceName: `run-${i}` });
      ours.push((await healthyAt(client, s.name)) - t0);
      await client.deleteService(s.name);
      reference.push(await dockerRunToHealthy(s.image, version.path, s.ports[0].hostPort));
    }
    report(
      'model deploy to healthy, small scikit-learn model (median)',
      median(ours),
      median(reference),
      'ms',
      'docker run -d + polling /health every 5 ms',
    );

    const served = await client.deployModel('iris', { baseImage: SKLEARN, serviceName: 'latency' });
    await healthyAt(client, served.name);
    const port = served.ports[0].hostPort;
    const warm = { port, rate: RATE, seconds: 1 };
    await loadFromAnotherProcess({ ...warm, method: 'POST', path: '/predict', body: JSON.stringify(ROW) });
    await loadFromAnotherProcess({ ...warm, method: 'GET', path: '/health' });
    const predict = await loadFromAnotherProcess({
      port,
      method: 'POST',
      path: '/predict',
      body: JSON.stringify(ROW),
      rate: RATE,
      seconds: SECONDS,
    });
    const floor = await loadFromAnotherProcess({ port, method: 'GET', path: '/health', rate: RATE, seconds: SECONDS });
    const label = `POST /predict, one row, at ${RATE} req/s for ${SECONDS} s from a second process`;
    report(`${label}: p50 latency`, predict.p50, floor.p50, 'ms', 'same server answering GET /health');
    report(`${label}: p99 latency`, predict.p99, floor.p99, 'ms', 'same server answering GET /health');
    report(`${label}: achieved rate`, predict.achievedRps, floor.achievedRps, 'req/s', 'GET /health');
    if (predict.errors + floor.errors > 0) {
      process.stdout.write(`  (${predict.errors} predictions and ${floor.errors} health checks did not answer 200)\n`);
    }
    await client.deleteService(served.name);
  } finally {
    client.dispose();
    await backend.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--load') {
  void openLoop(JSON.parse(process.argv[3]) as LoadRequest).then((result) => {
    process.send!(result, () => process.exit(0));
  });
}

// A metric point logged by the Python client reaches the UI's event stream (GET /api/events,
// `metricPoints`) in under 250 ms at p95. Side by side with two references: the notification alone
// (fs.appendFileSync of a line to the fs.watch callback on that file, in one process) and the floor
// of the design (the Python client's 100 ms write interval plus that notification).
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ApiClient } from '../src/client/api-client';
import { EventStream } from '../src/client/event-stream';
import { startBackend, tempHome } from './http-bench';
import { percentile, report } from './stats';

const REPO = path.resolve(__dirname, '..', '..');
const POINTS = Number(process.env.MLLAB_BENCH_EVENT_POINTS ?? 200);
const INTERVAL_MS = 20;
/** the Python client's background write interval (python/mllab/_run_lifecycle.py) */
const PYTHON_FLUSH_MS = 100;

interface Figures {
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly n: number;
}

function figures(latencies: number[]): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1], n: sorted.length };
}

// One point every 20 ms, its value = the wall-clock time (unix ms) when it was logged.
const SCRIPT = `
import time, mllab
exp = mllab.start_experiment("event-latency")
for i in range(${POINTS}):
    exp.log_metric("wall", time.time() * 1000)
    time.sleep(${INTERVAL_MS / 1000})
exp.end()
`;

/** Latency of each point (event arrival in this process - the wall time it was logged). */
async function measureMlLab(): Promise<number[]> {
  const home = tempHome();
  const backend = await startBackend(home);
  const client = new ApiClient(backend.port, backend.token!);
  const latencies: number[] = [];
  let stream: EventStream | undefined;
  try {
    const project = await client.createProject('bench');
    await client.setActiveProject(project.id);
    let closed: string | undefined;
    let ended = false;
    stream = new EventStream(
      client,
      (event) => {
        if (event.type === 'experimentUpdated' && event.experiment.status !== 'running') {
          ended = true;
        } else if (event.type === 'metricPoints' && event.key === 'wall') {
          const now = Date.now();
          for (const v of event.values) {
            if (v !== null) {
              latencies.push(now - v);
            }
          }
        }
      },
      (reason) => (closed = reason),
    );
    await new Promise((r) => setTimeout(r, 300)); // the stream is open before the run starts
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONPATH: path.join(REPO, 'python'), MLLAB_HOME: home };
    delete env.MLLAB_RUN_DIR; // a run of its own, even when the bench runs under \`mllab run\`
    const child = spawn('python3', ['-c', SCRIPT], {
      cwd: path.dirname(home),
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) {
      throw new Error(`the Python script failed (${code}): ${stderr}`);
    }
    const deadline = Date.now() + 10000;
    while (latencies.length < POINTS && !ended && Date.now() < deadline && closed === undefined) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 200)); // anything still on its way
    if (latencies.length < POINTS / 2) {
      throw new Error(`only ${latencies.length} of ${POINTS} points reached the event stream (${closed ?? 'open'})`);
    }
    return latencies;
  } finally {
    stream?.dispose();
    client.dispose();
    await backend.stop();
    fs.rmSync(path.dirname(home), { recursive: true, force: true });
  }
}

/** Reference: fs.appendFileSync of a line to the fs.watch callback on that file, same process. */
async function measureNotification(): Promise<number[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-bench-watch-'));
  const file = path.join(dir, 'events.jsonl');
  fs.writeFileSync(file, '');
  const latencies: number[] = [];
  let pending: { t0: number; resolve: () => void } | undefined;
  const watcher = fs.watch(file, () => {
    if (pending) {
      latencies.push(performance.now() - pending.t0);
      const p = pending;
      pending = undefined;
      p.resolve();
    }
  });
  try {
    for (let i = 0; i < POINTS; i++) {
      await new Promise((r) => setTimeout(r, INTERVAL_MS));
      await new Promise<void>((resolve) => {
        const timeout = setTimeout(() => {
          pending = undefined;
          resolve(); // a missed notification is not counted (the backend polls as a safety net)
        }, 1000);
        pending = {
          t0: performance.now(),
          resolve: () => {
            clearTimeout(timeout);
            resolve();
          },
        };
        fs.appendFileSync(file, `{"k":"m","key":"wall","v":${Date.now()},"s":${i},"t":${Date.now()}}\n`);
      });
    }
  } finally {
    watcher.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return latencies;
}

export async function eventLatencyBench(): Promise<void> {
  const ours = figures(await measureMlLab());
  const notify = figures(await measureNotification());
  const name = 'metric point to UI event stream';
  report(`${name}, p95`, ours.p95, notify.p95, 'ms', 'fs.appendFileSync to fs.watch callback, same process');
  report(
    `${name}, p95`,
    ours.p95,
    PYTHON_FLUSH_MS + notify.p95,
    'ms',
    `design floor: the Python client's ${PYTHON_FLUSH_MS} ms write interval + that notification`,
  );
  report(`${name}, p50`, ours.p50, notify.p50, 'ms', 'fs.appendFileSync to fs.watch callback, same process');
  report(`${name}, max`, ours.max, notify.max, 'ms', 'fs.appendFileSync to fs.watch callback, same process');
  const missing = ours.n < POINTS ? `; ${POINTS - ours.n} did not arrive as live events` : '';
  process.stdout.write(
    `  (${ours.n} of ${POINTS} points arrived as metricPoints, one logged every ${INTERVAL_MS} ms${missing}; ` +
      `target p95 < 250 ms: ${ours.p95 < 250 ? 'met' : 'NOT met'})\n`,
  );
}

if (require.main === module) {
  eventLatencyBench().catch((e: Error) => {
    process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  });
}

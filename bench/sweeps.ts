// A sweep's cost per trial, side by side with starting the same script directly, in the same run: the
// controller's overhead is what a trial costs beyond the script (from one trial's end to the next one's
// start: the end told to Optuna, the next params asked, the run directory written, the process started).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ApiClient } from '../src/client/api-client';
import { sweepRoutes } from '../src/protocol/routes/sweeps';
import type { SweepDetails } from '../src/protocol/sweeps';
import { startBackend, tempHome } from './http-bench';
import { median, report } from './stats';

const TRIALS = Number(process.env.MLLAB_BENCH_SWEEP_TRIALS ?? 30);

const SCRIPT = `import mllab
with mllab.experiment() as exp:
    exp.log_metric("loss", float(exp.params.get("x", 0.5)) ** 2)
`;

/** Milliseconds from spawning the script to its exit, as a sweep's trial runs it (the lab's client, a run directory). */
function direct(dir: string, home: string): number {
  const t0 = performance.now();
  const r = spawnSync('python3', ['trial.py'], {
    cwd: dir,
    stdio: 'ignore',
    env: { ...process.env, MLLAB_HOME: home, PYTHONPATH: path.resolve(__dirname, '..', '..', 'python') },
  });
  if (r.status !== 0) {
    throw new Error(`python3 trial.py exited with ${r.status}`);
  }
  return performance.now() - t0;
}

export async function sweepsBench(): Promise<void> {
  const home = tempHome();
  const dir = path.join(path.dirname(home), 'work');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'trial.py'), SCRIPT);
  const backend = await startBackend(home);
  const client = new ApiClient(backend.port, backend.token!);
  try {
    await client.setActiveProject((await client.createProject('bench')).id);
    // the reference first and last, so that both see the machine alike
    const reference = [...Array(Math.ceil(TRIALS / 2))].map(() => direct(dir, home));
    const yaml = `script: trial.py\nmethod: random\nseed: 1\ntrials: ${TRIALS}\nmetric: loss\nparams:\n  x: { type: float, min: 0, max: 1 }\n`;
    const created = await client.call(sweepRoutes.create, { body: { yaml, dir } });
    let done: SweepDetails;
    for (;;) {
      done = await client.call(sweepRoutes.get, { params: { id: created.id } });
      if (done.state !== 'running') {
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    reference.push(...[...Array(Math.floor(TRIALS / 2))].map(() => direct(dir, home)));
    if (done.state !== 'finished') {
      throw new Error(`the sweep ended ${done.state}: ${done.message}`);
    }
    // a trial's start: its run.json's startedAt, written just before its process; its end: the exit
    // file its shell writes as the script exits
    const sweepDir = path.join(home, 'sweeps', created.id);
    const starts = done.trials.map((t) =>
      Date.parse(readJson(path.join(home, 'runs', t.runId!, 'run.json')).startedAt),
    );
    const ends = done.trials.map((t) => fs.statSync(path.join(sweepDir, 'trials', `${t.number}.exit`)).mtimeMs);
    const gaps = done.trials.slice(1).map((_, i) => starts[i + 1] - ends[i]);
    const perTrial = (ends[ends.length - 1] - starts[0]) / done.trials.length;
    report(
      `sweep of ${TRIALS} trials, one at a time: time per trial (first start to last end / trials)`,
      perTrial,
      median(reference),
      'ms',
      'the same script started directly, median',
    );
    process.stdout.write(
      `sweep controller overhead per trial (one trial's end to the next one's start): median ${median(gaps).toFixed(1)} ms, max ${Math.max(...gaps).toFixed(1)} ms (target under 200 ms)\n`,
    );
  } finally {
    client.dispose();
    await backend.stop();
    fs.rmSync(path.dirname(home), { recursive: true, force: true });
  }
}

function readJson(file: string): { startedAt: string } {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as { startedAt: string };
}

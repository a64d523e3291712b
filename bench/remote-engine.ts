// Jobs on a plain remote Docker Engine, side by side with the docker CLI against the same engine:
// sending the job's image to an engine without a registry (against `docker save | docker -H ... load`),
// and "run job" until its container runs (against `docker -H ... run -d` of the same image). The
// engine is one more nested engine of the test cluster's node image, started here (needs the test
// cluster up: bash scripts/test-cluster.sh up).
import { execFileSync, spawn } from 'child_process';
import Docker from 'dockerode';
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { imageOnEngine } from '../src/backend/runtime/cluster-image';
import { ApiClient } from '../src/client/api-client';
import { startNestedEngine } from '../test/cluster/fixture';
import { swarmManager } from './cluster-manager';
import { startBackend, tempHome } from './http-bench';
import { median, report } from './stats';

const BUSYBOX = 'mllab-test/busybox:1';
const PYTHON = 'mllab-test/python-sklearn:1';
const RUNS = Number(process.env.MLLAB_BENCH_CLUSTER_RUNS ?? 7);
const TRANSFERS = Number(process.env.MLLAB_BENCH_TRANSFER_RUNS ?? 2);
/** the repository, from out/bench */
const REPO = path.resolve(__dirname, '..', '..');

/** A command to its end; its time in ms. */
function timed(command: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${command} ${args.join(' ')}: ${code}`)),
    );
  });
}

export async function remoteEngineBench(): Promise<void> {
  if (!(await swarmManager('remote engine'))) {
    return;
  }
  // where the fixture finds the test cluster (scripts/run-cluster-tests.sh exports the same)
  process.env.MLLAB_SWARM_REGISTRY ??= '127.0.0.1:5000';
  process.env.MLLAB_SWARM_LAB_PORT ??= '18443';
  process.env.MLLAB_SWARM_GATEWAY ??= execFileSync('bash', [path.join(REPO, 'scripts', 'test-cluster.sh'), 'gateway'])
    .toString()
    .trim();
  // the lab's URL as the engine's containers would reach it: the busybox job does not call it
  process.env.MLLAB_LAB_URL ??= 'https://127.0.0.1:18443';
  const engine = await startNestedEngine(`mllab-bench-remote-${process.pid}`);
  const local = new Docker();
  const remote = new Docker({ host: '127.0.0.1', port: engine.apiPort, protocol: 'http' });
  const home = tempHome();
  let backend: Awaited<ReturnType<typeof startBackend>> | undefined;
  try {
    // MLLAB_BENCH_TRANSFER_RUNS=0: the jobs' figure alone
    if (TRANSFERS > 0) {
      const size = ((await local.getImage(PYTHON).inspect()).Size / 1e6).toFixed(0);
      const ours: number[] = [];
      const reference: number[] = [];
      const forget = () => remote.getImage(PYTHON).remove({ force: true });
      for (let i = 0; i < TRANSFERS; i++) {
        reference.push(await timed('sh', ['-c', `docker save ${PYTHON} | docker -H ${engine.dockerHost} load -q`]));
        await forget();
        const t0 = performance.now();
        await imageOnEngine(local, remote, PYTHON, 'bench');
        ours.push(performance.now() - t0);
        await forget();
      }
      report(
        `an image (${size} MB) sent to a remote engine without a registry (median of ${TRANSFERS})`,
        median(ours),
        median(reference),
        'ms',
        'docker save | docker -H load',
      );
    }

    backend = await startBackend(home);
    const client = new ApiClient(backend.port, backend.token!);
    try {
      await client.setActiveProject((await client.createProject('bench')).id);
      const added = await fetch(`http://127.0.0.1:${backend.port}/api/targets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${backend.token!}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'box', dockerHost: engine.dockerHost }),
      });
      if (added.status !== 201) {
        throw new Error(`adding the target failed: ${await added.text()}`);
      }
      await client.createJob({ name: 'sleep', image: BUSYBOX, command: ['sleep', '2'], target: 'box' });
      const runs: number[] = [];
      const clis: number[] = [];
      let image = '';
      for (let i = 0; i < RUNS + 1; i++) {
        const t0 = performance.now();
        const run = await client.runJob('sleep');
        const ms = performance.now() - t0;
        if (run.state !== 'running') {
          throw new Error(`the run is ${run.state}: ${run.reason ?? ''}`);
        }
        if (!image) {
          // the image the lab built on the engine for the job: the CLI runs the very same bits
          const [c] = await remote.listContainers({ filters: { label: [`dev.mllab.id=${run.id}`] } });
          image = c.Image;
        }
        const cli = await timed('docker', [
          ...['-H', engine.dockerHost, 'run', '-d', '--rm', '--network', 'host'],
          ...['--label', 'dev.mllab.bench=remote-engine', image, 'sleep', '2'],
        ]);
        if (i > 0) {
          // the first round sends the image and builds the job's layer on the engine
          runs.push(ms);
          clis.push(cli);
        }
      }
      report(
        `job on a remote engine: run to container running (median of ${RUNS})`,
        median(runs),
        median(clis),
        'ms',
        'docker -H run -d',
      );
    } finally {
      client.dispose();
    }
  } finally {
    await backend?.stop();
    engine.remove();
    fs.rmSync(path.dirname(home), { recursive: true, force: true });
  }
}

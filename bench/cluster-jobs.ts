// Jobs on a Swarm cluster, side by side with the docker CLI: time from "run job" to its task running
// on a worker node, against `docker service create --mode replicated-job` of the same image (the one
// the lab pushed, by digest) until its task runs. Needs the test cluster up
// (MLLAB_SWARM_KEEP=1 bash scripts/run-cluster-tests.sh, or bash scripts/test-cluster.sh up).
import { spawn } from 'child_process';
import Docker from 'dockerode';
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ApiClient } from '../src/client/api-client';
import { EventStream } from '../src/client/event-stream';
import { SWARM_API as API, swarmManager } from './cluster-manager';
import { startBackend, tempHome } from './http-bench';
import { median, report } from './stats';

const IMAGE = 'mllab-test/busybox:1';
const RUNS = Number(process.env.MLLAB_BENCH_CLUSTER_RUNS ?? 7);
const REGISTRY = process.env.MLLAB_SWARM_REGISTRY ?? '127.0.0.1:5000';
const COMMAND = ['sleep', '2'];
const ON_A_WORKER = 'node.role==worker';

/** When each run was first reported running by the lab's event stream. */
class RunStarts {
  private readonly starts = new Map<string, number>();
  private readonly stream: EventStream;
  constructor(client: ApiClient) {
    this.stream = new EventStream(
      client,
      (e) => {
        if (e.type === 'jobRunUpdated' && e.run.state !== 'queued' && !this.starts.has(e.run.id)) {
          this.starts.set(e.run.id, performance.now());
        }
      },
      () => undefined,
    );
  }
  async wait(runId: string): Promise<number> {
    for (let i = 0; i < 60_000; i++) {
      const at = this.starts.get(runId);
      if (at !== undefined) {
        return at;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    throw new Error(`run ${runId} did not start`);
  }
  dispose(): void {
    this.stream.dispose();
  }
}

/** `docker service create` of a one-shot job by the CLI, then the manager asked every 10 ms until its task runs. */
async function cliJob(docker: Docker, image: string, i: number): Promise<{ ms: number; id: string }> {
  const t0 = performance.now();
  const id = await new Promise<string>((resolve, reject) => {
    let out = '';
    const child = spawn(
      'docker',
      ['service', 'create', '--detach', '--quiet', '--name', `mllab-bench-cli-${i}-${Date.now()}`]
        .concat(['--mode', 'replicated-job', '--restart-condition', 'none', '--constraint', ON_A_WORKER])
        .concat(['--label', 'dev.mllab.bench=cluster-jobs', image, ...COMMAND]),
      { env: { ...process.env, DOCKER_HOST: API }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) =>
      code === 0 ? resolve(out.trim()) : reject(new Error(`docker service create: ${code}`)),
    );
  });
  for (;;) {
    const tasks = (await docker.listTasks({ filters: { service: [id] } })) as { Status?: { State?: string } }[];
    if (tasks.some((t) => t.Status?.State === 'running' || t.Status?.State === 'complete')) {
      return { ms: performance.now() - t0, id };
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function clusterJobsBench(): Promise<void> {
  const docker = await swarmManager('cluster jobs');
  if (!docker) {
    return;
  }
  // the lab's URL as the nodes would reach it: the busybox job does not call it
  process.env.MLLAB_LAB_URL ??= 'https://127.0.0.1:18443';
  const home = tempHome();
  const backend = await startBackend(home);
  const client = new ApiClient(backend.port, backend.token!);
  const starts = new RunStarts(client);
  const cliServices: string[] = [];
  try {
    const project = await client.createProject('bench');
    await client.setActiveProject(project.id);
    const added = await fetch(`http://127.0.0.1:${backend.port}/api/targets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${backend.token!}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cluster', dockerHost: API, registry: REGISTRY }),
    });
    if (added.status !== 201) {
      throw new Error(`adding the target failed: ${await added.text()}`);
    }
    await client.createJob({
      name: 'sleep',
      image: IMAGE,
      command: COMMAND,
      target: 'cluster',
      placement: [ON_A_WORKER],
    });
    const ours: number[] = [];
    const reference: number[] = [];
    let image = '';
    for (let i = 0; i < RUNS + 1; i++) {
      const t0 = performance.now();
      const run = await client.runJob('sleep');
      const running = (await starts.wait(run.id)) - t0;
      if (!image) {
        // the image the lab pushed and ran, by digest: the CLI runs the very same bits
        const service = (await docker.listServices({ filters: { label: [`dev.mllab.id=${run.id}`] } }))[0];
        image = (service?.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } })?.ContainerSpec?.Image ?? '';
      }
      const cli = await cliJob(docker, image, i);
      cliServices.push(cli.id);
      if (i > 0) {
        // the first round pushes the image and warms the nodes' image stores
        ours.push(running);
        reference.push(cli.ms);
      }
    }
    report(
      'job on a Swarm worker: run to task running (median)',
      median(ours),
      median(reference),
      'ms',
      'docker service create --mode replicated-job',
    );
  } finally {
    starts.dispose();
    client.dispose();
    await backend.stop();
    // the lab's last run may still run: its service and secrets go with the bench's lab home
    const mine = { filters: { label: [`dev.mllab.home=${home}`] } };
    const labs = await docker.listServices(mine).catch(() => []);
    for (const id of [...cliServices, ...labs.map((s) => s.ID)]) {
      await docker
        .getService(id)
        .remove()
        .catch(() => undefined);
    }
    for (const secret of await docker.listSecrets(mine).catch(() => [])) {
      await docker
        .getSecret(secret.ID)
        .remove()
        .catch(() => undefined);
    }
    fs.rmSync(path.dirname(home), { recursive: true, force: true });
  }
}

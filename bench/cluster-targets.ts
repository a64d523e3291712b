// Targets on a Swarm cluster, side by side with the docker CLI and the bare Engine API: adding the
// swarm as a target (the lab asks `docker info` before it keeps it) against `docker info` by the CLI,
// and the Targets view's status of the swarm (nodes, resources, labels, what the lab runs there)
// against `docker node ls` by the CLI and against the manager's bare GET /nodes. Needs the test
// cluster up (MLLAB_SWARM_KEEP=1 bash scripts/run-cluster-tests.sh, or bash scripts/test-cluster.sh up).
import { spawnSync } from 'child_process';
import { performance } from 'perf_hooks';
import { SWARM_API as API, swarmManager } from './cluster-manager';
import { startBackend, tempHome } from './http-bench';
import { median, report } from './stats';

const RUNS = Number(process.env.MLLAB_BENCH_CLUSTER_RUNS ?? 7);

async function timed(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function cli(...args: string[]): void {
  const r = spawnSync('docker', args, { env: { ...process.env, DOCKER_HOST: API }, stdio: 'ignore' });
  if (r.status !== 0) {
    throw new Error(`docker ${args.join(' ')}: exit ${r.status}`);
  }
}

export async function clusterTargetsBench(): Promise<void> {
  const docker = await swarmManager('cluster targets');
  if (!docker) {
    return;
  }
  const backend = await startBackend(tempHome());
  const call = async (method: string, path: string, body?: object) => {
    const res = await fetch(`http://127.0.0.1:${backend.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${backend.token!}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (res.status >= 300) {
      throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    }
    return res.text();
  };
  try {
    const add: number[] = [];
    const info: number[] = [];
    // one round more than measured: the first warms the connections and the CLI's files
    for (let i = 0; i <= RUNS; i++) {
      const ours = await timed(() => call('POST', '/api/targets', { name: 'cluster', dockerHost: API }));
      const reference = await timed(() => cli('info'));
      if (i > 0) {
        add.push(ours);
        info.push(reference);
      }
      if (i < RUNS) {
        await call('DELETE', '/api/targets/cluster');
      }
    }
    report('adding a Swarm target, engine asked (median)', median(add), median(info), 'ms', 'docker info by the CLI');
    const status: number[] = [];
    const nodeLs: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const ours = await timed(() => call('GET', '/api/targets/cluster'));
      const reference = await timed(() => cli('node', 'ls'));
      const api = await timed(() => docker.listNodes());
      if (i > 0) {
        status.push(ours);
        nodeLs.push(reference);
        bare.push(api);
      }
    }
    report(
      'status of a 3-node swarm with its workloads (median)',
      median(status),
      median(nodeLs),
      'ms',
      'docker node ls by the CLI',
    );
    report(
      'status of a 3-node swarm with its workloads (median)',
      median(status),
      median(bare),
      'ms',
      'bare GET /nodes',
    );
  } finally {
    await backend.stop();
  }
}

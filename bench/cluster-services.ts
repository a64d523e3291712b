// Services and model deployments on a Swarm cluster, side by side with their references:
// - the push of the model server image by the lab (pushToRegistry) against `docker push` of the same
//   image to the same registry, in turn: a registry of its own (Debian's docker-registry on a free
//   loopback port, as the cluster's), where each push goes to a repository of its own whose layer
//   links are deleted afterwards, so that no push finds its layers there or mounts them from another
//   repository: every push uploads the whole image;
// - a rolling update of a 3-replica model deployment (its alias moved) under 200 requests a second
//   through the lab's endpoint: errors, and p99 latency during the update against the steady state
//   just before it.
// Needs the test cluster up (MLLAB_SWARM_KEEP=1 bash scripts/run-cluster-tests.sh) and dist/ built.
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import Docker from 'dockerode';
import * as fs from 'fs';
import * as http from 'http';
import type * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { modelServerTag } from '../src/backend/models/deploy';
import { pushToRegistry, splitImage } from '../src/backend/runtime/registry-push';
import { ApiClient } from '../src/client/api-client';
import type { Service } from '../src/protocol/containers';
import { labelReach } from '../test/cluster/reach';
import { SWARM_API as API, swarmManager } from './cluster-manager';
import { startBackend, tempHome } from './http-bench';
import { median, percentile, report } from './stats';

const REGISTRY = process.env.MLLAB_SWARM_REGISTRY ?? '127.0.0.1:5000';
const WEB_PORT = Number(process.env.MLLAB_SWARM_WEB_PORT ?? 18080);
const SKLEARN = 'mllab-test/python-sklearn:1';
const REPO = path.resolve(__dirname, '..', '..');
const PUSH_RUNS = Number(process.env.MLLAB_BENCH_PUSH_RUNS ?? 3);
const RATE = Number(process.env.MLLAB_BENCH_UPDATE_RPS ?? 200);
const STEADY_SECONDS = 15;

/** The model server image of the test base image, built as the lab builds it when it is not there. */
function serverImage(): string {
  const tag = modelServerTag(SKLEARN);
  const r = spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore' });
  if (r.status !== 0) {
    const build = spawnSync(
      'docker',
      ['build', '-q', '--build-arg', `BASE_IMAGE=${SKLEARN}`, '-t', tag, path.join(REPO, 'resources', 'model-server')],
      { stdio: 'inherit' },
    );
    if (build.status !== 0) {
      throw new Error(`building ${tag} failed`);
    }
  }
  return tag;
}

/** A registry of the bench's own on a free loopback port, its storage in a temporary folder. */
async function startRegistry(): Promise<{ address: string; stop: () => void }> {
  const port = await new Promise<number>((resolve) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-bench-registry-'));
  fs.writeFileSync(
    path.join(dir, 'config.yml'),
    `version: 0.1\nstorage: {filesystem: {rootdirectory: ${dir}/data}, delete: {enabled: true}}\nhttp: {addr: "127.0.0.1:${port}"}\n`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  const address = `127.0.0.1:${port}`;
  await until(
    () =>
      fetch(`http://${address}/v2/`).then(
        (r) => (r.ok ? true : undefined),
        () => undefined,
      ),
    20_000,
    'the bench registry answering',
  );
  return {
    address,
    stop: () => {
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The digests of an image's manifest, config and layers in a registry repository. */
async function blobsOf(registry: string, repo: string, tag: string): Promise<string[]> {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  const manifest = (await res.json()) as { config: { digest: string }; layers: { digest: string }[] };
  return [manifest.config.digest, ...manifest.layers.map((l) => l.digest)];
}

/** Unlinks a repository's blobs, so that no later push mounts them from it (a fresh upload each time). */
async function forget(registry: string, repo: string, tag: string): Promise<void> {
  for (const digest of await blobsOf(registry, repo, tag)) {
    await fetch(`http://${registry}/v2/${repo}/blobs/${digest}`, { method: 'DELETE' });
  }
}

async function pushes(local: Docker, image: string): Promise<void> {
  const { tag } = splitImage(image);
  const registry = await startRegistry();
  const REGISTRY = registry.address;
  const ours: number[] = [];
  const reference: number[] = [];
  const stamp = Date.now();
  for (let i = 0; i < PUSH_RUNS; i++) {
    const oursRepo = `bench-push/lab-${stamp}-${i}`;
    let t0 = performance.now();
    await pushToRegistry(local, image, REGISTRY, undefined, undefined, { name: oursRepo });
    ours.push(performance.now() - t0);
    await forget(REGISTRY, oursRepo, tag);

    const cliRepo = `bench-push/cli-${stamp}-${i}`;
    const tagged = `${REGISTRY}/${cliRepo}:${tag}`;
    t0 = performance.now();
    spawnSync('docker', ['tag', image, tagged], { stdio: 'ignore' });
    const r = spawnSync('docker', ['push', '-q', tagged], { stdio: 'ignore' });
    reference.push(performance.now() - t0);
    if (r.status !== 0) {
      throw new Error(`docker push ${tagged} failed`);
    }
    await forget(REGISTRY, cliRepo, tag);
    spawnSync('docker', ['rmi', tagged, `${REGISTRY}/${oursRepo}:${tag}`], { stdio: 'ignore' });
  }
  registry.stop();
  const size = (await local.getImage(image).inspect()).Size;
  report(
    `model server image push (${(size / 1e6).toFixed(0)} MB) to a registry (${PUSH_RUNS} each, in turn, median)`,
    median(ours),
    median(reference),
    'ms',
    'docker push',
  );
}

interface Sample {
  at: number;
  ms: number;
  ok: boolean;
  /** why not ok: the status and body, or the error */
  why?: string;
}

/** POST /predict at `rate` a second until stopped; each request's start time, latency and outcome. */
function predictLoad(port: number, rate: number): { stop: () => Promise<Sample[]> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const samples: Sample[] = [];
  const inFlight = new Set<Promise<void>>();
  const body = JSON.stringify({ inputs: [[1, 2]] });
  const t0 = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    // as many as the schedule asks by now: a late tick does not lower the rate
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    for (; sent < due; sent++) {
      const at = performance.now();
      const p = new Promise<void>((resolve) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: '/predict',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': body.length },
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => {
              const ok = res.statusCode === 200;
              samples.push({ at, ms: performance.now() - at, ok, ...(ok ? {} : { why: `${res.statusCode} ${text}` }) });
              resolve();
            });
          },
        );
        req.on('error', (e) => {
          samples.push({ at, ms: performance.now() - at, ok: false, why: e.message });
          resolve();
        });
        req.end(body);
      }).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  }, 2);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      agent.destroy();
      return samples;
    },
  };
}

const p99 = (s: readonly Sample[]) =>
  percentile(
    s.map((x) => x.ms).sort((a, b) => a - b),
    99,
  );

async function until<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) {
      return v;
    }
    if (Date.now() > end) {
      throw new Error(`${what} not met in ${ms} ms`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function rollingUpdate(docker: Docker): Promise<void> {
  await labelReach(docker, 8080, (i) => WEB_PORT + i - 1);
  // a new replica is seen healthy as soon as it answers; one that never does fails after 10 s
  process.env.MLLAB_HEALTH_START_PERIOD_MS ??= '10000';
  const home = tempHome();
  const backend = await startBackend(home);
  const client = new ApiClient(backend.port, backend.token!);
  try {
    const project = await client.createProject('bench');
    await client.setActiveProject(project.id);
    await client.request('POST', '/api/targets', { name: 'cluster', dockerHost: API, registry: REGISTRY });
    for (const answer of ['v1', 'v2']) {
      const dir = fs.mkdtempSync(path.join(path.dirname(home), 'model-'));
      fs.writeFileSync(
        path.join(dir, 'model.py'),
        `def predict(rows):\n    return [${JSON.stringify(answer)} for _ in rows]\n`,
      );
      await client.registerModel({
        name: 'bench-model',
        path: path.join(dir, 'model.py'),
        entryPoint: 'model:predict',
      });
    }
    await client.setModelAlias('bench-model', 'production', 1);
    const deployed = await client.deployModel('bench-model', {
      version: 'production',
      baseImage: SKLEARN,
      target: 'cluster',
      replicas: 3,
    });
    const settled = (s: Service) =>
      s.status === 'healthy' && s.replicaStatus?.running === 3 && !s.replicaStatus.update?.state.endsWith('updating');
    await until(
      async () => ((s) => (settled(s) ? s : undefined))(await client.getService(deployed.name)),
      300_000,
      'deployed',
    );
    const port = deployed.endpointPort!;

    // a warm-up first: the replicas' first requests (imports, connections) are not the steady state
    let load = predictLoad(port, RATE);
    await new Promise((r) => setTimeout(r, 5000));
    await load.stop();
    load = predictLoad(port, RATE);
    await new Promise((r) => setTimeout(r, STEADY_SECONDS * 1000));
    const steady = await load.stop();

    load = predictLoad(port, RATE);
    const t0 = performance.now();
    await client.setModelAlias('bench-model', 'production', 2);
    const done = await until(
      async () => {
        const s = await client.getService(deployed.name);
        return s.replicaStatus?.update?.state === 'completed' && settled(s) ? s : undefined;
      },
      300_000,
      'update completed',
    );
    const updateMs = performance.now() - t0;
    const during = await load.stop();
    const failed = [...steady, ...during].filter((s) => !s.ok);
    const errors = failed.length;
    if (failed.length > 0) {
      process.stdout.write(`errors: ${[...new Set(failed.map((s) => s.why))].slice(0, 5).join('; ')}\n`);
    }
    process.stdout.write(
      `rolling update of 3 model replicas under ${RATE} req/s: ${during.length} requests in ${(updateMs / 1000).toFixed(1)} s, ${errors} errors; now serving ${done.env.MLLAB_MODEL_VERSION_ID === deployed.env.MLLAB_MODEL_VERSION_ID ? 'the old version (not updated!)' : 'the new version'}\n`,
    );
    report(
      `p99 latency during the rolling update (${RATE} req/s)`,
      p99(during),
      p99(steady),
      'ms',
      `steady state, ${STEADY_SECONDS} s just before`,
    );
    await client.deleteService(deployed.name);
  } finally {
    client.dispose();
    const left = await docker.listServices({ filters: { label: [`dev.mllab.home=${home}`] } }).catch(() => []);
    for (const s of left) {
      await docker
        .getService(s.ID)
        .remove()
        .catch(() => undefined);
    }
    await backend.stop();
    fs.rmSync(path.dirname(home), { recursive: true, force: true });
  }
}

export async function clusterServicesBench(): Promise<void> {
  const docker = await swarmManager('cluster services');
  if (!docker) {
    return;
  }
  // MLLAB_BENCH_CLUSTER_SERVICES_ONLY=push|update runs one part
  const only = process.env.MLLAB_BENCH_CLUSTER_SERVICES_ONLY;
  if (!only || only === 'push') {
    await pushes(new Docker(), serverImage());
  }
  if (!only || only === 'update') {
    await rollingUpdate(docker);
  }
}

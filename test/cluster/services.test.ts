import * as assert from 'assert';
import Docker from 'dockerode';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { pushToRegistry } from '../../src/backend/runtime/registry-push';
import type { PullProgress } from '../../src/backend/runtime/runtime';
import type { ApiClient } from '../../src/client/api-client';
import type { Service } from '../../src/protocol/containers';
import { BUSYBOX, httpGet, labBackend, until } from '../unit/docker-helpers';
import { tempHome } from '../unit/helpers';
import { swarmApi, swarmDockerHost, swarmRegistry, swarmWebPort } from './fixture';
import { labelReach, NODES } from './reach';

const SKLEARN = 'mllab-test/python-sklearn:1';

/** A port on 127.0.0.1 that nothing listens on (a registry that is not there). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('cluster: images pushed to the target registry', () => {
  const local = new Docker();

  it('tags and pushes a local image, with progress, and answers its digest as the registry knows it', async () => {
    const progress: PullProgress[] = [];
    const tag = `s14-${Date.now()}`;
    const pushed = await pushToRegistry(local, BUSYBOX, swarmRegistry(), (p) => progress.push(p), undefined, {
      name: 's14/busybox',
      tag,
    });
    assert.match(pushed.digest, /^sha256:[a-f0-9]{64}$/);
    assert.strictEqual(pushed.reference, `${swarmRegistry()}/s14/busybox@${pushed.digest}`);
    assert.strictEqual(pushed.tagged, `${swarmRegistry()}/s14/busybox:${tag}`);
    assert.ok(progress.length > 0, 'no progress was reported');
    // the registry serves that very manifest under the digest
    const res = await fetch(`http://${swarmRegistry()}/v2/s14/busybox/manifests/${pushed.digest}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.strictEqual(res.status, 200);
    assert.strictEqual(res.headers.get('docker-content-digest'), pushed.digest);
  });

  it('says which registry refused the push and what to check when nothing answers there', async () => {
    const port = await closedPort();
    await assert.rejects(
      pushToRegistry(local, BUSYBOX, `127.0.0.1:${port}`, undefined, undefined, { name: 's14/refused' }),
      (e: Error & { code?: string }) => {
        assert.strictEqual(e.code, 'registry_refused');
        assert.match(e.message, new RegExp(`registry 127\\.0\\.0\\.1:${port} refused the push of ${BUSYBOX}`));
        assert.match(e.message, /Check that the registry runs/);
        return true;
      },
    );
  });

  it('refuses a registry address with a scheme before anything is pushed', async () => {
    await assert.rejects(pushToRegistry(local, BUSYBOX, 'http://127.0.0.1:5000'), /not a registry address/);
  });
});

const TARGET = 's14-swarm';

function post(port: number, urlPath: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * Requests at `perSecond` until stopped: each answer's status and body are counted, an error (no
 * answer) is a failure too.
 */
function load(
  port: number,
  perSecond: number,
): { stop: () => Promise<{ ok: number; failed: string[]; bodies: Map<string, number> }> } {
  const failed: string[] = [];
  const bodies = new Map<string, number>();
  let ok = 0;
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const p = post(port, '/predict', { inputs: [[1, 2]] })
      .then((r) => {
        if (r.status === 200) {
          ok++;
          bodies.set(r.body, (bodies.get(r.body) ?? 0) + 1);
        } else {
          failed.push(`${r.status} ${r.body}`);
        }
      })
      .catch((e: Error) => void failed.push(e.message))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / perSecond);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      return { ok, failed, bodies };
    },
  };
}

describe('cluster: services on a Swarm target', function () {
  this.timeout(300_000);
  const docker = new Docker(swarmApi());
  let home: { home: string; cleanup: () => void };
  let lab: { backend: Backend; client: ApiClient };

  before(async () => {
    // a replica that never turns healthy fails after 4 s plus three checks, not after a minute
    process.env.MLLAB_HEALTH_START_PERIOD_MS = '4000';
    home = tempHome();
    lab = await labBackend(home.home);
    await labelReach(docker, 8080, swarmWebPort);
    await lab.client.request('POST', '/api/targets', {
      name: TARGET,
      dockerHost: swarmDockerHost(),
      registry: swarmRegistry(),
    });
  });

  after(async () => {
    delete process.env.MLLAB_HEALTH_START_PERIOD_MS;
    for (const s of await lab.client.listServices()) {
      await lab.client.deleteService(s.name).catch(() => undefined);
    }
    lab.client.dispose();
    await lab.backend.stop('test done');
    home.cleanup();
  });

  async function waitFor(name: string, what: string, test: (s: Service) => boolean, ms = 90_000): Promise<Service> {
    let last: Service | undefined;
    return until(
      async () => {
        last = await lab.client.getService(name);
        return test(last) ? last : undefined;
      },
      ms,
      `service ${name}: ${what}`,
    ).catch((e: Error) => {
      throw new Error(
        `${e.message}: it is ${last?.status} (${last?.reason ?? ''}) ${JSON.stringify(last?.replicaStatus)}`,
      );
    });
  }

  const running = (n: number) => (s: Service) =>
    s.status === 'healthy' &&
    s.replicaStatus?.running === n &&
    s.replicaStatus.desired === n &&
    s.replicaStatus.replicas.length === n;

  it('runs 3 replicas spread over the 3 nodes, each answering on its node, and scales them down and up', async () => {
    const deployed = await lab.client.deployService({
      name: 's14-web',
      image: BUSYBOX,
      target: TARGET,
      replicas: 3,
      ports: ['8080:8080'],
      healthPath: '/health',
      // Swarm fills in the node's name: each replica says where it runs
      env: { NODE: '{{.Node.Hostname}}' },
      command: [
        'sh',
        '-c',
        'mkdir -p /www && echo "$NODE" > /www/index.html && echo ok > /www/health && exec httpd -f -p 8080 -h /www',
      ],
    });
    assert.strictEqual(deployed.target, TARGET);
    // the local image was pushed to the target's registry and is run by digest
    assert.match(
      deployed.image,
      new RegExp(`^${swarmRegistry().replace(/\./g, '\\.')}/mllab-test/busybox@sha256:[a-f0-9]{64}$`),
    );
    const up = await waitFor('s14-web', '3 healthy replicas', running(3));
    assert.deepStrictEqual(
      up.replicaStatus!.replicas.map((r) => r.node),
      NODES,
    );
    for (const [i, node] of NODES.entries()) {
      const page = await httpGet(swarmWebPort(i + 1), '/');
      assert.deepStrictEqual([page.status, page.body.trim()], [200, node]);
    }

    await lab.client.scaleService('s14-web', 1);
    const one = await waitFor('s14-web', '1 replica', running(1));
    assert.strictEqual(one.replicas, 1);
    // the replicas scaled away stop (Swarm stops them after the lab stopped counting them)
    await until(
      async () => {
        const answering = await Promise.all(
          NODES.map((_, i) =>
            httpGet(swarmWebPort(i + 1), '/').then(
              (r) => r.status === 200,
              () => false,
            ),
          ),
        );
        return answering.filter(Boolean).length === 1 ? true : undefined;
      },
      60_000,
      'one node answering',
    );

    await lab.client.scaleService('s14-web', 2);
    const two = await waitFor('s14-web', '2 replicas', running(2));
    assert.strictEqual(new Set(two.replicaStatus!.replicas.map((r) => r.node)).size, 2);

    // a local service cannot be scaled, and scaling says why
    await assert.rejects(
      lab.client.deployService({ name: 's14-local', image: BUSYBOX, replicas: 2 }),
      /need a Swarm target/,
    );
    await lab.client.deleteService('s14-web');
    const left = await docker.listServices({ filters: { label: [`dev.mllab.id=${deployed.id}`] } });
    assert.deepStrictEqual(left, []);
  });

  /** A model file that is its own predict() entry point, answering `answer` for every row. */
  function modelFile(answer: string, broken = false): string {
    const dir = fs.mkdtempSync(path.join(home.home, 'model-'));
    const file = path.join(dir, 'model.py');
    fs.writeFileSync(
      file,
      broken
        ? 'raise RuntimeError("this version cannot load")\n'
        : `def predict(rows):\n    return [${JSON.stringify(answer)} for _ in rows]\n`,
    );
    return file;
  }

  it('rolls a deployment of an alias to the version it moves to with no failed request, and rolls a failing one back by itself', async () => {
    const c = lab.client;
    for (const [answer, broken] of [
      ['v1', false],
      ['v2', false],
      ['v3', true],
    ] as const) {
      await c.registerModel({ name: 's14-model', path: modelFile(answer, broken), entryPoint: 'model:predict' });
    }
    await c.setModelAlias('s14-model', 'production', 1);
    const deployed = await c.deployModel('s14-model', {
      version: 'production',
      baseImage: SKLEARN,
      target: TARGET,
      replicas: 3,
    });
    const port = deployed.endpointPort!;
    await waitFor(deployed.name, '3 healthy replicas', running(3), 180_000);
    assert.strictEqual((await post(port, '/predict', { inputs: [[1, 2]] })).body, '{"predictions": ["v1"]}');

    // production -> v2 under load: every request answered, by v1 and then by v2
    let traffic = load(port, 75);
    await c.setModelAlias('s14-model', 'production', 2);
    await waitFor(
      deployed.name,
      'v2 on 3 replicas',
      (s) => running(3)(s) && s.replicaStatus!.update?.state === 'completed',
      180_000,
    );
    let seen = await traffic.stop();
    assert.deepStrictEqual(seen.failed, []);
    assert.deepStrictEqual([...seen.bodies.keys()].sort(), ['{"predictions": ["v1"]}', '{"predictions": ["v2"]}']);
    assert.ok(seen.ok > 100, `only ${seen.ok} requests were answered`);
    const v2 = await c.getService(deployed.name);
    assert.ok(new Set(v2.replicaStatus!.replicas.map((r) => r.image)).size === 1);

    // production -> v3, which never turns healthy: Swarm rolls back to v2 by itself, and v2 keeps answering
    traffic = load(port, 50);
    await c.setModelAlias('s14-model', 'production', 3);
    const back = await waitFor(
      deployed.name,
      'rolled back',
      (s) => s.replicaStatus?.update?.state === 'rollback_completed' && running(3)(s),
      180_000,
    );
    seen = await traffic.stop();
    assert.match(back.reason ?? '', /the update was rolled back/);
    assert.strictEqual(back.image, v2.image);
    assert.strictEqual(back.env.MLLAB_MODEL_VERSION_ID, v2.env.MLLAB_MODEL_VERSION_ID);
    assert.deepStrictEqual(seen.failed, []);
    assert.deepStrictEqual([...seen.bodies.keys()], ['{"predictions": ["v2"]}']);
  });
});

import * as assert from 'assert';
import { execFileSync } from 'child_process';
import Docker from 'dockerode';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import type { TargetStatus } from '../../src/protocol/targets';
import { errorOf, raw, startBackend, tempHome } from '../unit/helpers';
import { swarmApi, swarmDockerHost, swarmRegistry } from './fixture';

const REPO = path.resolve(__dirname, '..', '..', '..');
/** the image of the test cluster's nodes (scripts/test-cluster.sh), which runs one more engine here */
const NODE_IMAGE = 'mllab-test/swarm-node:1';
/** a prefix of this file's objects on the shared engines, so that no other test's are touched */
const PREFIX = 'mllab-t-targets';

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate it signed, in `dir` (as `docker` names them). */
function makeEngineCertificates(dir: string, caName = 'ca'): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${caName}`,
    '-keyout',
    `${caName}-key.pem`,
    '-out',
    `${caName}.pem`,
  );
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ]) {
    fs.writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
    openssl(
      dir,
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}-key.pem`,
      '-out',
      `${name}.csr`,
    );
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${caName}.pem`,
      '-CAkey',
      `${caName}-key.pem`,
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  }
}

/** A port of 127.0.0.1 that nothing listens on (taken, then given back). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * One more Docker Engine in a container from the cluster's node image, listening with TLS on a port
 * published on 127.0.0.1 only (the flags of scripts/test-cluster.sh start_node): a remote engine.
 */
async function startTlsEngine(docker: Docker, certs: string): Promise<{ container: Docker.Container; port: number }> {
  const name = `${PREFIX}-tls-engine`;
  await docker
    .getContainer(name)
    .remove({ force: true, v: true })
    .catch(() => undefined);
  const container = await docker.createContainer({
    name,
    Image: NODE_IMAGE,
    Entrypoint: ['/entry'],
    Cmd: [
      '-H',
      'unix:///var/run/docker.sock',
      '-H',
      'tcp://0.0.0.0:2376',
      '--tlsverify',
      '--tlscacert',
      '/certs/ca.pem',
    ].concat(['--tlscert', '/certs/server.pem', '--tlskey', '/certs/server-key.pem', '--storage-driver', 'overlay2']),
    Labels: { 'dev.mllab.test': 'targets' },
    ExposedPorts: { '2376/tcp': {} },
    Volumes: { '/var/lib/docker': {} },
    HostConfig: {
      Binds: [`${path.join(REPO, 'scripts', 'lib', 'swarm-node-entry.sh')}:/entry:ro`, `${certs}:/certs:ro`],
      PortBindings: { '2376/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] },
      CapAdd: ['ALL'],
      CapDrop: ['SYS_RESOURCE'],
      // what `docker run --security-opt systempaths=unconfined` sends
      SecurityOpt: ['seccomp=unconfined'],
      MaskedPaths: [],
      ReadonlyPaths: [],
      DeviceCgroupRules: ['a *:* rwm'],
    },
  });
  await container.start();
  const info = await container.inspect();
  const port = Number(info.NetworkSettings.Ports['2376/tcp']?.[0]?.HostPort);
  return { container, port };
}

describe('targets on a real swarm and a remote engine over TLS', () => {
  const local = new Docker();
  const manager = new Docker(swarmApi());
  let backend: Backend;
  let cleanup: () => void;
  let dir: string;
  let home: string;
  let tls: { container: Docker.Container; port: number } | undefined;

  const api = (method: string, url: string, body?: object) =>
    raw(backend.port, method, url, body === undefined ? {} : { body: JSON.stringify(body) });

  /** POST /api/targets, then GET it until the engine answers (a nested engine takes seconds to start) */
  async function addWhenUp(body: object, ms = 60_000): Promise<TargetStatus> {
    const end = Date.now() + ms;
    for (;;) {
      const res = await api('POST', '/api/targets', body);
      if (res.status === 201) {
        return res.json() as TargetStatus;
      }
      if (Date.now() > end || errorOf(res).code !== 'target_unreachable') {
        assert.fail(`adding ${JSON.stringify(body)}: ${res.status} ${res.text}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  before(async function () {
    this.timeout(120_000);
    const t = tempHome();
    cleanup = t.cleanup;
    home = t.home;
    dir = path.join(path.dirname(t.home), 'certs');
    fs.mkdirSync(dir, { recursive: true });
    makeEngineCertificates(dir);
    fs.mkdirSync(path.join(dir, 'other'));
    makeEngineCertificates(path.join(dir, 'other'));
    tls = await startTlsEngine(local, dir);
    backend = await startBackend(t.home);
  });

  after(async function () {
    this.timeout(60_000);
    await backend?.stop('test over');
    await tls?.container.remove({ force: true, v: true }).catch(() => undefined);
    cleanup?.();
  });

  it('adds the swarm by its manager: kind swarm, its three nodes ready with CPUs, memory and engine version', async () => {
    const status = await addWhenUp({
      name: `${PREFIX}-swarm`,
      dockerHost: swarmDockerHost(),
      registry: '127.0.0.1:5000',
    });
    assert.strictEqual(status.target.kind, 'swarm');
    assert.strictEqual(status.target.registry, '127.0.0.1:5000');
    assert.strictEqual(status.available, true);
    const swarm = await manager.listNodes();
    assert.deepStrictEqual(status.nodes.map((n) => n.id).sort(), swarm.map((n) => n.ID).sort());
    assert.deepStrictEqual(
      status.nodes.map((n) => [n.role, n.state]),
      [
        ['manager', 'ready'],
        ['worker', 'ready'],
        ['worker', 'ready'],
      ],
    );
    for (const node of status.nodes) {
      const real = swarm.find((n) => n.ID === node.id)!;
      assert.strictEqual(node.name, real.Description?.Hostname);
      assert.strictEqual(node.cpus, (real.Description?.Resources?.NanoCPUs ?? 0) / 1e9);
      assert.ok(node.cpus > 0);
      assert.strictEqual(node.memoryBytes, real.Description?.Resources?.MemoryBytes);
      assert.ok(node.memoryBytes > 0);
      assert.strictEqual(node.engineVersion, real.Description?.Engine?.EngineVersion);
    }
    const list = (await api('GET', '/api/targets')).json() as TargetStatus[];
    assert.deepStrictEqual(
      list.map((t) => [t.target.name, t.target.kind, t.available]),
      [
        ['local', 'docker', true],
        [`${PREFIX}-swarm`, 'swarm', true],
      ],
    );
  });

  it('shows a node label set with the Engine API', async () => {
    const [node] = (await manager.listNodes()).filter((n) => n.Spec?.Role === 'worker');
    const handle = manager.getNode(node.ID);
    const label = `${PREFIX}.zone`;
    const update = async (labels: Record<string, string>) => {
      const current = (await handle.inspect()) as { Version: { Index: number }; Spec: Record<string, unknown> };
      await handle.update({ version: current.Version.Index, ...current.Spec, Labels: labels });
    };
    const before = node.Spec?.Labels ?? {};
    await update({ ...before, [label]: 'eu-1' });
    try {
      const status = (await api('GET', `/api/targets/${PREFIX}-swarm`)).json() as TargetStatus;
      assert.strictEqual(status.nodes.find((n) => n.id === node.ID)?.labels[label], 'eu-1');
      assert.ok(status.nodes.filter((n) => n.id !== node.ID).every((n) => !(label in n.labels)));
    } finally {
      await update(before);
    }
  });

  it("lists what the lab runs on each node: the running tasks of services labelled with the lab's home", async () => {
    // the busybox test image, pushed to the cluster's registry for the nodes to pull
    const image = `${swarmRegistry()}/${PREFIX}/busybox`;
    await local.getImage('mllab-test/busybox:1').tag({ repo: image, tag: '1' });
    // a registry without login still needs the header: an empty one
    const push = await local.getImage(`${image}:1`).push({ authconfig: {} });
    await new Promise((resolve, reject) => local.modem.followProgress(push, (e) => (e ? reject(e) : resolve(null))));
    const labels = {
      'dev.mllab.home': home,
      'dev.mllab.kind': 'service',
      'dev.mllab.id': 'svc-1',
      'dev.mllab.project': 'p-1',
    };
    const name = `${PREFIX}-workload`;
    const service = await manager.createService({
      Name: name,
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: { Image: `${image}:1`, Command: ['sleep', '600'] },
        Placement: { Constraints: ['node.role==worker'] },
      },
      Mode: { Replicated: { Replicas: 1 } },
    });
    // the same labels under another lab's home: not this lab's
    const foreign = await manager.createService({
      Name: `${PREFIX}-foreign`,
      Labels: { ...labels, 'dev.mllab.home': '/elsewhere/.mllab', 'dev.mllab.id': 'svc-2' },
      TaskTemplate: { ContainerSpec: { Image: `${image}:1`, Command: ['sleep', '600'] } },
      Mode: { Replicated: { Replicas: 1 } },
    });
    try {
      const end = Date.now() + 90_000;
      let node: TargetStatus['nodes'][number] | undefined;
      while (!node) {
        assert.ok(Date.now() < end, 'the service task did not run');
        const status = (await api('GET', `/api/targets/${PREFIX}-swarm`)).json() as TargetStatus;
        node = status.nodes.find((n) => n.workloads.length > 0);
        if (node) {
          const tasks = (await manager.listTasks({
            filters: { service: [service.id], 'desired-state': ['running'] },
          })) as {
            NodeID: string;
          }[];
          assert.deepStrictEqual(
            status.nodes.filter((n) => n.workloads.length > 0).map((n) => n.id),
            [tasks[0].NodeID],
          );
          assert.strictEqual(node.role, 'worker');
          assert.deepStrictEqual(node.workloads, [{ kind: 'service', id: 'svc-1', name, projectId: 'p-1' }]);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await manager.getService(service.id).remove();
      await manager.getService(foreign.id).remove();
    }
  });

  it('adds a remote engine over TLS (tcp:// with CA, certificate and key) and lists its one node', async () => {
    const status = await addWhenUp({
      name: `${PREFIX}-tls`,
      dockerHost: `tcp://127.0.0.1:${tls!.port}`,
      tls: {
        caFile: path.join(dir, 'ca.pem'),
        certFile: path.join(dir, 'client.pem'),
        keyFile: path.join(dir, 'client-key.pem'),
      },
    });
    assert.strictEqual(status.target.kind, 'docker');
    assert.deepStrictEqual(status.target.tls, {
      caFile: path.join(dir, 'ca.pem'),
      certFile: path.join(dir, 'client.pem'),
      keyFile: path.join(dir, 'client-key.pem'),
    });
    assert.strictEqual(status.nodes.length, 1);
    const info = await tls!.container.inspect();
    assert.strictEqual(status.nodes[0].name, info.Config.Hostname);
    assert.strictEqual(status.nodes[0].state, 'ready');
    assert.ok(status.nodes[0].cpus > 0 && status.nodes[0].memoryBytes > 0);
    assert.match(status.nodes[0].engineVersion, /^\d+\.\d+/);
  });

  it('refuses the TLS engine with a CA that did not sign its certificate, naming TLS, and keeps nothing', async () => {
    const res = await api('POST', '/api/targets', {
      name: `${PREFIX}-wrong-ca`,
      dockerHost: `tcp://127.0.0.1:${tls!.port}`,
      tls: {
        caFile: path.join(dir, 'other', 'ca.pem'),
        certFile: path.join(dir, 'client.pem'),
        keyFile: path.join(dir, 'client-key.pem'),
      },
    });
    assert.strictEqual(res.status, 400);
    assert.strictEqual(errorOf(res).code, 'target_tls');
    assert.match(errorOf(res).message, /TLS with the engine at tcp:\/\/127\.0\.0\.1:\d+ failed .*--tls-ca/);
    const without = await api('POST', '/api/targets', {
      name: `${PREFIX}-no-tls`,
      dockerHost: `tcp://127.0.0.1:${tls!.port}`,
    });
    assert.strictEqual(without.status, 400);
    assert.strictEqual(errorOf(without).code, 'target_tls_required');
    const names = ((await api('GET', '/api/targets')).json() as TargetStatus[]).map((t) => t.target.name);
    assert.deepStrictEqual(names, ['local', `${PREFIX}-swarm`, `${PREFIX}-tls`]);
  });

  it('refuses a host that does not answer and an HTTP server that is not an engine', async () => {
    const closed = await api('POST', '/api/targets', {
      name: `${PREFIX}-closed`,
      dockerHost: `tcp://127.0.0.1:${await closedPort()}`,
    });
    assert.strictEqual(closed.status, 400);
    assert.strictEqual(errorOf(closed).code, 'target_unreachable');
    assert.match(errorOf(closed).message, /does not answer \(ECONNREFUSED/);
    const web = http.createServer((_req, res) =>
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not here</h1>'),
    );
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    try {
      const port = (web.address() as net.AddressInfo).port;
      const res = await api('POST', '/api/targets', { name: `${PREFIX}-web`, dockerHost: `tcp://127.0.0.1:${port}` });
      assert.strictEqual(res.status, 400);
      assert.strictEqual(errorOf(res).code, 'target_not_docker');
      assert.match(errorOf(res).message, /answered, but not as a Docker Engine \(HTTP 404/);
    } finally {
      web.close();
    }
    assert.strictEqual((await api('GET', `/api/targets/${PREFIX}-closed`)).status, 404);
  });

  it('makes the swarm a project default, then removes the targets (the project goes back to local)', async () => {
    const project = (await api('POST', '/api/projects', { name: `${PREFIX}-project` })).json() as { id: string };
    const set = await api('PUT', `/api/projects/${project.id}/target`, { target: `${PREFIX}-swarm` });
    assert.strictEqual(set.status, 200, set.text);
    assert.deepStrictEqual((await api('GET', `/api/projects/${project.id}/target`)).json(), {
      projectId: project.id,
      target: `${PREFIX}-swarm`,
    });
    for (const name of [`${PREFIX}-swarm`, `${PREFIX}-tls`]) {
      assert.strictEqual((await api('DELETE', `/api/targets/${name}`)).status, 204);
    }
    assert.deepStrictEqual((await api('GET', `/api/projects/${project.id}/target`)).json(), {
      projectId: project.id,
      target: 'local',
    });
    const names = ((await api('GET', '/api/targets')).json() as TargetStatus[]).map((t) => t.target.name);
    assert.deepStrictEqual(names, ['local']);
  });
});

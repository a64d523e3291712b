import * as assert from 'assert';
import type Docker from 'dockerode';
import * as http from 'http';
import type * as net from 'net';
import { checkRegistry, splitImage } from '../../src/backend/runtime/registry-push';
import { statusOf } from '../../src/backend/services/cluster';
import { ReplicaEndpoint } from '../../src/backend/services/endpoint';
import { healthCommand, reachAddress, SwarmServiceEngine } from '../../src/backend/services/engines/swarm';
import type { Service, ServiceReplicas } from '../../src/protocol/containers';

function listen(handler: http.RequestListener): Promise<{ server: http.Server; address: string }> {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, address: `127.0.0.1:${(server.address() as net.AddressInfo).port}` }),
    );
  });
}

function freePort(): Promise<number> {
  return listen(() => undefined).then(
    ({ server, address }) => new Promise((resolve) => server.close(() => resolve(Number(address.split(':')[1])))),
  );
}

function post(port: number, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/predict', method: 'POST', agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const service = (over: Partial<Service> = {}): Service => ({
  id: '0123456789abcdef',
  projectId: 'p',
  name: 'web',
  image: 'reg:5000/web@sha256:' + 'a'.repeat(64),
  command: [],
  env: { A: '1' },
  ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80 }],
  volumes: [],
  restart: 'no',
  healthPath: '/health',
  target: 'swarm',
  replicas: 3,
  createdAt: '',
  status: 'starting',
  exitCode: null,
  reason: null,
  containerId: 'svc',
  dockerRun: '',
  restartCount: 0,
  warnings: [],
  ...over,
});

describe('services on a cluster: the lab endpoint, in front of replicas on 127.0.0.1', () => {
  const servers: http.Server[] = [];
  let endpoint: ReplicaEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    servers.splice(0).forEach((s) => s.close());
  });

  it('sends each request to a replica in turn, and a request a replica dropped to another', async () => {
    const answered = new Map<string, number>();
    const good = await listen((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        answered.set(body, (answered.get(body) ?? 0) + 1);
        res.end(`good:${body}`);
      });
    });
    // a replica being stopped: it takes the connection and closes it without an answer
    const dropping = await listen((req) => req.socket.destroy());
    servers.push(good.server, dropping.server);
    endpoint = new ReplicaEndpoint('web');
    const port = await freePort();
    await endpoint.listen(port);
    endpoint.setReplicas([good.address, dropping.address]);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post(port, `r${i}`)));
    assert.deepStrictEqual(
      answers.map((a) => `${a.status} ${a.body}`),
      Array.from({ length: 20 }, (_, i) => `200 good:r${i}`),
    );
    assert.deepStrictEqual([...answered.values()], Array(20).fill(1), 'each request answered once');
  });

  it('passes an answer on as it is (a 500 is not sent again), and waits for a replica when there is none', async () => {
    let calls = 0;
    const failing = await listen((_req, res) => {
      calls++;
      res.writeHead(500, { 'x-from': 'replica' }).end('broken');
    });
    servers.push(failing.server);
    endpoint = new ReplicaEndpoint('web');
    const port = await freePort();
    await endpoint.listen(port);
    const pending = post(port, 'x');
    // no replica yet: the request waits instead of failing
    await new Promise((r) => setTimeout(r, 300));
    endpoint.setReplicas([failing.address]);
    assert.deepStrictEqual(await pending, { status: 500, body: 'broken' });
    assert.strictEqual(calls, 1);
  });
});

describe('services on a cluster: what the lab tells Swarm and reads back', () => {
  it('pushes names without the registry host, and refuses a registry given as a URL', () => {
    assert.deepStrictEqual(splitImage('reg.lan:5000/team/model:v2'), { name: 'team/model', tag: 'v2' });
    assert.deepStrictEqual(splitImage('mllab-test/busybox'), { name: 'mllab-test/busybox', tag: 'latest' });
    assert.deepStrictEqual(splitImage('localhost/x:1'), { name: 'x', tag: '1' });
    assert.strictEqual(checkRegistry('127.0.0.1:5000/team/'), '127.0.0.1:5000/team');
    assert.throws(() => checkRegistry('https://reg:5000'), /not a registry address: write it as HOST:PORT/);
  });

  it('asks a replica its health with the tool the image has', () => {
    assert.deepStrictEqual(healthCommand('curl', 80, '/h').slice(0, 2), ['CMD', 'curl']);
    assert.ok(healthCommand('python3', 80, '/h').join(' ').includes('http://127.0.0.1:80/h'));
    assert.deepStrictEqual(healthCommand('wget', 8080, '/health'), [
      'CMD',
      'wget',
      '-q',
      '-O',
      '/dev/null',
      'http://127.0.0.1:8080/health',
    ]);
  });

  it('updates stop-first when host-mode ports stand in the way, start-first otherwise, rolling back on failure', () => {
    const engine = new SwarmServiceEngine({} as Docker, '/home', 5);
    const host = engine.specOf(service(), 'img', 'wget') as unknown as Record<string, Record<string, unknown>>;
    assert.strictEqual(host.UpdateConfig.Order, 'stop-first');
    assert.strictEqual(host.UpdateConfig.FailureAction, 'rollback');
    assert.deepStrictEqual(host.Mode, { Replicated: { Replicas: 3 } });
    const ports = (host.EndpointSpec.Ports as { PublishMode: string; PublishedPort: number }[])[0];
    assert.deepStrictEqual([ports.PublishMode, ports.PublishedPort], ['host', 8080]);
    const container = (host.TaskTemplate as { ContainerSpec: { HealthCheck?: { StartPeriod: number } } }).ContainerSpec;
    assert.strictEqual(container.HealthCheck?.StartPeriod, 5e9);
    const mesh = engine.specOf(service({ publishMode: 'ingress' }), 'img', null) as unknown as Record<
      string,
      Record<string, unknown>
    >;
    assert.strictEqual(mesh.UpdateConfig.Order, 'start-first');
    assert.strictEqual(
      (mesh.TaskTemplate as { ContainerSpec: { HealthCheck?: unknown } }).ContainerSpec.HealthCheck,
      undefined,
    );
  });

  it('reaches a node where its label says, else at its address', () => {
    const node = { ID: 'n', Status: { State: 'ready', Addr: '10.0.0.3' } };
    assert.strictEqual(reachAddress(node, 8080), '10.0.0.3:8080');
    assert.strictEqual(
      reachAddress({ ...node, Spec: { Labels: { 'dev.mllab.reach.8080': '127.0.0.1:18082' } } }, 8080),
      '127.0.0.1:18082',
    );
  });

  it('says how many replicas run, why the others do not, and when Swarm rolled an update back', () => {
    const replicas = (running: number, over: Partial<ServiceReplicas> = {}): ServiceReplicas => ({
      desired: 3,
      running,
      replicas: [
        ...Array.from({ length: running }, () => ({
          node: 'n',
          state: 'running',
          image: 'i',
          address: 'a',
          message: '',
        })),
        ...Array.from({ length: 3 - running }, () => ({
          node: '',
          state: 'pending',
          image: 'i',
          address: null,
          message: 'no suitable node (host-mode port already in use on 3 nodes)',
        })),
      ],
      update: null,
      ...over,
    });
    assert.deepStrictEqual(statusOf(service(), replicas(3)), { status: 'healthy', reason: null });
    assert.deepStrictEqual(statusOf(service(), replicas(2)), {
      status: 'starting',
      reason: '2/3 replicas running: no suitable node (host-mode port already in use on 3 nodes)',
    });
    assert.deepStrictEqual(
      statusOf(service(), replicas(3, { update: { state: 'rollback_completed', message: 'rollback completed' } })),
      { status: 'healthy', reason: 'the update was rolled back: rollback completed' },
    );
    assert.deepStrictEqual(statusOf(service(), replicas(0, { desired: 0, replicas: [] })), {
      status: 'stopped',
      reason: null,
    });
  });
});

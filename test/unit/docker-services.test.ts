import * as assert from 'assert';
import * as net from 'net';
import { BackendError } from '../../src/client/api-client';
import type { Service, ServiceStatus } from '../../src/protocol/containers';
import { dockerLabPerTest, BUSYBOX, httpGet, readStream, until } from './docker-helpers';

/** A port that is free on 127.0.0.1 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('services in a real Docker Engine', function () {
  this.timeout(60000);
  const lab = dockerLabPerTest();
  before(() => {
    // a service that never answers its health path is unhealthy after this, not after a minute
    process.env.MLLAB_HEALTH_START_PERIOD_MS = '1500';
  });
  after(() => delete process.env.MLLAB_HEALTH_START_PERIOD_MS);

  async function waitForStatus(name: string, statuses: readonly ServiceStatus[], ms = 30000): Promise<Service> {
    let last: Service | undefined;
    return until(
      async () => {
        last = await lab.client.getService(name);
        return statuses.includes(last.status) ? last : undefined;
      },
      ms,
      `service ${name} ${statuses.join('/')}`,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: it is ${last?.status} (${last?.reason ?? ''})`);
    });
  }

  /** busybox httpd serving a page, with /health. */
  const httpd = (name: string, port: number) =>
    lab.client.deployService({
      name,
      image: BUSYBOX,
      ports: [`${port}:8080`],
      env: ['GREETING=hello'],
      healthPath: '/health',
      command: [
        'sh',
        '-c',
        'mkdir -p /www && echo ok > /www/health && echo "$GREETING" > /www/index.html && httpd -f -v -p 8080 -h /www',
      ],
    });

  it('deploys a service on 127.0.0.1 that answers HTTP and becomes healthy; stop, start, restart, logs, remove', async () => {
    const port = await freePort();
    const deployed = await httpd('web', port);
    assert.strictEqual(deployed.ports[0].hostIp, '127.0.0.1');
    assert.match(
      deployed.dockerRun,
      new RegExp(`^docker run -d --name web -p 127.0.0.1:${port}:8080 -e GREETING=hello mllab-test/busybox:1 sh -c '`),
    );
    await waitForStatus('web', ['healthy']);
    assert.deepStrictEqual(await httpGet(port, '/'), { status: 200, body: 'hello\n' });
    assert.match(await readStream(await lab.client.serviceLogs('web')), /response:200/);

    assert.strictEqual((await lab.client.serviceAction('web', 'stop')).status, 'stopped');
    await assert.rejects(httpGet(port, '/'));
    assert.strictEqual((await waitForStatus('web', ['stopped', 'exited'])).status, 'stopped');
    await lab.client.serviceAction('web', 'start');
    await waitForStatus('web', ['healthy']);
    await lab.client.serviceAction('web', 'restart');
    await waitForStatus('web', ['healthy']);
    assert.strictEqual((await httpGet(port, '/')).status, 200);

    await lab.client.deleteService('web');
    assert.deepStrictEqual(await lab.client.listServices(), []);
    await assert.rejects(httpGet(port, '/'));
  });

  it('shows a service that crashes as exited, with its exit code', async () => {
    await lab.client.deployService({ name: 'crash', image: BUSYBOX, command: ['sh', '-c', 'sleep 0.3; exit 7'] });
    const s = await waitForStatus('crash', ['exited']);
    assert.strictEqual(s.exitCode, 7);
    assert.match(s.reason ?? '', /exited with code 7/);
  });

  it('marks a service whose health path fails unhealthy', async () => {
    const port = await freePort();
    await lab.client.deployService({
      name: 'sick',
      image: BUSYBOX,
      ports: [`${port}:8080`],
      healthPath: '/missing',
      command: ['sh', '-c', 'mkdir -p /www && httpd -f -p 8080 -h /www'],
    });
    const s = await waitForStatus('sick', ['unhealthy']);
    assert.match(s.reason ?? '', /does not answer with 2xx or 3xx/);
  });

  it('lists the container of a service whose project was deleted as an orphan, and cleans it up', async () => {
    const service = await lab.client.deployService({ name: 'left', image: BUSYBOX, command: ['sleep', '300'] });
    const projectId = (await lab.client.activeProject()).projectId!;
    await lab.client.deleteProject(projectId);
    const orphans = await lab.client.orphanContainers();
    assert.deepStrictEqual(
      orphans.map((o) => [o.id, o.kind, o.state]),
      [[service.containerId, 'service', 'running']],
    );
    assert.deepStrictEqual(await lab.client.removeOrphanContainers(), { removed: 1 });
    assert.deepStrictEqual(await lab.client.orphanContainers(), []);
  });

  it('refuses a port in use, an unknown image and bad ports with clear errors', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    const reject = async (p: Promise<unknown>, status: number, pattern: RegExp) => {
      const e = (await p.then(
        () => assert.fail('expected an error'),
        (err: unknown) => err,
      )) as BackendError;
      assert.ok(e instanceof BackendError, String(e));
      assert.strictEqual(e.status, status, e.message);
      assert.match(e.message, pattern);
    };
    try {
      await reject(httpd('web', port), 409, new RegExp(`port 127.0.0.1:${port} is already in use`));
    } finally {
      busy.close();
    }
    await reject(
      lab.client.deployService({ name: 'x', image: 'mllab-test/nope:1' }),
      404,
      /"mllab-test\/nope:1" is not found locally and could not be pulled/,
    );
    await reject(lab.client.deployService({ name: 'x', image: BUSYBOX, ports: ['80'] }), 400, /HOST:CONTAINER/);
    await reject(lab.client.deployService({ name: 'x', image: BUSYBOX, ports: ['99999:80'] }), 400, /1 to 65535/);
    await reject(
      lab.client.deployService({ name: 'x', image: BUSYBOX, command: ['nope-cmd'] }),
      400,
      /"nope-cmd" does not exist/,
    );
    assert.deepStrictEqual(await lab.client.listServices(), [], 'nothing is left of a failed deploy');
  });
});

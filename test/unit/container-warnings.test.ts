import * as assert from 'assert';
import { jobWarnings, serviceStatusText, serviceWarnings, warningLines } from '../../src/protocol/container-warnings';
import type { JobSpec, Service, ServiceSpec } from '../../src/protocol/containers';
import { tempHome } from './helpers';
import { activeLabProject, cli, stopBackendOf } from './process-helpers';
import { BUSYBOX, dockerLabPerTest, removeContainersOf, requireDocker, until } from './docker-helpers';

const service = (over: Partial<ServiceSpec>): ServiceSpec => ({
  name: 's',
  image: BUSYBOX,
  command: [],
  env: {},
  ports: [],
  volumes: [],
  restart: 'no',
  healthPath: null,
  ...over,
});

const job = (over: Partial<JobSpec>): JobSpec => ({
  name: 'j',
  image: BUSYBOX,
  command: [],
  env: {},
  workingDir: null,
  cpus: 1,
  memoryBytes: 512 * 1024 ** 2,
  gpus: 0,
  timeoutSeconds: null,
  ...over,
});

describe('container warnings (risky settings, allowed but shown)', () => {
  it('warns of ports published on all interfaces, not of 127.0.0.1 or one address', () => {
    const w = serviceWarnings(
      service({
        ports: [
          { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 },
          { hostIp: '::', hostPort: 8081, containerPort: 80 },
          { hostIp: '127.0.0.1', hostPort: 8082, containerPort: 80 },
          { hostIp: '192.168.1.5', hostPort: 8083, containerPort: 80 },
        ],
      }),
    );
    assert.deepStrictEqual(
      w.map((x) => /port (\d+) is published on all interfaces \(([^)]+)\)/.exec(x)?.slice(1)),
      [
        ['8080', '0.0.0.0'],
        ['8081', '::'],
      ],
    );
  });

  it('warns of the host root folder and the Docker socket, however the path is written', () => {
    const w = serviceWarnings(
      service({
        volumes: [
          { hostPath: '/', containerPath: '/host', readOnly: true },
          { hostPath: '//', containerPath: '/host2', readOnly: false },
          { hostPath: '/var/run/docker.sock', containerPath: '/s1', readOnly: false },
          { hostPath: '/run//docker.sock/', containerPath: '/s2', readOnly: true },
          { hostPath: '/data', containerPath: '/data', readOnly: false },
          { hostPath: '/var/run', containerPath: '/r', readOnly: true },
        ],
      }),
    );
    assert.strictEqual(w.length, 4, w.join('\n'));
    assert.match(w[0], /host's root folder \(\/\) at \/host, read-only: the container can read every file/);
    assert.match(w[1], /host's root folder .* can read and change every file/);
    assert.match(w[2], /Docker socket \(\/var\/run\/docker\.sock\)/);
    assert.match(w[3], /Docker socket \(\/run\/\/docker\.sock\/\)/);
  });

  it('warns of a job without a CPU or memory limit, and of the host root as its workspace', () => {
    assert.deepStrictEqual(jobWarnings(job({}), '/home/me/project'), []);
    assert.deepStrictEqual(jobWarnings(job({ cpus: null }), null), [
      "no CPU limit: a run can take all of this machine's CPU",
    ]);
    assert.deepStrictEqual(jobWarnings(job({ cpus: null, memoryBytes: null }), null), [
      "no CPU or memory limit: a run can take all of this machine's CPU and memory",
    ]);
    assert.match(jobWarnings(job({}), '/').join(), /host's root folder \(\/\) at \/workspace, read-only/);
  });

  it('says "restarting (N times)" for a crash loop, and lists warnings for a terminal', () => {
    const s = (status: Service['status'], restartCount: number, exitCode: number | null = null) =>
      serviceStatusText({ status, restartCount, exitCode });
    assert.strictEqual(s('restarting', 3, 1), 'restarting (3 times)');
    assert.strictEqual(s('restarting', 1, 1), 'restarting (1 time)');
    assert.strictEqual(s('running', 2), 'running (restarted 2 times)');
    assert.strictEqual(s('exited', 0, 1), 'exited (1)');
    assert.strictEqual(s('healthy', 0), 'healthy');
    assert.strictEqual(
      warningLines([
        { name: 'a', warnings: ['w1', 'w2'] },
        { name: 'b', warnings: [] },
      ]),
      '\nWarning: a: w1\nWarning: a: w2',
    );
  });
});

describe('container warnings and restarts in a real Docker Engine', function () {
  this.timeout(90000);
  const lab = dockerLabPerTest();

  it('answers services and jobs with their warnings (deploy, get, list)', async () => {
    // mounted read-only into a container that only sleeps; no port is published on all interfaces
    const deployed = await lab.client.deployService({
      name: 'risky',
      image: BUSYBOX,
      command: ['sleep', '600'],
      volumes: ['/:/host:ro', '/var/run/docker.sock:/var/run/docker.sock:ro'],
    });
    assert.strictEqual(deployed.warnings.length, 2, deployed.warnings.join('\n'));
    assert.match(deployed.warnings[0], /host's root folder/);
    assert.match(deployed.warnings[1], /Docker socket/);
    assert.deepStrictEqual((await lab.client.getService('risky')).warnings, deployed.warnings);
    assert.deepStrictEqual((await lab.client.listServices())[0].warnings, deployed.warnings);

    const safe = await lab.client.deployService({ name: 'safe', image: BUSYBOX, command: ['sleep', '600'] });
    assert.deepStrictEqual(safe.warnings, []);

    const unlimited = await lab.client.createJob({ name: 'unlimited', image: BUSYBOX, command: ['true'] });
    assert.deepStrictEqual(unlimited.warnings, [
      "no CPU or memory limit: a run can take all of this machine's CPU and memory",
    ]);
    const limited = await lab.client.createJob({
      name: 'limited',
      image: BUSYBOX,
      command: ['true'],
      cpus: 0.5,
      memory: '64m',
    });
    assert.deepStrictEqual(limited.warnings, []);
    const listed = await lab.client.listJobs();
    assert.deepStrictEqual(
      listed.map((j) => [j.name, j.warnings.length]),
      [
        ['limited', 0],
        ['unlimited', 1],
      ],
    );
  });

  it('shows a crash-looping "restart: always" service as restarting with the count, not exited', async () => {
    await lab.client.deployService({
      name: 'crash',
      image: BUSYBOX,
      command: ['sh', '-c', 'echo crashing; exit 1'],
      restart: 'always',
    });
    const seen = new Set<string>();
    const looping = await until(
      async () => {
        const s = await lab.client.getService('crash');
        seen.add(s.status);
        return s.status === 'restarting' && s.restartCount >= 2 ? s : undefined;
      },
      60000,
      'status restarting with a count of 2 or more',
    );
    assert.strictEqual(looping.exitCode, 1);
    assert.match(looping.reason ?? '', /exited with code 1; Docker restarts it \(restart: always\)/);
    assert.ok(!seen.has('exited'), `seen: ${[...seen].join(', ')}`);
    // the count is the engine's: it only grows
    const later = await until(
      async () => {
        const s = await lab.client.getService('crash');
        return s.restartCount > looping.restartCount ? s : undefined;
      },
      60000,
      'a higher restart count',
    );
    assert.ok(later.restartCount > looping.restartCount);
    // a person stopping it ends the loop: stopped, not restarting
    await lab.client.serviceAction('crash', 'stop');
    const stopped = await until(
      async () => {
        const s = await lab.client.getService('crash');
        return s.status === 'stopped' ? s : undefined;
      },
      30000,
      'stopped',
    );
    assert.strictEqual(stopped.status, 'stopped');
  });

  it('a service without a restart policy that exits is exited, with no restart count', async () => {
    await lab.client.deployService({ name: 'once', image: BUSYBOX, command: ['sh', '-c', 'exit 3'] });
    const exited = await until(
      async () => {
        const s = await lab.client.getService('once');
        return s.status === 'exited' ? s : undefined;
      },
      30000,
      'exited',
    );
    assert.strictEqual(exited.exitCode, 3);
    assert.strictEqual(exited.restartCount, 0);
  });
});

describe('container warnings in the built CLI (real Docker)', function () {
  this.timeout(90000);
  let home: string;
  let cleanup: () => void;
  before(async function () {
    await requireDocker(this);
    ({ home, cleanup } = tempHome());
    activeLabProject(home);
  });
  after(async () => {
    await stopBackendOf(home);
    await removeContainersOf(home);
    cleanup?.();
  });
  const mllab = (...args: string[]) => cli(['--home', home, ...args]);

  it('mllab job create/list and service deploy/list print the warnings; safe settings print none', () => {
    const noLimit = "Warning: free: no CPU or memory limit: a run can take all of this machine's CPU and memory";
    let r = mllab('job', 'create', 'free', '--image', BUSYBOX, '--', 'true');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(noLimit), r.stdout);
    r = mllab('job', 'create', 'bounded', '--image', BUSYBOX, '--cpus', '0.5', '--memory', '64m', '--', 'true');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes('Warning'), r.stdout);
    r = mllab('job', 'list');
    assert.deepStrictEqual(
      r.stdout.split('\n').filter((l) => l.startsWith('Warning')),
      [noLimit],
    );

    r = mllab(
      'service',
      'deploy',
      'sock',
      '--image',
      BUSYBOX,
      '--volume',
      '/var/run/docker.sock:/s:ro',
      'sleep',
      '600',
    );
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Warning: sock: mounts the Docker socket \(\/var\/run\/docker\.sock\)/m);
    r = mllab('service', 'list');
    assert.match(r.stdout, /^Warning: sock: mounts the Docker socket/m);
  });
});

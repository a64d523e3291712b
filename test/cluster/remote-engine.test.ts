import * as assert from 'assert';
import { execFileSync, spawn } from 'child_process';
import Docker from 'dockerode';
import * as fs from 'fs';
import { connect as netConnect, type Server } from 'net';
import * as os from 'os';
import * as path from 'path';
import type { ApiClient } from '../../src/client/api-client';
import type { JobRun, Service } from '../../src/protocol/containers';
import type { TargetStatus } from '../../src/protocol/targets';
import { BUSYBOX, httpGet, readStream, until, waitForRun } from '../unit/docker-helpers';
import { ServedLab } from '../unit/served-lab';
import { imageOnEngine } from '../../src/backend/runtime/cluster-image';
import { DockerRuntime } from '../../src/backend/runtime/docker';
import { EngineContainersServiceEngine } from '../../src/backend/services/engines/engine-containers';
import {
  forwardToLab,
  freeLoopbackPort,
  startNestedEngine,
  swarmLabForward,
  swarmRegistry,
  type NestedEngine,
} from './fixture';

/** the Python image of the test set-up (python3; the job's image adds ML Lab's client) */
const PYTHON = 'mllab-test/python-sklearn:1';
const TARGET = 'big-box';
const ENDED: JobRun['state'][] = ['succeeded', 'failed', 'stopped'];
const SSHD = '/usr/sbin/sshd';

/**
 * Jobs and services on a plain Docker Engine of another machine: one more nested engine started
 * here (not in the swarm), added as a target over tcp://, used by a lab served over TLS that the
 * engine's containers reach through the forward of its loopback lab port (fixture.ts). Nothing of
 * this machine is mounted there: images, the workspace and the Python client travel to it.
 */
describe('jobs and services on a remote Docker Engine (real nested engine)', function () {
  this.timeout(300_000);
  let engine: NestedEngine;
  let docker: Docker;
  let lab: ServedLab;
  let client: ApiClient;
  let forward: Server;
  let workspace: string;

  before(async () => {
    engine = await startNestedEngine(`mllab-remote-engine-${process.pid}`);
    docker = new Docker({ host: '127.0.0.1', port: engine.apiPort, protocol: 'http' });
    process.env.MLLAB_LAB_URL = `https://127.0.0.1:${swarmLabForward().port}`;
    // a replica that never turns healthy counts after 4 s, not after a minute
    process.env.MLLAB_HEALTH_START_PERIOD_MS = '4000';
    lab = await ServedLab.start();
    forward = await forwardToLab(swarmLabForward().gateway, engine.labForwardPort, () => lab.port);
    client = lab.client();
    await client.setActiveProject((await client.createProject('remote engine')).id);
    const res = await lab.request('POST', '/api/targets', undefined, {
      body: { name: TARGET, dockerHost: engine.dockerHost },
    });
    assert.strictEqual(res.status, 201, res.text);
    const status = res.json() as TargetStatus;
    assert.strictEqual(status.target.kind, 'docker');
    workspace = path.join(lab.root, 'workspace');
    fs.mkdirSync(path.join(workspace, 'secrets'), { recursive: true });
    fs.mkdirSync(path.join(workspace, 'logs'), { recursive: true });
    fs.writeFileSync(path.join(workspace, 'hello.txt'), 'hello from the workspace\n');
    fs.writeFileSync(path.join(workspace, 'secrets', 'key.txt'), 'not for the image\n');
    fs.writeFileSync(path.join(workspace, 'logs', 'old.log'), 'left out\n');
    fs.writeFileSync(path.join(workspace, 'logs', 'keep.log'), 'kept by an exception\n');
    // Docker's rules: a folder, a pattern within one folder, an exception under an excluded folder
    fs.writeFileSync(
      path.join(workspace, '.dockerignore'),
      '# not in the image\nsecrets\nlogs/*.log\n!logs/keep.log\n',
    );
  });

  after(async () => {
    delete process.env.MLLAB_LAB_URL;
    delete process.env.MLLAB_HEALTH_START_PERIOD_MS;
    for (const s of (await client?.listServices().catch(() => [])) ?? []) {
      await client.deleteService(s.name).catch(() => undefined);
    }
    forward?.close();
    await lab?.stop();
    engine?.remove();
  });

  const job = (name: string, command: string[], extra: Record<string, unknown> = {}) =>
    client.createJob({ name, image: BUSYBOX, command, target: TARGET, ...extra });

  it('runs a job with its workspace (its .dockerignore honoured) and its token as a file; a failing job says its exit code; a time limit', async () => {
    await job(
      'look',
      [
        'sh',
        '-c',
        'pwd; cat hello.txt; find . -type f | sort; test -s "$MLLAB_TOKEN_FILE" && echo token file; env | grep -c "^MLLAB_TOKEN=" || true',
      ],
      { workspace },
    );
    await job('fails', ['sh', '-c', 'echo about to fail; exit 3']);
    await job('slow', ['sleep', '60'], { timeoutSeconds: 2 });
    const started = await Promise.all(['look', 'fails', 'slow'].map((n) => client.runJob(n)));
    for (const r of started) {
      assert.ok(r.containerId?.startsWith(`${TARGET}:`), `${r.state}: ${r.reason ?? ''}`);
    }
    const [look, fails, slow] = await Promise.all(started.map((r) => waitForRun(client, r.id, ENDED, 120_000)));
    const log = await readStream(await client.jobRunLogs(look.id));
    assert.strictEqual(look.state, 'succeeded', `${look.reason ?? ''}\n${log}`);
    assert.strictEqual(
      log,
      [
        '/workspace',
        'hello from the workspace',
        './.dockerignore',
        './hello.txt',
        './logs/keep.log',
        'token file',
        '0', // the token is not in the environment
        '',
      ].join('\n'),
    );
    assert.deepStrictEqual([fails.state, fails.exitCode, fails.reason], ['failed', 3, 'exited with code 3']);
    assert.match(await readStream(await client.jobRunLogs(fails.id)), /about to fail/);
    assert.deepStrictEqual([slow.state, slow.reason], ['failed', 'timed out after 2 s']);
    // the engine keeps nothing of an ended run: its container and the image made for its workspace
    const left = await until(async () => {
      const c = await docker.listContainers({ all: true, filters: { label: [`dev.mllab.home=${lab.home}`] } });
      return c.length === 0 ? c : undefined;
    });
    assert.deepStrictEqual(left, []);
    const images = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []);
    assert.deepStrictEqual(
      images.filter((t) => t.startsWith('mllab-job/look:')),
      [],
    );
  });

  it('pushes the job image to the registry a remote engine target names, and the engine runs it by digest', async () => {
    const res = await lab.request('POST', '/api/targets', undefined, {
      body: { name: 'box-with-registry', dockerHost: engine.dockerHost, registry: swarmRegistry() },
    });
    assert.strictEqual(res.status, 201, res.text);
    await job('pulled', ['sh', '-c', 'echo pulled by digest'], { target: 'box-with-registry' });
    const run = await waitForRun(client, (await client.runJob('pulled')).id, ENDED, 120_000);
    const log = await readStream(await client.jobRunLogs(run.id));
    assert.strictEqual(run.state, 'succeeded', `${run.reason ?? ''}\n${log}`);
    assert.strictEqual(log, 'pulled by digest\n');
    // pulled from the registry by digest: under this job's name, or another job's whose image has the
    // same bits (the lab reuses a job image the registry holds already)
    const pulled = (await docker.listImages()).flatMap((i) => i.RepoDigests ?? []);
    assert.ok(
      pulled.some((d) =>
        new RegExp(`^${swarmRegistry().replace(/\./g, '\\.')}/mllab-job/[a-z0-9._-]+@sha256:[0-9a-f]{64}$`).test(d),
      ),
      `the engine's images: ${pulled.join(', ')}`,
    );
  });

  it('runs a Python job that reads a dataset through the lab and records its experiment there', async () => {
    const csv = path.join(lab.root, 'iris.csv');
    fs.writeFileSync(csv, 'a,b\n1,2\n3,4\n5,6\n');
    await client.addDataset({ path: csv, name: 'iris' });
    const script = [
      'import mllab, os',
      'project = os.environ["MLLAB_PROJECT"]',
      'rows = open(mllab.dataset("iris", project=project)).read().splitlines()',
      'with mllab.experiment("remote-train", project=project) as e:',
      '    e.log_metric("rows", len(rows) - 1)',
      'print("read", len(rows) - 1, "rows", flush=True)',
    ].join('\n');
    await client.createJob({ name: 'train', image: PYTHON, command: ['python3', '-c', script], target: TARGET });
    const run = await waitForRun(client, (await client.runJob('train')).id, ENDED, 240_000);
    const log = await readStream(await client.jobRunLogs(run.id));
    assert.strictEqual(run.state, 'succeeded', `${run.reason ?? ''}\n${log}`);
    assert.match(log, /read 3 rows/);
    const experiment = await until(async () => {
      const e = (await client.listExperiments()).find((x) => x.name === 'remote-train' && x.metrics.length > 0);
      return e?.status === 'completed' ? e : undefined;
    }, 60_000);
    assert.deepStrictEqual(
      experiment.metrics.map((m) => [m.key, m.last]),
      [['rows', 3]],
    );
  });

  it('makes the runs of an engine that stops answering lost, naming the target, and records their end once it answers again', async () => {
    await job('long', ['sleep', '300']);
    const started = await client.runJob('long');
    await waitForRun(client, started.id, ['running'], 60_000);
    engine.stop();
    let lost: JobRun;
    try {
      lost = await waitForRun(client, started.id, ['unknown'], 60_000);
      // new runs are refused in words while it does not answer
      await assert.rejects(client.runJob('long'), /The target "big-box" does not answer/);
    } finally {
      await engine.start();
    }
    assert.match(lost.reason ?? '', /The target "big-box" stopped answering/);
    // the engine is back: the container was stopped with its machine, and the run ends
    const ended = await waitForRun(client, started.id, ENDED, 90_000);
    assert.strictEqual(ended.state, 'failed');
    // the code the engine gives a container killed with it (137, 255), or none when the engine, just
    // back, has none to give yet
    assert.match(ended.reason ?? '', /^exited with code (\d+|unknown)$/);
  });

  it('deploys a service that answers through the lab: its health, logs, stop and start, restart, its engine away and back, one replica per published port, removal', async () => {
    const endpointPort = await freeLoopbackPort();
    const waitFor = (what: string, test: (s: Service) => boolean) => {
      let last: Service | undefined;
      return until(
        async () => {
          last = await client.getService('web');
          return test(last) ? last : undefined;
        },
        90_000,
        what,
      ).catch((e: Error) => {
        throw new Error(`${e.message}: ${last?.status} ${last?.reason ?? ''} ${JSON.stringify(last?.replicaStatus)}`);
      });
    };
    await assert.rejects(
      client.deployService({ name: 'two', image: BUSYBOX, target: TARGET, replicas: 2, ports: ['8080:8080'] }),
      /publishes the port 8080 once/,
    );
    // what one engine cannot do is said before anything is made
    await assert.rejects(
      client.deployService({ name: 'mesh', image: BUSYBOX, target: TARGET, publishMode: 'ingress', ports: ['80:80'] }),
      /without Swarm's routing mesh: leave out the publish mode/,
    );
    await assert.rejects(
      client.deployService({ name: 'mounts', image: BUSYBOX, target: TARGET, volumes: [`${lab.root}:/data`] }),
      /cannot mount folders of a machine/,
    );
    assert.deepStrictEqual(
      (await docker.listContainers({ all: true, filters: { label: [`dev.mllab.home=${lab.home}`] } })).length,
      0,
    );
    const deployed = await client.deployService({
      name: 'web',
      image: BUSYBOX,
      target: TARGET,
      ports: ['8080:8080'],
      healthPath: '/health',
      restart: 'always',
      endpointPort,
      command: [
        'sh',
        '-c',
        'mkdir -p /www && echo remote > /www/index.html && echo ok > /www/health && echo serving && exec httpd -f -p 8080 -h /www',
      ],
    });
    assert.strictEqual(deployed.target, TARGET);
    const healthy = await waitFor('healthy', (s) => s.status === 'healthy');
    assert.deepStrictEqual(
      healthy.replicaStatus?.replicas.map((r) => [r.node, r.state, r.address]),
      [[TARGET, 'running', `127.0.0.1:${engine.webPort}`]],
    );
    const page = await httpGet(endpointPort, '/');
    assert.deepStrictEqual([page.status, page.body], [200, 'remote\n']);
    assert.match(await readStream(await client.serviceLogs('web')), /serving/);

    await client.serviceAction('web', 'stop');
    await waitFor('stopped', (s) => s.status === 'stopped');
    await client.serviceAction('web', 'start');
    await waitFor('healthy again', (s) => s.status === 'healthy');
    assert.strictEqual((await httpGet(endpointPort, '/')).body, 'remote\n');
    await client.serviceAction('web', 'restart');
    await waitFor('healthy after the restart', (s) => s.status === 'healthy');
    assert.strictEqual((await httpGet(endpointPort, '/')).body, 'remote\n');

    // its engine goes away: the service's state is unknown, naming the machine; the engine restarts
    // the replica when it is back (restart: always), and the service is healthy again
    engine.stop();
    let away: Service;
    try {
      away = await waitFor('unknown while its engine is away', (s) => s.status === 'unknown');
    } finally {
      await engine.start();
    }
    assert.match(away.reason ?? '', /The target "big-box" \(tcp:\/\/127\.0\.0\.1:\d+\) does not answer/);
    await waitFor('healthy once its engine is back', (s) => s.status === 'healthy');
    assert.strictEqual((await httpGet(endpointPort, '/')).body, 'remote\n');

    await client.deleteService('web');
    const left = await docker.listContainers({ all: true, filters: { label: [`dev.mllab.id=${deployed.id}`] } });
    assert.deepStrictEqual(left, []);
  });

  it('replaces a replica one at a time on a plain engine: a healthy new one stays, one that never turns healthy is rolled back', async () => {
    // the services' engine of a plain target, as the lab uses it, on the nested engine
    const target = (await client.request<TargetStatus[]>('GET', '/api/targets')).find((t) => t.target.name === TARGET)!;
    const runtime = new DockerRuntime({ host: engine.dockerHost });
    const services = new EngineContainersServiceEngine(target.target, runtime.client, runtime, lab.home, 2, 1000);
    // sh handles SIGTERM, so that a replica stops at once; /health answers only when HEALTHY is set
    const serve = [
      'sh',
      '-c',
      'trap "exit 0" TERM; mkdir -p /www && echo "$ANSWER" > /www/index.html; [ -n "$HEALTHY" ] && echo ok > /www/health; httpd -f -p 8080 -h /www & wait',
    ];
    const service = {
      id: `rolling-${process.pid}`,
      projectId: 'p',
      name: 'rolling',
      image: BUSYBOX,
      command: serve,
      env: { ANSWER: 'one', HEALTHY: 'yes' },
      ports: [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 8080 }],
      volumes: [],
      restart: 'no',
      healthPath: '/health',
      status: 'starting',
    } as unknown as Service;
    // the image as the lab sends it to a plain engine without a registry
    assert.strictEqual(await imageOnEngine(new Docker(), runtime.client, BUSYBOX, TARGET), BUSYBOX);
    const handle = await services.deploy(service, BUSYBOX, 'wget');
    try {
      const answers = (text: string) =>
        until(
          async () => {
            const seen = await services.observe(handle, service);
            const page = await httpGet(engine.webPort, '/').catch(() => undefined);
            return seen.replicas.running === 1 && page?.body === `${text}\n` ? seen : undefined;
          },
          60_000,
          `the replica answering "${text}"`,
        );
      const first = await answers('one');
      assert.deepStrictEqual(first.env, { ANSWER: 'one', HEALTHY: 'yes' });
      assert.strictEqual(first.healthChecked, true);

      await services.update(handle, { image: BUSYBOX, env: { ANSWER: 'two', HEALTHY: 'yes' } });
      const updated = await until(async () => {
        const seen = await services.observe(handle, service);
        return seen.replicas.update?.state === 'completed' ? seen : undefined;
      }, 60_000);
      assert.deepStrictEqual(updated.env, { ANSWER: 'two', HEALTHY: 'yes' });
      await answers('two');

      await services.update(handle, { image: BUSYBOX, env: { ANSWER: 'three' } });
      const rolledBack = await until(async () => {
        const seen = await services.observe(handle, service);
        return seen.replicas.update?.state === 'rollback_completed' ? seen : undefined;
      }, 60_000);
      assert.match(rolledBack.replicas.update!.message, /^replica 1: /);
      await answers('two');
      assert.deepStrictEqual((await services.observe(handle, service)).env, { ANSWER: 'two', HEALTHY: 'yes' });
      // one replica left: the new ones that failed are gone
      assert.strictEqual((await services.observe(handle, service)).replicas.replicas.length, 1);
    } finally {
      await services.remove(handle);
    }
    assert.strictEqual((await services.observe(handle, service)).missing, true);
  });

  it("runs a job on an ssh:// target named by an alias of the user's ssh configuration (its HostName, Port, User and IdentityFile; no agent)", async function () {
    if (!fs.existsSync(SSHD) || process.getuid?.() !== 0) {
      console.log(`    skipped: needs ${SSHD} (Debian's openssh-server) and root, to log in as this user with a key`);
      this.skip();
    }
    const dir = path.join(lab.root, 'ssh');
    const home = path.join(dir, 'user');
    fs.mkdirSync(path.join(home, '.ssh'), { recursive: true });
    for (const name of ['host', 'client']) {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, name)]);
    }
    const port = await freeLoopbackPort();
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    // the engine behind the ssh server is the nested one: `docker system dial-stdio` reads DOCKER_HOST
    const sshd = spawn(
      SSHD,
      ['-D', '-e', '-f', '/dev/null', '-p', String(port), '-h', path.join(dir, 'host')].concat(
        ['-o', 'ListenAddress=127.0.0.1', '-o', `AuthorizedKeysFile=${path.join(dir, 'client.pub')}`],
        ['-o', 'StrictModes=no', '-o', 'PermitRootLogin=prohibit-password', '-o', 'PasswordAuthentication=no'],
        ['-o', 'PidFile=none', '-o', `SetEnv=DOCKER_HOST=${engine.dockerHost}`],
      ),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let sshdLog = '';
    sshd.stderr!.on('data', (c: Buffer) => (sshdLog += c.toString()));
    const homeBefore = process.env.HOME;
    const agentBefore = process.env.SSH_AUTH_SOCK;
    try {
      fs.writeFileSync(
        path.join(home, '.ssh', 'config'),
        `Host big-box-ssh\n  HostName 127.0.0.1\n  Port ${port}\n  User ${os.userInfo().username}\n  IdentityFile ${path.join(dir, 'client')}\n` +
          'Host behind-a-jump\n  ProxyJump jump-host\n',
      );
      const hostKey = fs.readFileSync(path.join(dir, 'host.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
      fs.writeFileSync(path.join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
      process.env.HOME = home;
      delete process.env.SSH_AUTH_SOCK;
      await until(
        () =>
          new Promise<true | undefined>((resolve) => {
            const socket = netConnect(port, '127.0.0.1', () => resolve(true)).on('error', () => resolve(undefined));
            setTimeout(() => socket.destroy(), 1000);
          }),
        15_000,
        `the ssh server listening (${sshdLog})`,
      );
      // a proxy of the configuration is not followed: said in words, nothing stored
      const proxied = await lab.request('POST', '/api/targets', undefined, {
        body: { name: 'proxied', dockerHost: 'ssh://behind-a-jump' },
      });
      assert.strictEqual(proxied.status, 400, proxied.text);
      assert.match(proxied.text, /through a proxy \(jump-host\), which the lab does not follow/);
      const res = await lab.request('POST', '/api/targets', undefined, {
        body: { name: 'over-ssh', dockerHost: 'ssh://big-box-ssh' },
      });
      assert.strictEqual(res.status, 201, `${res.text}\n${sshdLog}`);
      assert.strictEqual((res.json() as TargetStatus).target.kind, 'docker');
      await job('over-ssh', ['sh', '-c', 'echo hello over ssh; cat "$MLLAB_TOKEN_FILE" | wc -c'], {
        target: 'over-ssh',
      });
      const run = await waitForRun(client, (await client.runJob('over-ssh')).id, ENDED, 120_000);
      const log = await readStream(await client.jobRunLogs(run.id));
      assert.strictEqual(run.state, 'succeeded', `${run.reason ?? ''}\n${log}`);
      assert.ok(run.containerId?.startsWith('over-ssh:'));
      assert.match(log, /^hello over ssh\n\s*\d+\n$/);
    } finally {
      process.env.HOME = homeBefore;
      if (agentBefore !== undefined) {
        process.env.SSH_AUTH_SOCK = agentBefore;
      }
      sshd.kill();
    }
  });
});

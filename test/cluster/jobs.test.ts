import * as assert from 'assert';
import { execFileSync } from 'child_process';
import Docker from 'dockerode';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { ApiClient } from '../../src/client/api-client';
import { sendFile } from '../../src/client/blob-upload';
import { HashCache } from '../../src/client/hash-cache';
import type { JobRun } from '../../src/protocol/containers';
import { BUSYBOX, readStream, until, waitForRun } from '../unit/docker-helpers';
import { ServedLab } from '../unit/served-lab';
import { forwardToLab, swarmApi, swarmDockerHost, swarmLabForward, swarmRegistry } from './fixture';

/** the Python image of the test set-up (python3, scikit-learn; no ML Lab client: the job's image adds it) */
const PYTHON = 'mllab-test/python-sklearn:1';
/** a node label of this suite's own, so that jobs can be sent to a given node */
const SLOT = 'dev.mllab.test.jobs-slot';
const TARGET = 'cluster';
const ENDED: JobRun['state'][] = ['succeeded', 'failed', 'stopped'];

/**
 * Jobs on the real 3-node Swarm of scripts/test-cluster.sh, run by a lab served over TLS: the nodes
 * reach it through the forward of their loopback port (fixture.ts), as https://127.0.0.1:PORT.
 */
describe('jobs on a Swarm target (real cluster)', function () {
  this.timeout(240000);
  let docker: Docker;
  let lab: ServedLab;
  let client: ApiClient;
  let forward: net.Server;
  let nodes: { id: string; name: string }[] = [];

  const setSlots = async (on: boolean) => {
    for (const [i, n] of nodes.entries()) {
      // a node's spec is updated at its current version: another suite may have updated it since
      for (let attempt = 0; ; attempt++) {
        const node = docker.getNode(n.id);
        const info = (await node.inspect()) as {
          Version: { Index: number };
          Spec: { Labels?: Record<string, string> };
        };
        const labels = { ...(info.Spec.Labels ?? {}) };
        if (on) {
          labels[SLOT] = String(i + 1);
        } else {
          delete labels[SLOT];
        }
        try {
          await node.update({ ...info.Spec, Labels: labels, version: info.Version.Index });
          break;
        } catch (e) {
          if (attempt >= 3) {
            throw e;
          }
        }
      }
    }
  };

  before(async () => {
    docker = new Docker(swarmApi());
    const { gateway, port } = swarmLabForward();
    process.env.MLLAB_LAB_URL = `https://127.0.0.1:${port}`;
    lab = await ServedLab.start();
    // the nodes' 127.0.0.1:PORT arrives here, on this machine's address of the cluster network
    forward = await forwardToLab(gateway, port, () => lab.port);
    client = lab.client();
    await client.setActiveProject((await client.createProject('cluster jobs')).id);
    const res = await lab.request('POST', '/api/targets', undefined, {
      body: { name: TARGET, dockerHost: swarmDockerHost(), registry: swarmRegistry() },
    });
    assert.strictEqual(res.status, 201, res.text);
    const listed = await docker.listNodes();
    nodes = listed
      .map((n) => ({ id: n.ID, name: n.Description?.Hostname ?? n.ID }))
      .sort((a, b) => a.name.localeCompare(b.name));
    await setSlots(true);
  });

  after(async () => {
    delete process.env.MLLAB_LAB_URL;
    await setSlots(false).catch(() => undefined);
    // what a failed test may leave: the services and secrets of this lab home's runs
    const filters = { label: [`dev.mllab.home=${lab.home}`] };
    for (const s of await docker.listServices({ filters }).catch(() => [])) {
      await docker
        .getService(s.ID)
        .remove()
        .catch(() => undefined);
    }
    for (const s of await docker.listSecrets({ filters }).catch(() => [])) {
      await docker
        .getSecret(s.ID)
        .remove()
        .catch(() => undefined);
    }
    forward?.close();
    await lab?.stop();
  });

  /** stops a node's container (the node leaves the cluster), runs `during`, and brings it back ready */
  const withNodeStopped = async (node: { id: string; name: string }, during: () => Promise<void>) => {
    execFileSync('docker', ['stop', '-t', '1', node.name]);
    try {
      await during();
    } finally {
      execFileSync('docker', ['start', node.name]);
      await until(
        async () => {
          const n = (await docker.getNode(node.id).inspect()) as { Status?: { State?: string } };
          return n.Status?.State === 'ready' ? true : undefined;
        },
        120000,
        `${node.name} ready again`,
      );
    }
  };

  const job = (name: string, command: string[], extra: Record<string, unknown> = {}) =>
    client.createJob({ name, image: BUSYBOX, command, target: TARGET, ...extra });

  it('runs jobs at once on the nodes their placement names: output kept, exit codes, the node that ran each', async () => {
    // Swarm fills in {{.Node.Hostname}} in a service's environment: the job says where it ran
    const env = { WHERE: '{{.Node.Hostname}}' };
    await job('on-2', ['sh', '-c', 'echo hello from $WHERE; echo to stderr >&2'], {
      env,
      placement: [`node.labels.${SLOT}==2`],
      cpus: 0.5,
      memory: '64m',
    });
    await job('on-3', ['sh', '-c', 'echo hello from $WHERE'], { env, placement: [`node.labels.${SLOT}==3`] });
    await job('fails', ['sh', '-c', 'echo about to fail; exit 3'], { placement: [`node.labels.${SLOT}==1`] });
    const started = await Promise.all(['on-2', 'on-3', 'fails'].map((n) => client.runJob(n)));
    for (const r of started) {
      assert.ok(r.containerId?.startsWith(`${TARGET}:`), `${r.state}: ${r.reason ?? ''}`);
    }
    const [two, three, fails] = await Promise.all(started.map((r) => waitForRun(client, r.id, ENDED, 180000)));
    assert.strictEqual(two.state, 'succeeded', two.reason ?? '');
    assert.strictEqual(two.exitCode, 0);
    assert.strictEqual(three.state, 'succeeded', three.reason ?? '');
    const logTwo = await readStream(await client.jobRunLogs(two.id));
    assert.match(logTwo, new RegExp(`hello from ${nodes[1].name}\n`));
    assert.match(logTwo, /to stderr/);
    assert.match(await readStream(await client.jobRunLogs(three.id)), new RegExp(`hello from ${nodes[2].name}\n`));
    assert.strictEqual(fails.state, 'failed');
    assert.strictEqual(fails.exitCode, 3);
    assert.strictEqual(fails.reason, 'exited with code 3');
    assert.match(await readStream(await client.jobRunLogs(fails.id)), /about to fail/);
    // the history is the same as for local jobs, and the cluster keeps nothing of an ended run
    assert.deepStrictEqual(
      (await client.jobRuns('fails')).map((r) => r.id),
      [fails.id],
    );
    const left = await until(async () => {
      const services = await docker.listServices({ filters: { label: [`dev.mllab.home=${lab.home}`] } });
      return services.length === 0 ? services : undefined;
    });
    assert.deepStrictEqual(left, []);
  });

  it("fails a job whose placement no node satisfies with Swarm's own reason, instead of pending for ever", async () => {
    await job('nowhere', ['true'], { placement: ['node.labels.dev.mllab.test.no-such-label==yes'] });
    const run = await waitForRun(client, (await client.runJob('nowhere')).id, ENDED, 60000);
    assert.strictEqual(run.state, 'failed');
    assert.match(run.reason ?? '', /no node of the cluster can run it: .*no suitable node/);
  });

  it("fails a job that asks more than any node has (the cluster's quota) with Swarm's own reason", async () => {
    // each node of the test cluster has the machine's few cores: 64 are reserved nowhere
    await job('greedy', ['true'], { cpus: 64 });
    const run = await waitForRun(client, (await client.runJob('greedy')).id, ENDED, 60000);
    assert.strictEqual(run.state, 'failed');
    assert.match(run.reason ?? '', /no node of the cluster can run it: .*insufficient resources/);
  });

  it('stops a running job on the cluster', async () => {
    await job('sleeper', ['sleep', '300'], { placement: [`node.labels.${SLOT}==2`] });
    const started = await client.runJob('sleeper');
    await waitForRun(client, started.id, ['running'], 120000);
    const stopped = await client.stopJobRun(started.id);
    assert.strictEqual(stopped.state, 'stopped');
    assert.strictEqual(stopped.reason, 'stopped by a person');
  });

  it('fails the run of a node stopped mid-run with "node ... left the cluster"', async () => {
    const node = nodes[2];
    await job('lost', ['sleep', '300'], { placement: [`node.labels.${SLOT}==3`] });
    const started = await client.runJob('lost');
    await waitForRun(client, started.id, ['running'], 120000);
    await withNodeStopped(node, async () => {
      const run = await waitForRun(client, started.id, ENDED, 120000);
      assert.strictEqual(run.state, 'failed');
      assert.strictEqual(run.reason, `node ${node.name} left the cluster`);
    });
  });

  it('runs a job again on another node when its node leaves and the job says retries: 1', async () => {
    // nodes 2 and 3 may take it; the one that does is stopped
    await job('again', ['sh', '-c', 'sleep 8; echo done on $WHERE'], {
      env: { WHERE: '{{.Node.Hostname}}' },
      placement: [`node.labels.${SLOT}!=1`],
      retries: 1,
    });
    const started = await client.runJob('again');
    await waitForRun(client, started.id, ['running'], 120000);
    const service = (await docker.listServices({ filters: { label: [`dev.mllab.id=${started.id}`] } }))[0];
    const first = (await docker.listTasks({ filters: { service: [service.ID] } }))[0] as { NodeID: string };
    const node = nodes.find((n) => n.id === first.NodeID)!;
    const other = nodes.find((n) => n !== node && n !== nodes[0])!;
    await withNodeStopped(node, async () => {
      const run = await waitForRun(client, started.id, ENDED, 120000);
      assert.strictEqual(run.state, 'succeeded', run.reason ?? '');
      assert.strictEqual(run.id, started.id, 'the same run, started again');
      assert.match(await readStream(await client.jobRunLogs(run.id)), new RegExp(`done on ${other.name}`));
    });
  });

  it('fails a job on the cluster that passes its time limit, and follows a run across a restart of the lab', async () => {
    await job('slow', ['sleep', '60'], { timeoutSeconds: 2, placement: [`node.labels.${SLOT}==2`] });
    const slow = await waitForRun(client, (await client.runJob('slow')).id, ENDED, 120000);
    assert.strictEqual(slow.state, 'failed');
    assert.strictEqual(slow.reason, 'timed out after 2 s');
    await job('across', ['sh', '-c', 'echo before; sleep 6; echo after; exit 4'], {
      placement: [`node.labels.${SLOT}==3`],
    });
    const started = await client.runJob('across');
    await waitForRun(client, started.id, ['running'], 120000);
    await lab.restart();
    client = lab.client();
    const run = await waitForRun(client, started.id, ENDED, 120000);
    assert.deepStrictEqual([run.state, run.exitCode], ['failed', 4]);
    assert.match(await readStream(await client.jobRunLogs(run.id)), /before\nafter\n/);
  });

  it('runs a pipeline of jobs on the cluster: the downstream job starts once its upstream succeeded there', async () => {
    await job('extract', ['sh', '-c', 'echo extracted'], { placement: [`node.labels.${SLOT}==2`] });
    await job('load', ['sh', '-c', 'echo loaded'], { placement: [`node.labels.${SLOT}==3`] });
    await client.setJobUpstreams('load', ['extract']);
    await client.runPipeline(['extract']);
    const load = await until(
      async () => {
        const last = (await client.getJob('load')).lastRun;
        return last && ENDED.includes(last.state) ? last : undefined;
      },
      120000,
      'the downstream run',
    );
    assert.deepStrictEqual([load.state, load.trigger], ['succeeded', 'dependency']);
    const extract = (await client.getJob('extract')).lastRun!;
    assert.strictEqual(load.triggerDetail, extract.id);
    assert.strictEqual(load.executionId, extract.executionId);
    assert.match(await readStream(await client.jobRunLogs(load.id)), /loaded/);
  });

  it('records the experiment of a Python job on a worker node in the lab, over the network, from a dataset it fetched there', async () => {
    // a dataset sent to the lab, which the job on the node fetches through the lab (no shared storage)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-cluster-data-'));
    const csv = path.join(dir, 'numbers.csv');
    fs.writeFileSync(csv, 'x,y\n1,2\n3,4\n5,6\n');
    const sent = await sendFile(client, csv, { cache: new HashCache(path.join(dir, 'hashes')) });
    await client.addUploadedDataset({
      name: 'numbers',
      sha256: sent.sha256,
      size: sent.size,
      fileName: 'numbers.csv',
      kind: 'file',
    });
    fs.rmSync(dir, { recursive: true, force: true });
    const script = [
      'import mllab, os',
      'with mllab.experiment("train", project=os.environ["MLLAB_PROJECT"]) as e:',
      '    rows = open(mllab.dataset("numbers", project=os.environ["MLLAB_PROJECT"])).read().splitlines()',
      '    e.log_param("rows", len(rows) - 1)',
      '    e.log_metric("accuracy", 0.93)',
      '    e.log_param("where", os.environ["WHERE"])',
      'print("recorded", flush=True)',
    ].join('\n');
    await client.createJob({
      name: 'train',
      image: PYTHON,
      command: ['python3', '-c', script],
      target: TARGET,
      env: { WHERE: '{{.Node.Hostname}}' },
      placement: [`node.labels.${SLOT}==2`],
    });
    const run = await waitForRun(client, (await client.runJob('train')).id, ENDED, 240000);
    const log = await readStream(await client.jobRunLogs(run.id));
    assert.strictEqual(run.state, 'succeeded', `${run.reason ?? ''}\n${log}`);
    assert.match(log, /recorded/);
    const experiment = await until(async () => {
      const list = await client.listExperiments();
      const e = list.find((x) => x.name === 'train' && x.metrics.length > 0);
      return e?.status === 'completed' ? e : undefined;
    }, 60000);
    assert.deepStrictEqual(
      experiment.metrics.map((m) => [m.key, m.last]),
      [['accuracy', 0.93]],
    );
    // the 3 rows of the dataset, read on the node
    assert.strictEqual(experiment.params.rows, 3);
    assert.match(String(experiment.params.where), /^mllab-swarm-node\d$/);
    // the run's token is revoked once it ended
    const tokens = (await lab.request('GET', '/api/tokens')).json() as { label: string; revokedAt: string | null }[];
    const mine = tokens.filter((t) => t.label.endsWith(` run ${run.id}`));
    assert.strictEqual(mine.length, 1);
    assert.ok(mine[0].revokedAt);
  });
});

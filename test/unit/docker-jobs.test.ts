import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { DockerRuntime } from '../../src/backend/runtime/docker';
import { BackendError } from '../../src/client/api-client';
import { dockerLabPerTest, BUSYBOX, readStream, until, waitForRun } from './docker-helpers';

describe('jobs in a real Docker Engine', function () {
  this.timeout(60000);
  const lab = dockerLabPerTest();

  const job = (name: string, command: string[], extra = {}) =>
    lab.client.createJob({ name, image: BUSYBOX, command, ...extra });

  it('runs a job that succeeds: exit 0, output kept with the run, run directory and env mounted', async () => {
    // the container appends a metric to the run directory as the Python lab.client does (events.jsonl)
    const script = [
      'echo hello from $MLLAB_JOB',
      'echo to stderr >&2',
      'ls $MLLAB_RUN_DIR',
      'echo host $(hostname)',
      'echo \'{"k":"m","key":"loss","v":0.25,"s":1,"t":1}\' >> $MLLAB_RUN_DIR/events.jsonl',
      'ls -d $MLLAB_HOME/blobs && touch $MLLAB_HOME/blobs/x 2>/dev/null || echo blobs are read-only',
    ].join('; ');
    await job('hello', ['sh', '-c', script]);
    const started = await lab.client.runJob('hello');
    assert.ok(['running', 'succeeded'].includes(started.state), started.state);
    const run = await waitForRun(lab.client, started.id, ['succeeded', 'failed']);
    assert.strictEqual(run.state, 'succeeded', run.reason ?? '');
    assert.strictEqual(run.exitCode, 0);
    assert.ok(run.startedAt && run.endedAt);
    const logs = await readStream(await lab.client.jobRunLogs(run.id));
    assert.match(logs, /hello from hello/);
    assert.match(logs, /to stderr/);
    assert.match(logs, /run\.json/);
    assert.match(logs, /blobs are read-only/);
    // the run's hostname, as its manifest says, so the tracker does not check the lab.backend's pid
    assert.match(logs, new RegExp(`host ${path.basename(run.runDir)}\n`));
    const manifest = JSON.parse(fs.readFileSync(path.join(run.runDir, 'run.json'), 'utf8')) as { status: string };
    assert.strictEqual(manifest.status, 'completed');
    // the lab.backend's tracker ingests the job's run directory as an experiment, with its metric
    const experiment = await until(async () => {
      const list = await lab.client.listExperiments();
      const e = list.find((x) => x.id === path.basename(run.runDir));
      return e && e.status === 'completed' && e.metrics.length > 0 ? e : undefined;
    });
    assert.strictEqual(experiment.name, 'hello');
    assert.deepStrictEqual(
      experiment.metrics.map((m) => [m.key, m.last]),
      [['loss', 0.25]],
    );
    const history = await lab.client.jobRuns('hello');
    assert.deepStrictEqual(
      history.map((r) => r.id),
      [run.id],
    );
    assert.strictEqual((await lab.client.getJob('hello')).lastRun?.state, 'succeeded');
  });

  it('records a failing job: exit 3 -> failed, with its exit code', async () => {
    await job('fails', ['sh', '-c', 'echo bad input; exit 3']);
    const run = await waitForRun(lab.client, (await lab.client.runJob('fails')).id, ['succeeded', 'failed']);
    assert.strictEqual(run.state, 'failed');
    assert.strictEqual(run.exitCode, 3);
    assert.strictEqual(run.reason, 'exited with code 3');
  });

  it('stops a running job, and fails a job that passes its timeout', async () => {
    // a job that ends on SIGTERM, as a well-behaved one does
    await job('long', ['sh', '-c', 'trap "exit 143" TERM; sleep 300 & wait']);
    const started = await lab.client.runJob('long');
    assert.strictEqual(started.state, 'running');
    const stopped = await lab.client.stopJob('long');
    assert.strictEqual(stopped.state, 'stopped');
    assert.strictEqual(stopped.reason, 'stopped by a person');

    await job('slow', ['sleep', '300'], { timeoutSeconds: 1 });
    const t0 = Date.now();
    const run = await waitForRun(lab.client, (await lab.client.runJob('slow')).id, ['failed', 'succeeded', 'stopped']);
    assert.strictEqual(run.state, 'failed');
    assert.strictEqual(run.reason, 'timed out after 1 s');
    assert.ok(Date.now() - t0 < 15000);
  });

  it('follows the output of a running job until it ends, from before its first line', async () => {
    await job('ticks', ['sh', '-c', 'sleep 1; for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done']);
    const run = await lab.client.runJob('ticks');
    const stream = await lab.client.jobRunLogs(run.id, true);
    // the answer starts before the job printed anything: a follower knows it is attached
    assert.strictEqual((await lab.client.getJobRun(run.id)).state, 'running');
    const text = await readStream(stream);
    assert.strictEqual(text.trim().split('\n').length, 5, text);
    assert.strictEqual((await lab.client.getJobRun(run.id)).state, 'succeeded');
  });

  it('answers bad input with clear errors, never a hang', async () => {
    const reject = async (p: Promise<unknown>, status: number, pattern: RegExp) => {
      const e = await p.then(
        () => assert.fail('expected an error'),
        (err: BackendError) => err,
      );
      assert.ok(e instanceof BackendError, String(e));
      assert.strictEqual(e.status, status, e.message);
      assert.match(e.message, pattern);
    };
    await reject(job('bad-image', ['true'], { image: 'Not A/Valid:Image!' }), 400, /not a valid image name/);
    await reject(lab.client.createJob({ name: 'env', image: BUSYBOX, env: ['NOEQUALS'] }), 400, /KEY=VALUE/);
    await reject(lab.client.createJob({ name: 'env', image: BUSYBOX, env: ['1X=2'] }), 400, /not a valid environment/);
    await reject(lab.client.createJob({ name: 'mem', image: BUSYBOX, memory: 'lots' }), 400, /memory limit/);
    await job('missing-image', ['true'], { image: 'mllab-test/does-not-exist:1' });
    await reject(
      lab.client.runJob('missing-image'),
      404,
      /not found locally and could not be pulled: build it or check the name/,
    );
    await job('no-command', ['this-command-does-not-exist']);
    const run = await lab.client.runJob('no-command');
    assert.strictEqual(run.state, 'failed');
    assert.match(run.reason ?? '', /"this-command-does-not-exist" does not exist in the image/);
    await reject(lab.client.runJob('nobody'), 404, /No job called "nobody"/);
    await reject(
      job('hello', ['true']).then(() => job('hello', ['true'])),
      409,
      /already exists/,
    );
  });

  it('builds an image from a Dockerfile through the API, streaming its output as events, and runs a job in it', async () => {
    const context = path.join(path.dirname(lab.home), 'image');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'Dockerfile'), `FROM ${BUSYBOX}\nRUN echo built > /built.txt\n`);
    const tag = `mllab-test/job-image:${process.pid}`;
    const lines: string[] = [];
    const unsubscribe = lab.backend.events.subscribe((e) => e.type === 'imageBuildOutput' && lines.push(e.line));
    try {
      const image = await lab.client.buildImage({ context, tag });
      assert.ok(image.tags.includes(tag));
    } finally {
      unsubscribe();
    }
    assert.ok(
      lines.some((l) => /RUN echo built/.test(l)),
      lines.join('\n'),
    );
    await lab.client.createJob({ name: 'in-built', image: tag, command: ['cat', '/built.txt'] });
    const run = await waitForRun(lab.client, (await lab.client.runJob('in-built')).id, ['succeeded', 'failed']);
    assert.strictEqual(await readStream(await lab.client.jobRunLogs(run.id)), 'built\n');
    // the run's container goes right after its end is recorded: the image is free soon after
    await until(
      () =>
        new DockerRuntime().removeImage(tag).then(
          () => true,
          () => undefined,
        ),
      10000,
      'image removed',
    );
    await assert.rejects(
      lab.client.buildImage({ context: path.join(context, 'nowhere'), tag }),
      /There is no Dockerfile in .*: give the absolute folder/,
    );
  });

  it('exports job definitions to a readable file and imports them', async () => {
    await job('train', ['python', 'train.py'], { env: ['LR=0.1'], memory: '512m', timeoutSeconds: 600 });
    const yaml = await lab.client.exportJobs('yaml');
    assert.match(yaml, /name: train/);
    assert.match(yaml, /LR: "0.1"|LR: '0.1'|LR: 0.1/);
    await lab.client.deleteJob('train');
    const result = await lab.client.importJobs(yaml);
    assert.deepStrictEqual(result, { created: ['train'], updated: [] });
    const back = await lab.client.getJob('train');
    assert.deepStrictEqual(
      [back.command, back.env, back.memoryBytes, back.timeoutSeconds],
      [['python', 'train.py'], { LR: '0.1' }, 512 * 1024 * 1024, 600],
    );
    const json = await lab.client.exportJobs('json');
    assert.deepStrictEqual(await lab.client.importJobs(json), { created: [], updated: ['train'] });
  });
});

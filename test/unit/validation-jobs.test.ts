import * as assert from 'assert';
import type { Backend } from '../../src/backend/app';
import { JobRepository } from '../../src/backend/jobs/repository';
import { numberFlag } from '../../src/cli/jobs';
import { ApiClient } from '../../src/client/api-client';
import { JOB_LIMITS, type Job } from '../../src/protocol/containers';
import { BUSYBOX, dockerLabPerTest, waitForRun } from './docker-helpers';
import { errorOf, raw, startBackend, tempHome, TEST_TOKEN } from './helpers';
import { EventBus } from '../../src/backend/events';

/**
 * Job definitions through POST /api/jobs and through an imported jobs file: one schema with real
 * ranges, 400 with a message a person can act on, nothing stored on a refusal.
 */
describe('validation of job definitions and jobs files', function () {
  this.timeout(60000);
  let home: ReturnType<typeof tempHome>;
  let backend: Backend;
  let client: ApiClient;

  before(async () => {
    home = tempHome();
    // no Docker is needed to define jobs: a host that does not exist keeps this suite off the engine
    backend = await startBackendWithoutDocker(home.home);
    client = new ApiClient(backend.port, TEST_TOKEN);
    await client.setActiveProject((await client.createProject('Lab')).id);
  });

  after(async () => {
    await backend?.stop('test done');
    home?.cleanup();
  });

  async function startBackendWithoutDocker(dir: string): Promise<Backend> {
    const before = process.env.MLLAB_DOCKER_HOST;
    process.env.MLLAB_DOCKER_HOST = 'unix:///nonexistent/mllab-test/docker.sock';
    try {
      return await startBackend(dir);
    } finally {
      if (before === undefined) {
        delete process.env.MLLAB_DOCKER_HOST;
      } else {
        process.env.MLLAB_DOCKER_HOST = before;
      }
    }
  }

  const post = (path: string, body: unknown) => raw(backend.port, 'POST', path, { body: JSON.stringify(body) });
  const createJob = (fields: Record<string, unknown>) => post('/api/jobs', { name: 'j', image: 'busybox', ...fields });
  const jobNames = async () => (await client.listJobs()).map((j: Job) => j.name).sort();

  async function refused(fields: Record<string, unknown>, pattern: RegExp): Promise<void> {
    const res = await createJob(fields);
    assert.strictEqual(res.status, 400, `${JSON.stringify(fields)}: ${res.text}`);
    assert.match(errorOf(res).message, pattern);
    assert.deepStrictEqual(await jobNames(), [], 'a refused definition is not stored');
  }

  async function accepted(fields: Record<string, unknown>): Promise<Job> {
    const res = await createJob(fields);
    assert.strictEqual(res.status, 201, `${JSON.stringify(fields)}: ${res.text}`);
    const job = res.json() as Job;
    await client.deleteJob(job.name);
    return job;
  }

  it('refuses timeouts outside 1 s .. 30 days, 1e308 included, saying the range', async () => {
    for (const timeoutSeconds of [1e308, 0, -1, 0.5, JOB_LIMITS.maxTimeoutSeconds + 1, '60']) {
      await refused({ timeoutSeconds }, /timeoutSeconds takes a number of seconds from 1 to 2592000 \(30 days\)/);
    }
    const res = await createJob({ timeoutSeconds: 1e308 });
    assert.match(errorOf(res).message, /got 1e\+308/);
    assert.strictEqual((await accepted({ timeoutSeconds: JOB_LIMITS.maxTimeoutSeconds })).timeoutSeconds, 2592000);
    assert.strictEqual((await accepted({ timeoutSeconds: 1 })).timeoutSeconds, 1);
    assert.strictEqual((await accepted({ timeoutSeconds: null })).timeoutSeconds, null);
  });

  it('refuses CPU, memory and GPU limits out of range before any run', async () => {
    for (const cpus of [0, -2, 0.001, 5000, 1e308]) {
      await refused({ cpus }, /cpus takes a number of cores from 0.01 to 1024/);
    }
    for (const memory of [1, 1024 * 1024, 1e308, 6.5e6 + 0.5]) {
      await refused({ memory }, /memory takes bytes from 6291456 \(6 MiB\) to 64 TiB/);
    }
    await refused({ memory: '1k' }, /at least 6m/);
    await refused({ memory: '999999t' }, /more than 64 TiB/);
    await refused({ memory: 'lots' }, /is not valid/);
    for (const gpus of [1.5, -2, 65, 'some', null]) {
      await refused({ gpus }, /gpus takes a whole number of GPUs from 0 to 64, or "all"/);
    }
    assert.strictEqual((await accepted({ cpus: 0.5, memory: '6m', gpus: 'all' })).gpus, -1);
    assert.strictEqual((await accepted({ cpus: 1024, memory: '64t', gpus: 64 })).memoryBytes, 64 * 1024 ** 4);
  });

  it('checks the target, placement and retries of a job, and keeps them only when set', async () => {
    for (const retries of [-1, 4, 1.5, '1']) {
      await refused({ retries }, /retries/);
    }
    for (const placement of [
      ['node.labels.gpu'],
      ['== true'],
      'node.role==worker',
      Array(21).fill('node.role==worker'),
    ]) {
      await refused({ placement }, /placement/);
    }
    await refused({ target: '' }, /target/);
    const job = await accepted({ target: 'gpu-cluster', placement: ['node.labels.gpu==true '], retries: 1 });
    assert.deepStrictEqual([job.target, job.placement, job.retries], ['gpu-cluster', ['node.labels.gpu==true'], 1]);
    const plain = await accepted({ target: null, placement: [], retries: 0 });
    assert.deepStrictEqual([plain.target, plain.placement, plain.retries], [undefined, undefined, undefined]);
  });

  it('refuses NUL characters, relative working directories and non-string environment values', async () => {
    await refused({ name: 'a\u0000b' }, /name contains a NUL character/);
    await refused({ command: ['echo', 'a\u0000b'] }, /command\[1\] contains a NUL character/);
    await refused({ env: { KEY: 'a\u0000' } }, /env.KEY contains a NUL character/);
    await refused({ env: { KEY: 5 } }, /env.KEY must be a string/);
    await refused({ env: { ['K'.repeat(300)]: 'v' } }, /a key of env is longer than 256 characters/);
    await refused({ env: 'KEY=1' }, /env takes KEY=VALUE strings or a map/);
    await refused({ workingDir: 'work' }, /must be absolute, e\.g\. \/workspace/);
    await refused({ workspace: 'relative/folder' }, /absolute folder/);
    await refused({ command: 'python train.py' }, /command takes a list of strings/);
    await refused({ name: 'x'.repeat(65) }, /name is longer than 64 characters: use at most 64/);
    await refused({ name: '../etc' }, /looks like a path/);
    await refused({ image: 'Not An Image' }, /not a valid image name/);
  });

  it('imports a jobs file through the same schema: numbers, null and strings for lists are refused', async () => {
    const file = (jobs: string) => `format: 1\njobs:\n${jobs}`;
    const cases: [string, RegExp][] = [
      [file('  - name: 123\n    image: busybox\n'), /Job 1 of the file: name must be a string \(got 123\)/],
      [file('  - name: null\n    image: busybox\n'), /Job 1 of the file: name must be a string \(got null\)/],
      [
        file('  - name: ok\n    image: busybox\n  - name: train\n    image: busybox\n    command: python train.py\n'),
        /Job 2 of the file \("train"\): command takes a list of strings/,
      ],
      [
        file('  - name: t\n    image: busybox\n    timeoutSeconds: 1e308\n'),
        /timeoutSeconds takes a number of seconds/,
      ],
      [file('  - name: t\n    image: busybox\n    cpus: 0\n'), /cpus takes a number of cores/],
      [file('  - name: t\n    image: busybox\n    memoryBytes: 1000\n'), /memoryBytes takes a whole number of bytes/],
      [file('  - name: t\n    image: busybox\n    workspace: /tmp\n'), /unknown field "workspace" in the entry/],
      [file('  - name: "a\\0b"\n    image: busybox\n'), /name contains a NUL character/],
      [file('  - name: t\n'), /the entry lacks the required field "image"/],
      [file('  - just a string\n'), /Job 1 of the file: the entry must be an object/],
      ['format: 1\njobs: {}\n', /needs "format: 1" and a list "jobs"/],
      ['- 1\n- 2\n', /needs "format: 1" and a list "jobs"/],
      ['format: 1\njobs: []\nextra: 1\n', /unknown field "extra"/],
      ['format: 1\njobs: [\n', /not valid YAML or JSON/],
      [JSON.stringify({ format: 1, jobs: [{ name: 't', image: 'busybox', gpus: 1.5 }] }), /gpus takes a whole number/],
    ];
    for (const [text, pattern] of cases) {
      const res = await post('/api/jobs-file', { text });
      assert.strictEqual(res.status, 400, `${text}: ${res.text}`);
      assert.strictEqual(errorOf(res).code, 'invalid_jobs_file', text);
      assert.match(errorOf(res).message, pattern, text);
      assert.deepStrictEqual(await jobNames(), [], `nothing is imported from a refused file: ${text}`);
    }
  });

  it('round-trips an exported file, and an import keeps commands as lists', async () => {
    await client.createJob({
      name: 'train',
      image: 'busybox',
      command: ['sh', '-c', 'echo "a b"'],
      env: { A: '1' },
      cpus: 1.5,
      memory: '512m',
      gpus: 'all',
      timeoutSeconds: JOB_LIMITS.maxTimeoutSeconds,
    });
    const exported = await client.exportJobs('yaml');
    await client.deleteJob('train');
    const result = await client.importJobs(exported);
    assert.deepStrictEqual(result, { created: ['train'], updated: [] });
    const job = await client.getJob('train');
    assert.deepStrictEqual(
      [job.command, job.env, job.cpus, job.memoryBytes, job.gpus, job.timeoutSeconds],
      [['sh', '-c', 'echo "a b"'], { A: '1' }, 1.5, 512 * 1024 ** 2, -1, 2592000],
    );
    await client.deleteJob('train');
  });

  it('refuses a NUL in a dataset path or a model path with 400, not 500', async () => {
    for (const [path, body] of [
      ['/api/datasets', { path: '/tmp/a\u0000b' }],
      ['/api/models', { name: 'm', path: '/tmp/a\u0000b' }],
      ['/api/images/build', { context: '/tmp\u0000', tag: 'x:1' }],
    ] as const) {
      const res = await post(path, body);
      assert.strictEqual(res.status, 400, `${path}: ${res.text}`);
      assert.match(errorOf(res).message, /contains a NUL character/);
    }
  });

  it('checks image names before asking Docker, so a typo is not reported as Docker being down', async () => {
    const res = await raw(backend.port, 'GET', '/api/images?image=Not%20An%20Image');
    assert.strictEqual(res.status, 400, res.text);
    assert.strictEqual(errorOf(res).code, 'invalid_image');
    const pull = await post('/api/images/pull', { image: 'no spaces allowed' });
    assert.strictEqual(pull.status, 400, pull.text);
    const build = await post('/api/images/build', { context: '/nonexistent/folder', tag: 'ok:1' });
    assert.deepStrictEqual([build.status, errorOf(build).code], [400, 'no_dockerfile']);
    // a valid request needs Docker, which this backend cannot reach
    const valid = await raw(backend.port, 'GET', '/api/images?image=busybox');
    assert.deepStrictEqual([valid.status, errorOf(valid).code], [503, 'docker_unavailable']);
  });

  it('refuses service ports, names and paths out of range before Docker is asked', async () => {
    const deploy = (fields: Record<string, unknown>) =>
      post('/api/services', { name: 's', image: 'busybox', ...fields });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ports: [{ hostPort: 0, containerPort: 80 }] }, /hostPort takes a port number from 1 to 65535 \(got 0\)/],
      [{ ports: [{ hostPort: 8080, containerPort: 1e308 }] }, /containerPort takes a port number/],
      [{ ports: ['99999:80'] }, /from 1 to 65535/],
      [{ volumes: ['/tmp\u0000:/data'] }, /contains a NUL character/],
      [{ volumes: ['relative:/data'] }, /must be absolute/],
      [{ name: 'a/b' }, /looks like a path/],
      [{ user: '0:0' }, /unknown field "user"/],
      [{ restart: 'sometimes' }, /restart must be one of "no", "on-failure", "always", "unless-stopped"/],
    ];
    for (const [fields, pattern] of cases) {
      const res = await deploy(fields);
      assert.strictEqual(res.status, 400, `${JSON.stringify(fields)}: ${res.text}`);
      assert.match(errorOf(res).message, pattern);
    }
  });
});

describe('time limits longer than a timer can wait, in a real Docker Engine', function () {
  this.timeout(60000);
  const lab = dockerLabPerTest();

  it('keeps a job with a 29-day limit running instead of failing it at once (no timer overflow)', async () => {
    // 29 days is more than setTimeout's 2^31-1 ms: an unchunked timer would fire after 1 ms
    await lab.client.createJob({
      name: 'long-limit',
      image: BUSYBOX,
      command: ['sh', '-c', 'sleep 2; echo done'],
      timeoutSeconds: 29 * 24 * 3600,
    });
    const run = await waitForRun(lab.client, (await lab.client.runJob('long-limit')).id, [
      'succeeded',
      'failed',
      'stopped',
    ]);
    assert.strictEqual(run.state, 'succeeded', run.reason ?? '');
    assert.strictEqual(run.exitCode, 0);
  });
});

describe('a job stored before limits were checked, in a real Docker Engine', function () {
  this.timeout(60000);
  const lab = dockerLabPerTest();

  it('runs with a time limit of 1e308 s capped instead of failing with an invalid date', async () => {
    // written straight to the store, as an older version accepted it
    const projectId = (await lab.client.listProjects())[0].id;
    await new JobRepository(lab.backend.store, lab.home, new EventBus()).save(
      projectId,
      {
        name: 'old',
        image: BUSYBOX,
        command: ['sh', '-c', 'echo ran'],
        env: {},
        workingDir: null,
        cpus: null,
        memoryBytes: null,
        gpus: 0,
        timeoutSeconds: 1e308,
      },
      null,
      false,
    );
    const run = await waitForRun(lab.client, (await lab.client.runJob('old')).id, ['succeeded', 'failed', 'stopped']);
    assert.strictEqual(run.state, 'succeeded', run.reason ?? '');
  });
});

describe('mllab job create flags', () => {
  it('checks --cpus, --gpus and --timeout against the same limits as the backend, saying the range', () => {
    const limits = { min: 1, max: 2592000, example: '--timeout 3600' };
    assert.strictEqual(numberFlag(undefined, '--timeout', limits), undefined);
    assert.strictEqual(numberFlag('2592000', '--timeout', limits), 2592000);
    for (const bad of ['2592001', '1e308', '0', '-1', 'NaN', '', 'soon']) {
      assert.throws(
        () => numberFlag(bad, '--timeout', limits),
        /--timeout takes a number from 1 to 2592000 \(e\.g\. --timeout 3600\), not "/,
        bad,
      );
    }
    assert.throws(
      () => numberFlag('1.5', '--gpus', { min: 0, max: 64, whole: true, example: '--gpus 1' }),
      /a whole number/,
    );
  });
});

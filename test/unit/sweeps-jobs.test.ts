import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { DockerRuntime } from '../../src/backend/runtime/docker';
import { ApiClient, BackendError } from '../../src/client/api-client';
import type { JobRun } from '../../src/protocol/containers';
import { experimentRoutes } from '../../src/protocol/routes/experiments';
import { jobRoutes } from '../../src/protocol/routes/jobs';
import { sweepRoutes } from '../../src/protocol/routes/sweeps';
import { targetRoutes } from '../../src/protocol/routes/targets';
import type { SweepDetails } from '../../src/protocol/sweeps';
import { labBackend, removeContainersOf, requireDocker, until } from './docker-helpers';
import { raw, REPO, tempHome } from './helpers';
import { writeTrialScript } from './sweep-helpers';

/** Debian's python3 in a local image (scripts/ensure-sklearn-image.sh); it has no Optuna, the controller does. */
const PYTHON_IMAGE = 'mllab-test/python-sklearn:1';

/**
 * A sweep's trials as job runs on the local Docker Engine: a real backend (sql.js store), its real
 * controller (the machine's Python with Optuna) starting each trial through the lab's API, real
 * containers of a locally built image running the trial's script with the ML Lab client the job
 * gets, and run directories ingested as experiments.
 */
describe('sweeps with trials as jobs (real backend, controller and Docker Engine)', function () {
  this.timeout(180000);
  let home: string;
  let work: string;
  let cleanup: () => void;
  let backend: Backend;
  let client: ApiClient;

  before(async function () {
    await requireDocker(this);
    if (!(await new DockerRuntime().image(PYTHON_IMAGE))) {
      spawnSync('bash', [path.join(REPO, 'scripts', 'ensure-sklearn-image.sh')], { stdio: 'ignore', timeout: 600_000 });
    }
    if (!(await new DockerRuntime().image(PYTHON_IMAGE))) {
      process.stderr.write(`Sweep job tests skipped: the image ${PYTHON_IMAGE} cannot be built here\n`);
      this.skip();
    }
    ({ home, cleanup } = tempHome());
    work = path.join(path.dirname(home), 'work');
    fs.mkdirSync(work, { recursive: true });
    ({ backend, client } = await labBackend(home));
  });
  after(async () => {
    if (!client) {
      return;
    }
    client.dispose();
    await backend.stop('test done');
    await removeContainersOf(home);
    cleanup();
  });

  const script = (name: string, body: string) => writeTrialScript(work, name, body);

  const create = (yaml: string) => client.call(sweepRoutes.create, { body: { yaml, dir: work } });
  const get = (id: string) => client.call(sweepRoutes.get, { params: { id } });
  const ended = (id: string) =>
    until(
      async () => {
        const s = await get(id);
        return s.state !== 'running' ? s : undefined;
      },
      150000,
      'the sweep ended',
    );
  const jobRuns = (name: string) => client.call(jobRoutes.runs, { params: { name } });
  const experiment = (id: string, done: (status: string) => boolean) =>
    until(
      async () => {
        const e = await client.call(experimentRoutes.get, { params: { id } }).catch(() => undefined);
        return e && done(e.status) ? e : undefined;
      },
      30000,
      `the run ${id} ingested`,
    );

  /** The most job runs that ran at one time, from their recorded start and end. */
  function mostAtOnce(runs: readonly JobRun[]): number {
    const edges = runs.flatMap((r) => [
      { at: Date.parse(r.startedAt ?? r.createdAt), d: 1 },
      { at: Date.parse(r.endedAt!), d: -1 },
    ]);
    edges.sort((a, b) => a.at - b.at || a.d - b.d);
    let now = 0;
    let most = 0;
    for (const e of edges) {
      now += e.d;
      most = Math.max(most, now);
    }
    return most;
  }

  it('refuses a bad job in sweep.yaml with what to write, and stores nothing', async () => {
    const refusal = async (yaml: string): Promise<string> => {
      const e = await create(yaml).then(
        () => undefined,
        (err: unknown) => err,
      );
      assert.ok(e instanceof BackendError && e.status === 400, `refused: ${String(e)}`);
      return e.message;
    };
    const base = 'metric: loss\ntrials: 2\nparams:\n  x: [1, 2]\n';
    assert.match(
      await refusal(`script: t.py\njob: { cpus: 1 }\n${base}`),
      /job must name an existing job or give the image/,
    );
    assert.match(
      await refusal(`script: t.py\njob: { image: "${PYTHON_IMAGE}", cpu: 1 }\n${base}`),
      /"job\.cpu" is not a field of a sweep's job: the fields are image, cpus/,
    );
    assert.match(
      await refusal(`script: t.py\njob: { image: "${PYTHON_IMAGE}", memory: lots }\n${base}`),
      /^sweep\.yaml: job: /,
    );
    assert.match(
      await refusal(`script: t.py\njob: train\n${base}`),
      /"job: train" runs that job's own command: leave out "script"/,
    );
    assert.deepStrictEqual(await client.call(sweepRoutes.list, {}), []);
    assert.deepStrictEqual(await client.listJobs(), []);
  });

  it('refuses params and tags of a job run that are not flat values, or on a target that records runs itself', async () => {
    await client.createJob({ name: 'plain', image: PYTHON_IMAGE, command: ['true'] });
    const refused = async (body: unknown, message: RegExp) => {
      const res = await raw(backend.port, 'POST', '/api/jobs/plain/runs', { body: JSON.stringify(body) });
      assert.strictEqual(res.status, 400, res.text);
      assert.match((res.json() as { error: { message: string } }).error.message, message);
    };
    await refused({ params: { lr: { nested: 1 } } }, /params\.lr must be a string or a number or a boolean or a null/);
    await refused({ tags: { stage: 5 } }, /tags\.stage must be/);
    await refused({ param: { lr: 1 } }, /param/);
    await refused([{ params: { lr: 1 } }], /the body must be an object or null/);
    // the same engine reached as a target of its own: an engine elsewhere to the lab (runs record through its URL)
    await client.call(targetRoutes.add, { body: { name: 'away', dockerHost: 'unix:///var/run/docker.sock' } });
    await client.createJob({ name: 'elsewhere', image: PYTHON_IMAGE, target: 'away' });
    const res = await raw(backend.port, 'POST', '/api/jobs/elsewhere/runs', {
      body: JSON.stringify({ params: { lr: 1 } }),
    });
    assert.strictEqual(res.status, 400, res.text);
    assert.match(
      (res.json() as { error: { message: string } }).error.message,
      /runs on the target "away", where its code records its own experiment/,
    );
    assert.deepStrictEqual(await client.call(jobRoutes.runs, { params: { name: 'plain' } }), [], 'no run was made');
    assert.deepStrictEqual(await client.call(jobRoutes.runs, { params: { name: 'elsewhere' } }), []);
    await client.deleteJob('elsewhere');
    await client.deleteJob('plain');
    await client.call(targetRoutes.remove, { params: { name: 'away' } });
  });

  it('runs a grid as job runs (at most 2 at once), each a run with its params and sweep tags; a failing trial is failed', async () => {
    // x = 9 fails the way a script does: an exit code and a message on stderr
    script(
      'grid.py',
      'if p["x"] == 9:\n    sys.exit("x is too large for this model")\ntime.sleep(1)\nexp.log_metric("loss", (p["x"] - 2) ** 2)',
    );
    const yaml = [
      'name: grid-jobs',
      'script: grid.py',
      'method: grid',
      'parallel: 2',
      'metric: { name: loss, goal: minimize }',
      'params:',
      '  x: [1, 2, 3, 9]',
      `job: { image: "${PYTHON_IMAGE}", cpus: 1, memory: 512m }`,
    ].join('\n');
    const created = await create(yaml);
    assert.deepStrictEqual(created.definition.job, { image: PYTHON_IMAGE, cpus: 1, memory: '512m' });
    const done: SweepDetails = await ended(created.id);
    assert.strictEqual(done.state, 'finished', done.message ?? '');
    assert.deepStrictEqual(done.counts, { done: 3, running: 0, pruned: 0, failed: 1, total: 4 });
    assert.deepStrictEqual(done.best?.params, { x: 2 });
    assert.strictEqual(done.best?.value, 0);
    const failed = done.trials.find((t) => t.state === 'failed')!;
    assert.deepStrictEqual(failed.params, { x: 9 });
    assert.match(failed.reason ?? '', /exited with code 1: x is too large for this model/);

    // the sweep's job: the sweep's command in the image, the sweep's folder as its workspace
    const jobName = `grid-jobs-sweep-${created.id.slice(0, 8)}`;
    const job = await client.getJob(jobName);
    assert.deepStrictEqual([job.image, job.command, job.cpus], [PYTHON_IMAGE, ['python3', 'grid.py'], 1]);
    const runs = await jobRuns(jobName);
    assert.strictEqual(runs.length, 4, 'a job run per trial');
    assert.ok(mostAtOnce(runs) <= 2, `at most 2 trials ran at once: ${mostAtOnce(runs)}`);
    assert.deepStrictEqual(runs.map((r) => r.state).sort(), ['failed', 'succeeded', 'succeeded', 'succeeded']);
    for (const trial of done.trials) {
      const run = await experiment(trial.runId!, (s) => s !== 'running');
      assert.strictEqual(run.status, trial.state === 'completed' ? 'completed' : 'failed');
      assert.deepStrictEqual(run.params, trial.params, 'the params reached exp.params in the container');
      assert.strictEqual(run.tags['mllab.sweep'], created.id);
      assert.strictEqual(run.tags['mllab.sweep.trial'], String(trial.number));
      assert.strictEqual(run.tags.job, jobName);
      if (trial.state === 'completed') {
        assert.strictEqual(run.metrics.find((m) => m.key === 'loss')?.last, trial.value);
      }
    }
  });

  it('stops a pruned trial by stopping its job run, and a controller killed -9 attaches its job runs again', async () => {
    // every trial logs 50 steps; the first to complete sets the median the later, worse ones are pruned on
    script('curve.py', 'for step in range(50):\n    exp.log_metric("loss", p["x"] + step)\n    time.sleep(0.1)');
    const yaml = [
      'script: curve.py',
      'method: grid',
      'seed: 1',
      'metric: loss',
      'earlyStop: { type: median, startupTrials: 1 }',
      'params:',
      '  x: [0, 5, 6]',
      `job: { image: "${PYTHON_IMAGE}" }`,
    ].join('\n');
    const created = await create(yaml);
    const lock = path.join(home, 'sweeps', created.id, 'controller.lock');
    const running = await until(
      async () => {
        const s = await get(created.id);
        return s.trials[0]?.runId && fs.existsSync(path.join(home, 'runs', s.trials[0].runId, 'events.jsonl'))
          ? s.trials[0]
          : undefined;
      },
      60000,
      'the first trial running',
    );
    const first = Number(fs.readFileSync(lock, 'utf8'));
    process.kill(first, 'SIGKILL'); // the backend starts another, which must follow the same job run
    const done = await ended(created.id);
    assert.strictEqual(done.state, 'finished', done.message ?? '');
    assert.notStrictEqual(Number(fs.readFileSync(lock, 'utf8')), first, 'another controller finished it');
    assert.deepStrictEqual(
      done.trials.map((t) => t.number),
      [0, 1, 2],
    );
    assert.strictEqual(done.trials[0].runId, running.runId, 'trial 0 kept its run');
    assert.strictEqual(done.trials[0].state, 'completed', 'the first trial has no median to be pruned on');
    const jobName = `curve-sweep-${created.id.slice(0, 8)}`;
    const runs = await jobRuns(jobName);
    assert.strictEqual(runs.length, 3, 'no trial started twice');
    const pruned = done.trials.filter((t) => t.state === 'pruned');
    assert.ok(pruned.length >= 1, `a worse trial was pruned: ${JSON.stringify(done.trials.map((t) => t.state))}`);
    for (const t of pruned) {
      assert.ok(t.prunedStep !== null && t.prunedStep < 49, `pruned before its end (step ${t.prunedStep})`);
      assert.match(t.reason ?? '', /median/);
      const run = await experiment(t.runId!, (s) => s !== 'running');
      assert.strictEqual(run.status, 'interrupted');
      assert.match(run.tags['mllab.sweep.pruned'] ?? '', /^step \d+: /);
      const jobRun = runs.find((r) => path.basename(r.runDir) === t.runId)!;
      assert.strictEqual(jobRun.state, 'stopped', 'the pruned trial was stopped through its job run');
    }
  });
});

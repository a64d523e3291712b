import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { ApiClient, BackendError } from '../../src/client/api-client';
import { EventStream } from '../../src/client/event-stream';
import { experimentRoutes } from '../../src/protocol/routes/experiments';
import { sweepRoutes } from '../../src/protocol/routes/sweeps';
import type { BackendEvent } from '../../src/protocol/api';
import type { SweepDetails } from '../../src/protocol/sweeps';
import { until } from './experiments-helpers';
import { startBackend, tempHome, TEST_TOKEN } from './helpers';
import { writeTrialScript } from './sweep-helpers';

/**
 * Sweeps over the real API on 127.0.0.1: a real backend (sql.js store), its real controller process
 * (Python with Optuna), trials as real processes writing real run directories that the backend
 * ingests as experiments.
 */
describe('sweeps over the API (real backend, controller and trial processes)', function () {
  this.timeout(120000);
  let home: string;
  let work: string;
  let cleanup: () => void;
  let backend: Backend;
  let client: ApiClient;
  const events: BackendEvent[] = [];

  before(async () => {
    ({ home, cleanup } = tempHome());
    work = path.join(path.dirname(home), 'work');
    fs.mkdirSync(work, { recursive: true });
    backend = await startBackend(home);
    client = new ApiClient(backend.port, TEST_TOKEN);
    const project = await client.createProject('Tuning');
    await client.setActiveProject(project.id);
  });
  after(async () => {
    client.dispose();
    await backend.stop('test done');
    cleanup();
  });

  const script = (name: string, body: string) => writeTrialScript(work, name, body);

  const create = (yaml: string, extra: { trials?: number; parallel?: number } = {}) =>
    client.call(sweepRoutes.create, { body: { yaml, dir: work, ...extra } });
  const get = (id: string) => client.call(sweepRoutes.get, { params: { id } });
  const ended = (id: string, state = 'finished') =>
    until(
      `the sweep ${state}`,
      async () => {
        const s = await get(id);
        return s.state === state ? s : undefined;
      },
      90000,
    );

  async function refusal(yaml: string, dir = work): Promise<BackendError> {
    try {
      await client.call(sweepRoutes.create, { body: { yaml, dir } });
    } catch (e) {
      assert.ok(e instanceof BackendError, String(e));
      assert.strictEqual(e.status, 400);
      return e;
    }
    throw new Error('it was accepted');
  }

  it('refuses a bad sweep.yaml with a message that says what to write, and stores nothing', async () => {
    const base = 'script: t.py\nmetric: loss\ntrials: 3\n';
    assert.match(
      (await refusal(`${base}params:\n  lr: { type: number, min: 0, max: 1 }\n`)).message,
      /^sweep\.yaml: params\.lr has the type "number": use one of choice, int, float/,
    );
    assert.match(
      (await refusal(`${base}params:\n  lr: { type: float, min: 1, max: 1 }\n`)).message,
      /params\.lr has an empty range \(min 1, max 1\): make max greater than min\./,
    );
    assert.match(
      (await refusal(`${base}params:\n  opt: { type: choice, values: [] }\n`)).message,
      /params\.opt is a choice with no values/,
    );
    assert.match(
      (await refusal(`${base}params:\n  lr: { type: float, min: 0, max: 1, log: true }\n`)).message,
      /params\.lr is on a log scale, so min must be above 0, not 0\./,
    );
    assert.match(
      (await refusal(`script: t.py\nmetric: loss\nmethod: grid\nparams:\n  lr: { type: float, min: 0, max: 1 }\n`))
        .message,
      /a grid needs a step for a float range/,
    );
    assert.match(
      (await refusal(`script: t.py\nmetric: loss\nparams:\n  lr: [1, 2]\n`)).message,
      /give the number of trials \("trials: 20"\)/,
    );
    assert.match(
      (await refusal(`${base}params:\n  m: { type: float, min: 0, max: 1, when: { opt: sgd } }\n`)).message,
      /params\.m\.when names "opt", which is not a choice param written before "m"/,
    );
    assert.match((await refusal(`${base}paramz: {}\n`)).message, /"paramz" is not a field of a sweep/);
    assert.match((await refusal(`${base}params: [\n`)).message, /it is not valid YAML/);
    assert.match((await refusal(`${base}params:\n  lr: [1, 2]\n`, 'relative/dir')).message, /must be an absolute path/);
    assert.deepStrictEqual(await client.call(sweepRoutes.list, {}), []);
    assert.ok(!fs.existsSync(path.join(home, 'sweeps')) || fs.readdirSync(path.join(home, 'sweeps')).length === 0);
  });

  it('runs a grid as tagged experiment runs, with the best trial, the history and the importances', async () => {
    const stream = new EventStream(
      client,
      (e) => events.push(e),
      () => undefined,
    );
    script('grid.py', 'exp.log_metric("loss", (p["x"] - 2) ** 2 + (0.5 if p["opt"] == "sgd" else 0))');
    const yaml = [
      'name: grid-demo',
      'script: grid.py',
      'method: grid',
      'parallel: 2',
      'metric: { name: loss, goal: minimize }',
      'params:',
      '  x: { type: int, min: 0, max: 4 }',
      '  opt: [sgd, adam]',
    ].join('\n');
    const created = await create(yaml);
    assert.strictEqual(created.state, 'running');
    assert.strictEqual(created.definition.trials, 10, 'a grid runs its size when trials is not given');
    const done = await ended(created.id);
    stream.dispose();
    assert.deepStrictEqual(done.counts, { done: 10, running: 0, pruned: 0, failed: 0, total: 10 });
    const grid = done.trials.map((t) => `${t.params.x}/${t.params.opt}`).sort();
    assert.deepStrictEqual(grid, ['0', '1', '2', '3', '4'].flatMap((x) => [`${x}/adam`, `${x}/sgd`]).sort());
    assert.deepStrictEqual(done.best?.params, { x: 2, opt: 'adam' });
    assert.strictEqual(done.best?.value, 0);
    assert.strictEqual(done.history.length, 10);
    assert.strictEqual(done.history[done.history.length - 1].best, 0);
    for (let i = 1; i < done.history.length; i++) {
      assert.ok(done.history[i].best <= done.history[i - 1].best, 'the best so far never gets worse');
    }
    assert.ok(done.importances, done.importanceNote ?? 'no importances');
    assert.strictEqual(done.importances.evaluator, 'fanova');
    assert.deepStrictEqual(done.importances.values.map((v) => v.param).sort(), ['opt', 'x']);
    assert.strictEqual(done.importances.values[0].param, 'x', 'x moves the loss most');
    // each trial is an ordinary experiment of the project, tagged with its sweep and number
    for (const trial of done.trials) {
      const run = await until('the run ingested', async () => {
        const e = await client.call(experimentRoutes.get, { params: { id: trial.runId! } }).catch(() => undefined);
        return e?.status === 'completed' ? e : undefined;
      });
      assert.deepStrictEqual(run.params, trial.params);
      assert.strictEqual(run.tags['mllab.sweep'], created.id);
      assert.strictEqual(run.tags['mllab.sweep.trial'], String(trial.number));
      assert.strictEqual(run.name, `grid-demo-trial-${trial.number}`);
      assert.strictEqual(run.metrics.find((m) => m.key === 'loss')?.last, trial.value);
    }
    const updates = events.filter((e) => e.type === 'sweepUpdated' && e.sweep.id === created.id);
    assert.ok(updates.length >= 2, 'sweepUpdated events were published');
    const last = updates[updates.length - 1];
    assert.ok(last.type === 'sweepUpdated' && last.sweep.state === 'finished');
    assert.strictEqual((await client.call(sweepRoutes.list, {}))[0].id, created.id);
  });

  it('pauses (running trials end, none starts), resumes, adds trials and stops', async () => {
    const gate = path.join(work, 'open');
    script(
      'gated.py',
      `exp.log_metric("loss", p["x"])\nwhile not os.path.exists(${JSON.stringify(gate)}):\n    time.sleep(0.02)`,
    );
    const yaml =
      'script: gated.py\nmethod: random\nseed: 4\ntrials: 4\nparallel: 2\nmetric: loss\nparams:\n  x: { type: float, min: 0, max: 1 }\n';
    const s = await create(yaml);
    await until('two trials running', async () => ((await get(s.id)).counts.running === 2 ? true : undefined));
    const paused = await client.call(sweepRoutes.pause, { params: { id: s.id } });
    assert.strictEqual(paused.state, 'paused');
    fs.writeFileSync(gate, '');
    const afterPause = await until('the running trials ended', async () => {
      const d = await get(s.id);
      return d.counts.done === 2 && d.counts.running === 0 ? d : undefined;
    });
    assert.strictEqual(afterPause.trials.length, 2, 'no trial started while paused');
    assert.strictEqual(afterPause.state, 'paused');
    await client.call(sweepRoutes.resume, { params: { id: s.id } });
    const finished = await ended(s.id);
    assert.strictEqual(finished.trials.length, 4);
    const more = await client.call(sweepRoutes.addTrials, { params: { id: s.id }, body: { add: 2 } });
    assert.deepStrictEqual([more.state, more.counts.total], ['running', 6]);
    const again = await ended(s.id);
    assert.deepStrictEqual(
      again.trials.map((t) => t.number),
      [0, 1, 2, 3, 4, 5],
    );
    fs.rmSync(gate);
    await client.call(sweepRoutes.addTrials, { params: { id: s.id }, body: { add: 2 } });
    await until('a new trial running', async () => ((await get(s.id)).counts.running > 0 ? true : undefined));
    const stopped = await client.call(sweepRoutes.stop, { params: { id: s.id } });
    assert.strictEqual(stopped.state, 'stopped');
    const final = await until('the running trials stopped', async () => {
      const d = await get(s.id);
      return d.counts.running === 0 && d.trials.length > 6 ? d : undefined;
    });
    for (const t of final.trials.slice(6)) {
      assert.deepStrictEqual([t.state, t.reason], ['failed', 'stopped with the sweep']);
      const run = await until('the stopped run ingested', async () => {
        const e = await client.call(experimentRoutes.get, { params: { id: t.runId! } }).catch(() => undefined);
        return e && e.status !== 'running' ? e : undefined;
      });
      assert.strictEqual(run.status, 'interrupted');
    }
    await assert.rejects(client.call(sweepRoutes.pause, { params: { id: s.id } }), (e: BackendError) => {
      assert.strictEqual(e.status, 409);
      assert.match(e.message, /is stopped: it can be paused only while running/);
      return true;
    });
  });

  it('goes on when its controller is killed (-9) or the backend restarts, with no trial repeated or lost', async () => {
    script('steps.py', 'for step in range(6):\n    exp.log_metric("loss", p["x"] + step)\n    time.sleep(0.05)');
    const yaml =
      'script: steps.py\nmethod: tpe\nseed: 2\ntrials: 10\nparallel: 2\nmetric: loss\nparams:\n  x: { type: float, min: 0, max: 1 }\n';
    const s = await create(yaml);
    const lock = path.join(home, 'sweeps', s.id, 'controller.lock');
    await until('2 trials ended', async () => {
      const d = await get(s.id);
      return d.counts.done >= 2 && d.counts.running > 0 ? true : undefined;
    });
    const first = Number(fs.readFileSync(lock, 'utf8'));
    process.kill(first, 'SIGKILL');
    // the backend starts it again; then the backend itself is stopped mid-sweep and started again
    await until('a new controller', async () => {
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      return pid !== first && (await get(s.id)).counts.done >= 4 ? true : undefined;
    });
    client.dispose();
    await backend.stop('restart in a test');
    backend = await startBackend(home);
    client = new ApiClient(backend.port, TEST_TOKEN);
    const done: SweepDetails = await ended(s.id);
    assert.deepStrictEqual(
      done.trials.map((t) => t.number),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.deepStrictEqual(done.counts, { done: 10, running: 0, pruned: 0, failed: 0, total: 10 });
    const runIds = new Set(done.trials.map((t) => t.runId));
    assert.strictEqual(runIds.size, 10, 'a run per trial');
    const tagged = fs
      .readdirSync(path.join(home, 'runs'))
      .map((id) => JSON.parse(fs.readFileSync(path.join(home, 'runs', id, 'run.json'), 'utf8')))
      .filter((m: { tags: Record<string, string> }) => m.tags['mllab.sweep'] === s.id);
    assert.strictEqual(tagged.length, 10, 'no run of a trial started twice');
  });

  it('says after the first trial that the metric is never logged, and stops after K failures', async () => {
    script('nometric.py', 'exp.log_metric("acc", 0.9)');
    const none = await create('script: nometric.py\ntrials: 10\nmetric: loss\nparams:\n  x: [1, 2, 3]\n');
    const failedOnce = await ended(none.id, 'failed');
    assert.strictEqual(failedOnce.trials.length, 1);
    assert.match(failedOnce.message ?? '', /The metric "loss" was never logged: trial 0 ended without a value/);
    script('crash.py', 'raise SystemExit("no data.csv here")');
    const crash = await create('script: crash.py\ntrials: 10\nmaxFailures: 2\nmetric: loss\nparams:\n  x: [1, 2, 3]\n');
    const failed = await ended(crash.id, 'failed');
    assert.deepStrictEqual(
      failed.trials.map((t) => t.state),
      ['failed', 'failed'],
    );
    assert.match(failed.message ?? '', /2 trials failed in a row .*no data\.csv here/);
    // resumed after the fix, it goes on with the next trial numbers
    script('crash.py', 'exp.log_metric("loss", p["x"])');
    await client.call(sweepRoutes.resume, { params: { id: crash.id } });
    const fixed = await ended(crash.id);
    assert.strictEqual(fixed.counts.done, 8);
    assert.strictEqual(fixed.message, null);
  });

  it('refuses a sweep when its Python has no Optuna, saying how to install it', async () => {
    // a Python that cannot import what is installed (-S: no site-packages), named as the user would
    const noOptuna = path.join(path.dirname(home), 'python-without-optuna');
    fs.writeFileSync(noOptuna, '#!/bin/sh\nexec python3 -S "$@"\n', { mode: 0o700 });
    process.env.MLLAB_SWEEP_PYTHON = noOptuna;
    try {
      const e = await refusal('script: t.py\ntrials: 2\nmetric: loss\nparams:\n  x: [1, 2]\n');
      assert.strictEqual(e.code, 'optuna_missing');
      assert.match(
        e.message,
        /^Sweeps need Optuna, which none of .*python-without-optuna has: install it with "sudo apt install python3-optuna" or "pip install optuna"/,
      );
    } finally {
      delete process.env.MLLAB_SWEEP_PYTHON;
    }
    assert.ok(
      (await client.call(sweepRoutes.list, {})).every((s) => s.definition.command[1] !== 't.py'),
      'nothing stored',
    );
  });

  it('stops the trials and the controller of a sweep whose project is deleted, and does not start them again', async () => {
    const doomed = await client.createProject('Doomed');
    const pids = path.join(work, 'pids');
    fs.mkdirSync(pids, { recursive: true });
    script(
      'forever.py',
      `open(os.path.join(${JSON.stringify(pids)}, str(os.getpid())), "w").close()\nwhile True:\n    exp.log_metric("loss", p["x"])\n    time.sleep(0.05)`,
    );
    const yaml =
      'script: forever.py\nmethod: random\nseed: 1\ntrials: 4\nparallel: 2\nmetric: loss\nparams:\n  x: { type: float, min: 0, max: 1 }\n';
    const s = await client.call(sweepRoutes.create, { body: { yaml, dir: work }, query: { project: doomed.id } });
    const trials = await until('two trials running', async () => {
      const started = fs.readdirSync(pids).map(Number);
      return started.length === 2 ? started : undefined;
    });
    const lock = path.join(home, 'sweeps', s.id, 'controller.lock');
    const controller = Number(fs.readFileSync(lock, 'utf8'));
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.ok([controller, ...trials].every(alive));
    await client.deleteProject(doomed.id);
    await until('the trials and the controller ended', async () =>
      [controller, ...trials].some(alive) ? undefined : true,
    );
    // nothing starts it again: no new controller, no new trial
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepStrictEqual(fs.readdirSync(pids).map(Number).sort(), [...trials].sort());
    assert.strictEqual(Number(fs.readFileSync(lock, 'utf8')), controller);
    await assert.rejects(client.call(sweepRoutes.get, { params: { id: s.id } }), (e: BackendError) => e.status === 404);
  });

  it('finds a sweep only in its project', async () => {
    const [sweep] = await client.call(sweepRoutes.list, {});
    const other = await client.createProject('Other');
    await assert.rejects(
      client.call(sweepRoutes.get, { params: { id: sweep.id }, query: { project: other.id } }),
      (e: BackendError) => e.status === 404 && /No sweep/.test(e.message),
    );
    assert.deepStrictEqual(await client.call(sweepRoutes.list, { query: { project: other.id } }), []);
  });
});

import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Sweep, SweepDetails } from '../../src/protocol/sweeps';
import { REPO, tempHome } from './helpers';
import { activeLabProject, cli, cliAsync, stopBackendOf } from './process-helpers';

/**
 * `mllab sweep` and the Python client's `mllab.sweep(...)` with the built bundle (dist/cli.js,
 * dist/backend.js: the backend a CLI starts finds the Python client next to it): a sweep run to its
 * end with --wait, listed and shown with --json, its bad input said in words.
 */
describe('sweeps from the CLI and the Python client (built bundle)', function () {
  this.timeout(120000);
  let home: string;
  let work: string;
  let cleanup: () => void;

  before(() => {
    ({ home, cleanup } = tempHome());
    work = path.join(path.dirname(home), 'work');
    fs.mkdirSync(work, { recursive: true });
    activeLabProject(home);
    fs.writeFileSync(
      path.join(work, 'train.py'),
      [
        'import mllab',
        'with mllab.experiment() as exp:',
        '    p = exp.params',
        '    for step in range(3):',
        '        exp.log_metric("val_loss", (p["lr"] - 0.01) ** 2 + p.get("momentum", 0) + 1 / (step + 1))',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(work, 'sweep.yaml'),
      [
        'name: lr-search',
        'script: train.py',
        'method: random',
        'seed: 5',
        'trials: 5',
        'metric: { name: val_loss, goal: minimize, use: best }',
        'params:',
        '  lr: { type: float, min: 0.0001, max: 0.1, log: true }',
        '  optimizer: [sgd, adam]',
        '  momentum: { type: float, min: 0, max: 0.9, when: { optimizer: sgd } }',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await stopBackendOf(home);
    cleanup();
  });

  it('runs a sweep to its end with --wait, lists and shows it as JSON', async () => {
    const run = await cliAsync(
      ['sweep', 'run', path.join(work, 'sweep.yaml'), '--parallel', '2', '--wait', '--json', '--home', home],
      { cwd: work },
    );
    assert.strictEqual(run.status, 0, run.stderr);
    const done = run.json<SweepDetails>();
    assert.strictEqual(done.state, 'finished');
    assert.deepStrictEqual([done.definition.parallel, done.counts.done], [2, 5]);
    for (const t of done.trials) {
      const lr = t.params.lr as number;
      assert.ok(lr >= 0.0001 && lr <= 0.1);
      assert.strictEqual('momentum' in t.params, t.params.optimizer === 'sgd');
    }
    const list = cli(['sweep', 'list', '--json', '--home', home]);
    assert.strictEqual(list.status, 0, list.stderr);
    assert.deepStrictEqual(
      list.json<Sweep[]>().map((s) => [s.id, s.state]),
      [[done.id, 'finished']],
    );
    const show = cli(['sweep', 'show', done.id, '--home', home]);
    assert.strictEqual(show.status, 0, show.stderr);
    assert.match(show.stdout, /lr-search \(.*\): finished; random, minimize val_loss, 2 at once/);
    assert.match(show.stdout, /5\/5 ended: 5 done, 0 running, 0 pruned, 0 failed; best val_loss/);
  });

  it('says what is wrong with a bad file, a bad flag and an unknown sweep', () => {
    fs.writeFileSync(
      path.join(work, 'bad.yaml'),
      'script: train.py\ntrials: 2\nmetric: loss\nparams:\n  lr: { type: float, min: 2, max: 1 }\n',
    );
    const bad = cli(['sweep', 'run', path.join(work, 'bad.yaml'), '--home', home]);
    assert.strictEqual(bad.status, 1);
    assert.match(
      bad.stderr,
      /sweep\.yaml: params\.lr has an empty range \(min 2, max 1\): make max greater than min\./,
    );
    const flag = cli(['sweep', 'run', path.join(work, 'sweep.yaml'), '--parallel', '0', '--home', home]);
    assert.match(flag.stderr, /--parallel takes a whole number of at least 1, not "0"/);
    const missing = cli(['sweep', 'run', path.join(work, 'nope.yaml'), '--home', home]);
    assert.match(missing.stderr, /Cannot read .*nope\.yaml/);
    const unknown = cli(['sweep', 'show', 'no-such-sweep', '--json', '--home', home]);
    assert.strictEqual(unknown.status, 1);
    assert.strictEqual(unknown.json<{ error: { code: string } }>().error.code, 'not_found');
  });

  it('runs a sweep from Python with mllab.sweep(dict) and returns its best trial', () => {
    const code = [
      'import json, mllab',
      'result = mllab.sweep({"script": "train.py", "method": "tpe", "seed": 1, "trials": 4,',
      '                      "metric": "val_loss", "params": {"lr": {"type": "float", "min": 0.001, "max": 0.1}}},',
      '                     quiet=True)',
      'print(json.dumps({"state": result["state"], "best": result["best"], "n": len(result["trials"])}))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', code], {
      cwd: work,
      encoding: 'utf8',
      timeout: 90000,
      env: { ...process.env, PYTHONPATH: path.join(REPO, 'python'), MLLAB_HOME: home },
    });
    assert.strictEqual(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { state: string; best: { params: { lr: number } }; n: number };
    assert.deepStrictEqual([out.state, out.n], ['finished', 4]);
    assert.ok(out.best.params.lr >= 0.001 && out.best.params.lr <= 0.1);
    const failing = spawnSync(
      'python3',
      [
        '-c',
        'import mllab\nmllab.sweep({"script": "train.py", "trials": 1, "metric": "nope", "params": {"lr": [1]}}, quiet=True)',
      ],
      {
        cwd: work,
        encoding: 'utf8',
        timeout: 90000,
        env: { ...process.env, PYTHONPATH: path.join(REPO, 'python'), MLLAB_HOME: home },
      },
    );
    assert.notStrictEqual(failing.status, 0);
    assert.match(failing.stderr, /MLLabError: The sweep train failed: The metric "nope" was never logged/);
  });
});

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Experiment, ExperimentDetails, MetricSeries, RunManifest } from '../../src/protocol/experiments';
import { eventually, tempHome } from './helpers';
import { cli, eachCliLab, stopBackendOf } from './process-helpers';

describe('mllab run and mllab exp (built CLI, real Python, real backend)', function () {
  this.timeout(60000);
  let home: string;
  let root: string;
  eachCliLab((h, r) => ([home, root] = [h, r]));

  function script(name: string, body: string): string {
    const file = path.join(root, name);
    fs.writeFileSync(file, body);
    return file;
  }

  it('wraps a command as an experiment: params, output, exit code, git-free cwd, and metrics the script logs', async () => {
    const train = script(
      'train.py',
      [
        'import mllab, sys',
        'with mllab.experiment("ignored-inside-mllab-run") as exp:',
        '    for i in range(10):',
        '        exp.log_metric("loss", 1 / (i + 1))',
        'print("hello from the script")',
        'print("warning", file=sys.stderr)',
      ].join('\n'),
    );
    const r = cli([
      'run',
      '--home',
      home,
      '--name',
      'train',
      '--param',
      'lr=0.1',
      '--param',
      'opt=adam',
      '--json',
      '--',
      'python3',
      train,
    ]);
    assert.strictEqual(r.status, 0, r.stderr);
    const result = r.json<{ id: string; status: string; exitCode: number; dir: string }>();
    assert.strictEqual(result.status, 'completed');
    const manifest = JSON.parse(fs.readFileSync(path.join(result.dir, 'run.json'), 'utf8')) as RunManifest;
    assert.strictEqual(manifest.status, 'completed');
    assert.strictEqual(manifest.exitCode, 0);
    assert.deepStrictEqual(manifest.params, { lr: 0.1, opt: 'adam' });
    assert.deepStrictEqual(manifest.command, ['python3', train]);
    assert.strictEqual(manifest.script?.copy, path.join('source', 'train.py'));
    assert.ok(manifest.host.cpus > 0);
    assert.strictEqual(fs.readFileSync(path.join(result.dir, 'stdout.log'), 'utf8'), 'hello from the script\n');
    assert.strictEqual(fs.readFileSync(path.join(result.dir, 'stderr.log'), 'utf8'), 'warning\n');

    // the backend ingests the run directory: the CLI sees the run with its metric summary
    const shown = await eventually(() => {
      const s = cli(['exp', 'show', result.id, '--home', home, '--json']);
      const e = s.status === 0 ? s.json<ExperimentDetails>() : undefined;
      return e?.metrics.some((m) => m.key === 'loss' && m.count === 10) ? e : undefined;
    });
    assert.strictEqual(shown.status, 'completed');
    assert.strictEqual(shown.exitCode, 0);
    const loss = shown.metrics.find((m) => m.key === 'loss')!;
    assert.deepStrictEqual([loss.count, loss.last, loss.min, loss.max], [10, 0.1, 0.1, 1]);
    const list = cli(['exp', 'list', '--home', home, '--json']).json<Experiment[]>();
    assert.deepStrictEqual(
      list.map((e) => e.id),
      [result.id],
    );
    const series = cli(['exp', 'metrics', result.id, 'loss', '--home', home, '--json']).json<MetricSeries>();
    assert.deepStrictEqual(series.steps, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.strictEqual(series.values[0], 1);
  });

  it('passes the exit code of a failing command through and records the run as failed', () => {
    const crash = script('crash.py', 'raise SystemExit(3)\n');
    const r = cli(['run', '--home', home, '--json', '--', 'python3', crash]);
    assert.strictEqual(r.status, 3);
    const result = r.json<{ status: string; exitCode: number; dir: string }>();
    assert.strictEqual(result.status, 'failed');
    assert.strictEqual(result.exitCode, 3);
    const manifest = JSON.parse(fs.readFileSync(path.join(result.dir, 'run.json'), 'utf8')) as RunManifest;
    assert.strictEqual(manifest.name, 'crash');
    assert.strictEqual(manifest.status, 'failed');
  });

  it('says that a run waits when no project is active, and ingests it once one is created', async () => {
    const { home: bare, cleanup: cleanBare } = tempHome();
    try {
      const r = cli(['run', '--home', bare, '--json', '--', 'python3', '-c', 'print(1)']);
      assert.strictEqual(r.status, 0, r.stderr);
      assert.match(r.stderr, /no project is active: this run is recorded and waits for one/);
      const { id } = r.json<{ id: string }>();
      const named = cli(['run', '--home', bare, '--project', 'nope', '--', 'true']);
      assert.match(named.stderr, /there is no project "nope": this run is recorded and waits for it/);
      await eventually(
        () => cli(['status', '--home', bare, '--json']).json<{ waitingRuns: number }>().waitingRuns === 2,
      );
      assert.strictEqual(cli(['project', 'create', 'first', '--home', bare]).status, 0);
      await eventually(() => {
        const list = cli(['exp', 'list', '--home', bare, '--json']).json<Experiment[]>();
        return list.some((e) => e.id === id) ? list : undefined;
      });
    } finally {
      await stopBackendOf(bare);
      cleanBare();
    }
  });

  it('says what to do for a missing command or bad params', () => {
    const missing = cli(['run', '--home', home, '--', 'no-such-program-xyz']);
    assert.strictEqual(missing.status, 1);
    assert.match(missing.stderr, /Could not start "no-such-program-xyz"/);
    const bad = cli(['run', '--home', home, '--param', 'novalue', '--', 'true']);
    assert.match(bad.stderr, /--param takes KEY=VALUE, not "novalue"/);
    const none = cli(['run', '--home', home]);
    assert.match(none.stderr, /Give the command to run after "--"/);
  });
});

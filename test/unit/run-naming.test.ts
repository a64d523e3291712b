import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Experiment, RunManifest } from '../../src/protocol/experiments';
import { eventually } from './helpers';
import { cli, eachCliLab } from './process-helpers';

/**
 * Which name a run gets, and what it records of the process that ran the script: `mllab run`
 * (which Run as Experiment uses) with a real Python and the built CLI.
 */
describe('mllab run: the run name and the environment of the script (built CLI, real Python)', function () {
  this.timeout(60000);
  let home: string;
  let root: string;
  eachCliLab((h, r) => ([home, root] = [h, r]));

  const python = execFileSync('python3', ['-c', 'import platform; print(platform.python_version())'], {
    encoding: 'utf8',
  }).trim();

  function script(relative: string, body: string): string {
    const file = path.join(root, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, body);
    return file;
  }

  const named = (name: string) =>
    ['import mllab', `with mllab.experiment(${JSON.stringify(name)}) as exp:`, '    exp.log_metric("m", 1)'].join('\n');

  function run(args: string[]): { id: string; name: string; dir: string; manifest: RunManifest } {
    const r = cli(['run', '--home', home, '--json', ...args]);
    assert.strictEqual(r.status, 0, r.stderr);
    const result = r.json<{ id: string; name: string; dir: string }>();
    const manifest = JSON.parse(fs.readFileSync(path.join(result.dir, 'run.json'), 'utf8')) as RunManifest;
    return { ...result, manifest };
  }

  it('takes the name given in code over the file name, and records the Python that ran', async () => {
    const train = script('train.py', named('sensor-faults'));
    const r = run(['--', 'python3', train]);
    assert.strictEqual(r.name, 'sensor-faults');
    assert.strictEqual(r.manifest.name, 'sensor-faults');
    assert.strictEqual(r.manifest.status, 'completed', 'the end was recorded over what the script wrote');
    assert.strictEqual(r.manifest.runtime.python, python);
    assert.ok(r.manifest.runtime['python executable'], JSON.stringify(r.manifest.runtime));
    assert.strictEqual(r.manifest.runtime.node, undefined, "the CLI's own Node is not the run's runtime");
    assert.strictEqual(r.manifest.packages, 'packages.txt');
    assert.ok(fs.statSync(path.join(r.dir, 'packages.txt')).isFile());
    const shown = await eventually(() => {
      const list = cli(['exp', 'list', '--home', home, '--json']);
      return list.status === 0
        ? list.json<Experiment[]>().find((e) => e.id === r.id && e.status === 'completed')
        : undefined;
    });
    assert.strictEqual(shown.name, 'sensor-faults');
  });

  it('keeps a name given with --name, and the one in code as a tag', () => {
    const train = script('train.py', named('sensor-faults'));
    const r = run(['--name', 'baseline', '--', 'python3', train]);
    assert.strictEqual(r.manifest.name, 'baseline');
    const events = fs
      .readFileSync(path.join(r.dir, 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { k: string; key?: string; v?: unknown });
    assert.deepStrictEqual(
      events.filter((e) => e.k === 'tag').map((e) => [e.key, e.v]),
      [['mllab.experiment', 'sensor-faults']],
    );
  });

  it('names the run after the file when the code gives no name', () => {
    const train = script('fit_model.py', 'import mllab\nwith mllab.experiment() as exp:\n    exp.log_metric("m", 1)\n');
    assert.strictEqual(run(['--', 'python3', train]).manifest.name, 'fit_model');
  });

  it('says whether git holds the script: tracked, not tracked, ignored', () => {
    const git = (...args: string[]) =>
      execFileSync(
        'git',
        ['-c', 'user.email=t@example.com', '-c', 'user.name=t', '-c', 'commit.gpgsign=false', ...args],
        { cwd: root, stdio: 'pipe' },
      );
    git('init', '-q');
    script('.gitignore', 'scratch/\n.mllab/\n');
    const tracked = script('tracked.py', 'print(1)\n');
    const untracked = script('new.py', 'print(2)\n');
    const ignored = script(path.join('scratch', 'ignored.py'), 'print(3)\n');
    git('add', '.gitignore', 'tracked.py');
    git('commit', '-q', '-m', 'c');
    const seen = [tracked, untracked, ignored].map((file) => {
      const r = run(['--', 'python3', file]);
      return [path.relative(root, file), r.manifest.git?.script, r.manifest.git?.commit?.length];
    });
    assert.deepStrictEqual(seen, [
      ['tracked.py', 'tracked', 40],
      ['new.py', 'untracked', 40],
      [path.join('scratch', 'ignored.py'), 'ignored', 40],
    ]);
  });
});

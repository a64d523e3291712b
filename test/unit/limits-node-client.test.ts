import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Experiment } from '../../src/client/runs/experiment';
import { RunWriter } from '../../src/client/runs/run-writer';
import { RUN_LIMITS } from '../../src/protocol/limits';
import { tempHome } from './helpers';

type Line = Record<string, unknown> & { k: string };

describe('limits: the Node client bounds what a run records', () => {
  let temp: ReturnType<typeof tempHome>;
  let errors: string[];
  const write = process.stderr.write.bind(process.stderr);
  beforeEach(() => {
    temp = tempHome();
    errors = [];
    process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
  });
  afterEach(() => {
    process.stderr.write = write;
    temp.cleanup();
  });

  const start = (name = 'limits', params: Record<string, unknown> = {}) =>
    new Experiment(
      RunWriter.create({ home: temp.home, name, project: null, params, command: ['node'], cwd: temp.home }),
    );
  const lines = (exp: Experiment): Line[] =>
    fs
      .readFileSync(path.join(exp.dir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);

  it('cuts long param, tag, result and description values, with a warning in the run and on stderr', () => {
    const exp = start('limits', { early: 'e'.repeat(7000) });
    exp.logParam('big', 'p'.repeat(50_000_000));
    exp.logParams({ nested: { list: Array.from({ length: 10_000 }, (_, i) => i) }, fine: 'ok' });
    exp.setTag('note', 't'.repeat(20_000));
    exp.setResult({ values: Array.from({ length: 1000 }, () => 'r'.repeat(100)) });
    const model = path.join(temp.home, 'model.pkl');
    fs.writeFileSync(model, 'weights');
    exp.logModel(model, 'm', {
      description: 'd'.repeat(70_000),
      tags: Array.from({ length: 1200 }, () => 'x'.repeat(300)),
    });
    exp.end();
    const events = lines(exp);
    const params = Object.fromEntries(events.filter((e) => e.k === 'param').map((e) => [e.key, e.v]));
    assert.strictEqual(params.big, 'p'.repeat(6000));
    assert.strictEqual(typeof params.nested, 'string');
    assert.strictEqual((params.nested as string).length, 6000);
    assert.strictEqual(params.fine, 'ok');
    assert.deepStrictEqual(
      events.filter((e) => e.k === 'tag').map((e) => e.v),
      ['t'.repeat(8000)],
    );
    assert.strictEqual((events.find((e) => e.k === 'result')!.v as string).length, RUN_LIMITS.textChars);
    const m = events.find((e) => e.k === 'model')!;
    assert.strictEqual((m.description as string).length, RUN_LIMITS.textChars);
    assert.strictEqual((m.tags as string[]).length, 1000);
    const manifest = JSON.parse(fs.readFileSync(path.join(exp.dir, 'run.json'), 'utf8')) as {
      params: Record<string, string>;
    };
    assert.strictEqual(manifest.params.early, 'e'.repeat(6000));
    const warnings = events.filter((e) => e.k === 'warning').map((e) => e.message as string);
    assert.strictEqual(warnings.length, 6, warnings.join('\n'));
    assert.match(warnings[0], /the value of the param "early" has 7000 characters: kept its first 6000/);
    assert.match(warnings[1], /the value of the param "big" has 50000000 characters: kept its first 6000/);
    assert.match(errors.join(''), /the value of the param "big" has 50000000 characters/);
    assert.ok(events.every((e) => JSON.stringify(e).length < RUN_LIMITS.lineBytes));
  });

  it('refuses keys and names over their limits, before anything is written', () => {
    const exp = start();
    const long = 'k'.repeat(RUN_LIMITS.keyChars + 1);
    const calls: [string, () => unknown][] = [
      ['logParam', () => exp.logParam(long, 1)],
      ['logParams', () => exp.logParams({ [long]: 1 })],
      ['setTag', () => exp.setTag(long, 'v')],
      ['logMetric', () => exp.logMetric(long, 1)],
      ['logMetrics', () => exp.logMetrics({ [long]: 1 })],
      ['logInput', () => exp.logInput('d'.repeat(RUN_LIMITS.nameChars + 1))],
      ['logOutput', () => exp.logOutput('/' + 'o'.repeat(RUN_LIMITS.pathChars))],
      ['experiment name', () => start('n'.repeat(RUN_LIMITS.nameChars + 1))],
      ['start params', () => start('ok', { [long]: 1 })],
    ];
    for (const [what, call] of calls) {
      assert.throws(call, /characters: at most (250|4096) are allowed/, what);
    }
    const artifact = path.join(temp.home, `${'a'.repeat(RUN_LIMITS.nameChars + 1)}`);
    fs.writeFileSync(artifact, 'x');
    assert.throws(() => exp.logArtifact(artifact), /artifact name .* at most 250/);
    exp.logParam('k'.repeat(RUN_LIMITS.keyChars), 1);
    exp.logMetric('m'.repeat(RUN_LIMITS.keyChars), 1);
    exp.end();
    assert.deepStrictEqual(
      lines(exp).map((e) => [e.k, e.key]),
      [
        ['param', 'k'.repeat(250)],
        ['m', 'm'.repeat(250)],
        ['status', undefined],
      ],
    );
    assert.strictEqual(fs.readdirSync(path.join(temp.home, 'runs')).length, 1); // refused runs leave nothing
  });

  it('keeps run directories private whatever the umask: folders 0700, files 0600', function () {
    if (process.platform === 'win32') {
      this.skip();
    }
    const old = process.umask(0);
    try {
      const script = path.join(temp.home, '..', 'train.js');
      fs.writeFileSync(script, '// training', { mode: 0o644 });
      const writer = RunWriter.create({
        home: temp.home,
        name: 'private',
        project: null,
        params: {},
        command: ['node'],
        cwd: temp.home,
        script,
      });
      const exp = new Experiment(writer);
      exp.logMetric('loss', 1);
      const artifact = path.join(temp.home, '..', 'model.pkl');
      fs.writeFileSync(artifact, 'weights', { mode: 0o666 });
      exp.logArtifact(artifact);
      exp.end();
      assert.strictEqual(fs.statSync(path.join(temp.home, 'runs')).mode & 0o777, 0o700);
      const walk = (dir: string): void => {
        assert.strictEqual(fs.statSync(dir).mode & 0o777, 0o700, dir);
        for (const name of fs.readdirSync(dir)) {
          const p = path.join(dir, name);
          if (fs.statSync(p).isDirectory()) {
            walk(p);
          } else {
            assert.strictEqual(fs.statSync(p).mode & 0o777, 0o600, p);
          }
        }
      };
      walk(exp.dir);
      assert.deepStrictEqual(fs.readdirSync(exp.dir).sort(), ['artifacts', 'events.jsonl', 'run.json', 'source']);
    } finally {
      process.umask(old);
    }
  });

  it('never writes events through a link put in place of events.jsonl', function () {
    if (process.platform === 'win32') {
      this.skip();
    }
    const target = path.join(temp.home, '..', 'host-file');
    fs.writeFileSync(target, 'untouched\n');
    const dir = path.join(temp.home, 'runs', '20260101-000000-abcdef');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'run.json'), '{"status":"running"}');
    fs.symlinkSync(target, path.join(dir, 'events.jsonl'));
    assert.throws(() => RunWriter.attach(dir), /ELOOP/);
    assert.strictEqual(fs.readFileSync(target, 'utf8'), 'untouched\n');
  });
});

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseSweepFile } from '../../src/backend/sweeps/definition';
import type { Ui } from '../../src/extension/common/ui';
import { askSweepForm } from '../../src/extension/experiments/sweeps/form';
import { gridSize, parseParams, sweepYaml, type SweepForm } from '../../src/extension/experiments/sweeps/sweep-yaml';

/**
 * The quick form's params line and the sweep.yaml it writes, read back by the backend's own parser
 * (the one POST /api/sweeps uses) in a real folder.
 */
describe("Run Sweep's quick form: the params line and the sweep.yaml", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-sweep-form-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads choices, int and float ranges, steps and log scales', () => {
    assert.deepStrictEqual(parseParams('lr=0.0001..0.1 log, layers=1..4, dropout=0..0.5:0.1, optimizer=adam|sgd'), {
      lr: { type: 'float', min: 0.0001, max: 0.1, log: true },
      layers: { type: 'int', min: 1, max: 4 },
      dropout: { type: 'float', min: 0, max: 0.5, step: 0.1 },
      optimizer: { type: 'choice', values: ['adam', 'sgd'] },
    });
    assert.deepStrictEqual(parseParams('batch=16|32|64; amsgrad=true|false|null; units=32..256:32 '), {
      batch: { type: 'choice', values: [16, 32, 64] },
      amsgrad: { type: 'choice', values: [true, false, null] },
      units: { type: 'int', min: 32, max: 256, step: 32 },
    });
    assert.deepStrictEqual(
      parseParams('depth=1.0..3'),
      { depth: { type: 'float', min: 1, max: 3 } },
      '1.0 is written as a float',
    );
  });

  it('says what to write for a line it cannot read', () => {
    const cases: [string, RegExp][] = [
      ['', /Name at least one param/],
      ['lr', /lr: write the values to try as lr=a\|b\|c, or a range/],
      ['lr=0.1', /lr=min\.\.max/],
      ['lr=0.1..0.01', /the range 0\.1\.\.0\.01 is empty: make the maximum greater/],
      ['lr=0.5..0.5', /is empty/],
      ['lr=0..1 log', /a log range needs a minimum above 0/],
      ['n=0..10:0', /the step must be greater than 0/],
      ['lr=a..1', /the minimum "a" is not a number/],
      ['lr=0..1:0.1:2', /one step after the range/],
      ['a=1|2, a=3|4', /a is named twice/],
      ['my lr=1|2', /"my lr" is not a param name/],
      ['x=1||2', /a value between "\|" is empty/],
    ];
    for (const [line, message] of cases) {
      assert.throws(() => parseParams(line), message, line);
    }
  });

  it('counts the grid, and has none for a float range without a step', () => {
    assert.strictEqual(gridSize(parseParams('a=1|2|3, n=1..4, d=0..0.5:0.1')), 3 * 4 * 6);
    assert.strictEqual(gridSize(parseParams('n=0..10:5')), 3);
    assert.strictEqual(gridSize(parseParams('a=1|2, lr=0.001..0.1')), null);
  });

  it('writes a sweep.yaml that the backend reads back as the same sweep', () => {
    fs.writeFileSync(path.join(dir, 'train.py'), 'print(1)\n');
    const form: SweepForm = {
      script: 'train.py',
      python: 'python3',
      params: parseParams('lr=0.0001..0.1 log, layers=1..4, optimizer=adam|sgd'),
      method: 'tpe',
      metric: 'val_loss',
      goal: 'minimize',
      trials: 30,
      parallel: 3,
    };
    const text = sweepYaml(form);
    assert.match(text, /^# A parameter sweep of train\.py/);
    const read = parseSweepFile(text, dir);
    assert.deepStrictEqual(read.command, ['python3', 'train.py']);
    assert.strictEqual(read.cwd, dir);
    assert.deepStrictEqual(read.params, form.params);
    assert.strictEqual(read.method, 'tpe');
    assert.deepStrictEqual({ name: read.metric.name, goal: read.metric.goal }, { name: 'val_loss', goal: 'minimize' });
    assert.strictEqual(read.trials, 30);
    assert.strictEqual(read.parallel, 3);
    assert.strictEqual(read.name, 'train');
  });

  it("runs the script with the editor's interpreter when it is not python3", () => {
    const text = sweepYaml({
      script: 'train.py',
      python: '/opt/conda/envs/lab/bin/python -u',
      params: parseParams('n=1..3'),
      method: 'grid',
      metric: 'acc',
      goal: 'maximize',
      trials: 3,
      parallel: 1,
    });
    const read = parseSweepFile(text, dir);
    assert.deepStrictEqual(read.command, ['/opt/conda/envs/lab/bin/python', '-u', 'train.py']);
    assert.strictEqual(read.method, 'grid');
    assert.strictEqual(read.metric.goal, 'maximize');
  });
});

/**
 * The prompts of the quick form, answered by a script of answers (fast, no editor; the integration
 * test answers the same form in a real VS Code).
 */
describe("Run Sweep's quick form: its prompts", () => {
  interface Asked {
    readonly kind: 'input' | 'pick';
    readonly prompt: string;
    readonly value?: string;
    readonly items?: string[];
    readonly validate?: (v: string) => unknown;
  }

  /** A Ui that answers each prompt in turn (undefined: the person pressed Escape). */
  function scripted(answers: (string | undefined)[]): { ui: Ui; asked: Asked[] } {
    const asked: Asked[] = [];
    const ui = {
      input: async (o: { prompt?: string; value?: string; validateInput?: (v: string) => unknown }) => {
        asked.push({ kind: 'input', prompt: o.prompt ?? '', value: o.value, validate: o.validateInput });
        return answers.shift();
      },
      pick: async (items: { label: string }[], o: { placeHolder?: string }) => {
        asked.push({ kind: 'pick', prompt: o.placeHolder ?? '', items: items.map((i) => i.label) });
        const label = answers.shift();
        return items.find((i) => i.label === label);
      },
    };
    return { ui: ui as unknown as Ui, asked };
  }

  it('asks for the params, the metric, its goal, the method, the trials and how many at once', async () => {
    const { ui, asked } = scripted(['lr=0.001..0.1 log, layers=1..3', 'val_loss', 'minimize', 'tpe', '25', '4']);
    const form = await askSweepForm(ui, 'train.py', 'python3');
    assert.deepStrictEqual(form, {
      script: 'train.py',
      python: 'python3',
      params: { lr: { type: 'float', min: 0.001, max: 0.1, log: true }, layers: { type: 'int', min: 1, max: 3 } },
      method: 'tpe',
      metric: 'val_loss',
      goal: 'minimize',
      trials: 25,
      parallel: 4,
    });
    assert.deepStrictEqual(
      asked.map((a) => a.kind),
      ['input', 'input', 'pick', 'pick', 'input', 'input'],
    );
    assert.deepStrictEqual(asked[3].items, ['tpe', 'random', 'cmaes'], 'no grid: lr is a float range without a step');
    assert.strictEqual(asked[4].value, '20', 'trials prefilled');
    // what the boxes say while the person types
    assert.match(String(asked[0].validate!('lr=1..0')), /is empty/);
    assert.strictEqual(asked[0].validate!('lr=0.1|0.01'), undefined);
    assert.match(String(asked[1].validate!('val loss')), /The metric key/);
    assert.match(String(asked[4].validate!('0')), /from 1 to 100000/);
    assert.match(String(asked[5].validate!('65')), /from 1 to 64/);
  });

  it('offers the grid with its size when every param can be enumerated, and keeps the trials within it', async () => {
    const { ui, asked } = scripted(['x=1|2|3, n=1..2', 'acc', 'maximize', 'grid', '6', '1']);
    const form = await askSweepForm(ui, 'train.py', 'python3');
    assert.strictEqual(form?.method, 'grid');
    assert.deepStrictEqual(asked[3].items, ['grid', 'tpe', 'random', 'cmaes']);
    assert.strictEqual(asked[4].value, '6', 'the grid size');
    assert.match(asked[4].prompt, /the grid has 6/);
    assert.match(String(asked[4].validate!('7')), /from 1 to 6/);
  });

  it('stops at the first prompt the person cancels, and writes nothing', async () => {
    const answers = ['x=1|2', 'acc', 'maximize', 'grid', '2', '1'];
    for (let cancelAt = 0; cancelAt < answers.length; cancelAt++) {
      const { ui, asked } = scripted([...answers.slice(0, cancelAt), undefined]);
      assert.strictEqual(await askSweepForm(ui, 'train.py', 'python3'), undefined, `cancelled at ${cancelAt}`);
      assert.strictEqual(asked.length, cancelAt + 1);
    }
  });
});

import * as assert from 'assert';
import {
  countsText,
  paramsText,
  sweepRow,
  sweepsGroupRow,
  trialRow,
  trialsInOrder,
} from '../../src/extension/experiments/sweeps/rows';
import { historyByTrial, sweepActions, sweepPageShow } from '../../src/extension/experiments/sweeps/page-content';
import type { Sweep, SweepDetails, SweepState, SweepTrial } from '../../src/protocol/sweeps';

function trial(number: number, extra: Partial<SweepTrial> = {}): SweepTrial {
  return {
    number,
    runId: `20260301-10000${number}-abcdef`,
    state: 'completed',
    params: { lr: 0.001 * (number + 1), optimizer: number % 2 ? 'sgd' : 'adam' },
    value: 1 / (number + 2),
    prunedStep: null,
    reason: null,
    startedAt: '2026-03-01T10:00:00.000Z',
    endedAt: '2026-03-01T10:01:00.000Z',
    ...extra,
  };
}

function sweep(state: SweepState, extra: Partial<Sweep> = {}): Sweep {
  return {
    id: 'sw1',
    projectId: 'p1',
    name: 'train',
    state,
    definition: {
      name: 'train',
      command: ['python3', 'train.py'],
      cwd: '/work/lab',
      params: { lr: { type: 'float', min: 0.0001, max: 0.1, log: true } },
      method: 'tpe',
      metric: { name: 'val_loss', goal: 'minimize' },
      trials: 20,
      parallel: 2,
      earlyStop: null,
      maxFailures: 3,
      seed: null,
    },
    counts: { done: 9, running: 2, pruned: 1, failed: 0, total: 20 },
    best: trial(7, { value: 0.0123 }),
    message: null,
    warnings: [],
    createdAt: '2026-03-01T10:00:00.000Z',
    updatedAt: '2026-03-01T10:05:00.000Z',
    ...extra,
  };
}

describe('Sweeps in the Experiments view (rows)', () => {
  it('shows a sweep with its progress, its best value so far, and its state as icon and context value', () => {
    const row = sweepRow(sweep('running'));
    assert.strictEqual(row.label, 'train');
    assert.strictEqual(row.description, '10/20 · 9 done · 2 running · 1 pruned · best val_loss 0.0123 (#7)');
    assert.deepStrictEqual(row.icon, { id: 'sync~spin' });
    assert.strictEqual(row.contextValue, 'sweep-running');
    assert.match(row.tooltip, /tpe, minimize val_loss, 2 at once/);
    assert.match(row.tooltip, /best val_loss 0\.0123 \(#7\): lr=0\.008, optimizer=sgd/);
  });

  it('names the state when it is not running, and gives each state its own icon and context value', () => {
    const icons = new Set<string>();
    for (const state of ['running', 'paused', 'stopped', 'finished', 'failed'] as const) {
      const row = sweepRow(sweep(state));
      assert.strictEqual(row.contextValue, `sweep-${state}`);
      icons.add(row.icon.id);
      if (state !== 'running') {
        assert.ok(row.description.startsWith(`${state} · 10/20 · `), row.description);
      }
    }
    assert.strictEqual(icons.size, 5);
    const failed = sweepRow(
      sweep('failed', { message: 'the metric val_loss was never logged', warnings: ['fANOVA fell back'] }),
    );
    assert.deepStrictEqual(failed.icon, { id: 'error', color: 'testing.iconFailed' });
    assert.match(failed.tooltip, /the metric val_loss was never logged\nfANOVA fell back$/);
  });

  it('says nothing of a best value before a trial completed, and leaves out counts that are zero', () => {
    const s = sweep('running', { best: null, counts: { done: 0, running: 2, pruned: 0, failed: 0, total: 4 } });
    assert.strictEqual(sweepRow(s).description, '0/4 · 0 done · 2 running');
    assert.strictEqual(
      countsText(sweep('finished', { counts: { done: 4, running: 0, pruned: 0, failed: 0, total: 4 } })),
      '4 done',
    );
  });

  it('counts the sweeps in the group and how many run', () => {
    assert.strictEqual(
      sweepsGroupRow([sweep('running'), sweep('finished'), sweep('running')]).description,
      '3 · 2 running',
    );
    assert.strictEqual(sweepsGroupRow([sweep('paused')]).description, '1');
  });

  it('shows a trial with its value or why it ended, its params, and stars the best one', () => {
    const s = sweep('running');
    const best = trialRow(s, trial(7, { value: 0.0123 }));
    assert.strictEqual(best.label, '#7');
    assert.strictEqual(best.description, 'val_loss 0.0123 · lr=0.008, optimizer=sgd');
    assert.deepStrictEqual(best.icon, { id: 'star-full', color: 'charts.yellow' });
    assert.match(best.tooltip, /best so far/);
    assert.strictEqual(best.contextValue, 'sweepTrial');

    const pruned = trialRow(s, trial(3, { state: 'pruned', value: null, prunedStep: 4, reason: 'below the median' }));
    assert.strictEqual(pruned.description, 'pruned at step 4 · lr=0.004, optimizer=sgd');
    assert.strictEqual(pruned.icon.id, 'circle-slash');
    assert.match(pruned.tooltip, /below the median/);

    const failed = trialRow(s, trial(4, { state: 'failed', value: null, reason: 'trial 4 exited with code 1' }));
    assert.strictEqual(failed.description, 'failed · lr=0.005, optimizer=adam');
    assert.strictEqual(failed.icon.id, 'error');

    const starting = trialRow(s, trial(11, { state: 'running', value: null, runId: null }));
    assert.strictEqual(starting.icon.id, 'loading~spin');
    assert.strictEqual(starting.contextValue, 'sweepTrialWithoutRun', 'no run to open yet');
  });

  it('lists the running trials first, then the others newest first', () => {
    const order = trialsInOrder([
      trial(0),
      trial(1, { state: 'running' }),
      trial(2, { state: 'pruned' }),
      trial(3, { state: 'running' }),
      trial(4, { state: 'failed' }),
    ]).map((t) => t.number);
    assert.deepStrictEqual(order, [3, 1, 4, 2, 0]);
  });

  it('writes params as the sweep declares them, numbers shortened, booleans and null as words', () => {
    assert.strictEqual(
      paramsText({ lr: 0.00012345678, layers: 3, amsgrad: true, act: null, name: 'a b' }),
      'lr=0.0001235, layers=3, amsgrad=true, act=null, name=a b',
    );
  });
});

describe('The sweep page content', () => {
  const details = (state: SweepState, extra: Partial<SweepDetails> = {}): SweepDetails => ({
    ...sweep(state),
    trials: [
      trial(0),
      trial(1, { state: 'pruned', value: null, prunedStep: 2, reason: 'below the median' }),
      trial(7, { value: 0.0123 }),
    ],
    history: [
      { trial: 0, value: 0.5, best: 0.5 },
      { trial: 7, value: 0.0123, best: 0.0123 },
    ],
    importances: {
      evaluator: 'fanova',
      values: [
        { param: 'lr', importance: 0.8 },
        { param: 'optimizer', importance: 0.2 },
      ],
      trials: 2,
    },
    importanceNote: null,
    ...extra,
  });

  it("offers the actions the state allows, and the best trial's once one completed", () => {
    assert.deepStrictEqual(sweepActions(details('running'), true), [
      'rerunBest',
      'registerBest',
      'pause',
      'stop',
      'addTrials',
      'compare',
      'parallel',
    ]);
    assert.deepStrictEqual(sweepActions(details('paused'), false), [
      'rerunBest', // no Register Best Model: its run logged no file
      'resume',
      'stop',
      'addTrials',
      'compare',
      'parallel',
    ]);
    assert.deepStrictEqual(sweepActions(details('finished', { best: null }), true), [
      'addTrials',
      'compare',
      'parallel',
    ]);
    assert.deepStrictEqual(sweepActions(details('failed', { best: null }), false), [
      'resume',
      'addTrials',
      'compare',
      'parallel',
    ]);
  });

  it('gives the charts their numbers and the trials their texts', () => {
    const show = sweepPageShow(details('running'), true);
    assert.deepStrictEqual(show.history, {
      metric: 'val_loss',
      goal: 'minimize',
      trials: [0, 7],
      values: [0.5, 0.0123],
      best: [0.5, 0.0123],
    });
    assert.deepStrictEqual(show.importances, {
      caption: 'fANOVA over 2 completed trials',
      params: ['lr', 'optimizer'],
      values: [0.8, 0.2],
    });
    assert.deepStrictEqual(
      show.trials.map((t) => [t.number, t.state, t.value, t.note, t.best]),
      [
        [7, 'completed', '0.0123', '', true],
        [1, 'pruned', '', 'pruned at step 2: below the median', false],
        [0, 'completed', '0.5', '', false],
      ],
    );
    assert.deepStrictEqual(show.best?.params.rows, [
      ['lr', '0.008'],
      ['optimizer', 'sgd'],
    ]);
    assert.strictEqual(show.best?.value, 'val_loss 0.0123 (minimize)');
    assert.strictEqual(show.progress, '10/20 ended: 9 done · 2 running · 1 pruned');
  });

  it('draws the history by trial number, with the best so far taken in that order', () => {
    // parallel trials end out of order: 2 ended before 0 and 1
    const history = [
      { trial: 2, value: 0.3, best: 0.3 },
      { trial: 0, value: 0.5, best: 0.3 },
      { trial: 1, value: 0.2, best: 0.2 },
      { trial: 3, value: 0.4, best: 0.2 },
    ];
    assert.deepStrictEqual(historyByTrial(details('running', { history })), {
      metric: 'val_loss',
      goal: 'minimize',
      trials: [0, 1, 2, 3],
      values: [0.5, 0.2, 0.3, 0.4],
      best: [0.5, 0.2, 0.2, 0.2],
    });
    const maximize = details('running', { history });
    const def = { ...maximize.definition, metric: { name: 'acc', goal: 'maximize' as const } };
    assert.deepStrictEqual(historyByTrial({ ...maximize, definition: def })?.best, [0.5, 0.5, 0.5, 0.5]);
  });

  it('says why there are no importances or history yet', () => {
    const empty = sweepPageShow(
      details('running', {
        best: null,
        trials: [trial(0, { state: 'running', value: null })],
        history: [],
        importances: null,
      }),
      true,
    );
    assert.strictEqual(empty.history, null);
    assert.strictEqual(empty.best, null);
    assert.match(empty.importanceNote, /once two trials completed \(0 so far\)/);
    const noSklearn = sweepPageShow(
      details('running', { importances: null, importanceNote: 'Install scikit-learn for importances.' }),
      true,
    );
    assert.strictEqual(noSklearn.importanceNote, 'Install scikit-learn for importances.');
  });
});

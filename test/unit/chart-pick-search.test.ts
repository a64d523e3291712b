import * as assert from 'assert';
import { PICK_LIMIT, RunSearch, matchesQuery, searchText } from '../../src/extension/experiments/charts/pick-search';
import type { Experiment } from '../../src/protocol/experiments';

function runs(n: number): Experiment[] {
  return Array.from({ length: n }, (_, i): Experiment => ({
    id: `20260102-030405-${i.toString(16).padStart(6, '0')}`,
    projectId: 'p',
    name: i % 2 === 0 ? 'train' : 'evaluate',
    status: i % 5 === 0 ? 'failed' : 'completed',
    startedAt: new Date(Date.UTC(2026, 0, 2) - i * 1000).toISOString(),
    endedAt: null,
    durationMs: null,
    exitCode: null,
    operator: 'me',
    params: { lr: i / 100000, seed: i },
    tags: {},
    metrics: [{ key: 'loss', count: 1, last: i, lastStep: 0, min: i, max: i, lastRaw: i }],
    dir: `/runs/${i}`,
  }));
}

describe('chart picker search', () => {
  it('matches the characters of a query in order, any case, spaces aside', () => {
    assert.ok(matchesQuery('trn', 'train lr=0.1'));
    assert.ok(matchesQuery('TRAIN lr=0.1', 'train lr=0.1'));
    assert.ok(matchesQuery('', 'anything'));
    assert.ok(!matchesQuery('nrt', 'train'));
    assert.ok(!matchesQuery('trainx', 'train'));
  });

  it('looks in the name, params, status, id and metrics', () => {
    const [run] = runs(1);
    const text = searchText({ ...run, params: { lr: 0.05, optimizer: 'Adam' } });
    for (const part of ['train', 'lr=0.05', 'optimizer=adam', 'failed', run.id, 'loss 0']) {
      assert.ok(text.includes(part), `${part} in ${text}`);
    }
  });

  it('lists at most 500 of 100,000 runs, newest first, plus every checked run', () => {
    const all = runs(100_000);
    const search = new RunSearch(all);
    const first = search.find('', new Set());
    assert.strictEqual(first.length, PICK_LIMIT);
    assert.deepStrictEqual(first, all.slice(0, PICK_LIMIT));
    const old = [all[99_999].id, all[50_000].id, all[3].id];
    const withChecked = search.find('', new Set(old));
    assert.strictEqual(withChecked.length, PICK_LIMIT + 3, 'the checked runs come on top of the 500 newest others');
    assert.ok(old.every((id) => withChecked.some((r) => r.id === id)));
    const order = withChecked.map((r) => all.indexOf(r));
    assert.deepStrictEqual(
      order,
      [...order].sort((a, b) => a - b),
      "in the model's order",
    );
  });

  it('finds a run far down the list by what is typed', () => {
    const all = runs(100_000);
    const search = new RunSearch(all);
    const found = search.find('seed=98765', new Set());
    assert.ok(
      found.some((r) => r.id === all[98_765].id),
      'the run beyond the first 500 is found',
    );
    assert.ok(found.every((r) => matchesQuery('seed=98765', searchText(r))));
    assert.ok(found.length < PICK_LIMIT);
    const byId = search.find(all[77_777].id, new Set());
    assert.ok(
      byId.some((r) => r.id === all[77_777].id),
      'found by its id',
    );
    assert.strictEqual(search.find('no such run zzz', new Set()).length, 0);
    assert.deepStrictEqual(
      search.find('no such run zzz', new Set([all[5].id])).map((r) => r.id),
      [all[5].id],
      'a checked run stays listed (checked) whatever is typed',
    );
  });
});

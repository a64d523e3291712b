import * as assert from 'assert';
import {
  PAGE_SIZE,
  groupDescription,
  groupPage,
  groupRuns,
  moreLabel,
  shownToInclude,
} from '../../src/extension/experiments/tree-pages';
import type { Experiment, RunStatus } from '../../src/protocol/experiments';

/** `n` runs, newest first: names cycle through `names`, every 7th is running. */
function runs(n: number, names: readonly string[]): Experiment[] {
  return Array.from({ length: n }, (_, i): Experiment => {
    const status: RunStatus = i % 7 === 0 ? 'running' : i % 3 === 0 ? 'failed' : 'completed';
    return {
      id: `20260102-030405-${i.toString(16).padStart(6, '0')}`,
      projectId: 'p',
      name: names[i % names.length],
      status,
      startedAt: new Date(Date.UTC(2026, 0, 2) - i * 1000).toISOString(),
      endedAt: null,
      durationMs: null,
      exitCode: null,
      operator: 'me',
      params: { lr: i },
      tags: {},
      metrics: [],
      dir: `/runs/${i}`,
    };
  });
}

describe('Experiments view paging', () => {
  it('groups 100,000 runs by name in the order of their newest run, each group newest first', () => {
    const all = runs(100_000, ['train', 'eval', 'sweep']);
    const groups = groupRuns(all, 'name');
    assert.deepStrictEqual(
      [...groups.values()].map((g) => [g.name, g.runs.length]),
      [
        ['train', 33_334],
        ['eval', 33_333],
        ['sweep', 33_333],
      ],
    );
    const train = groups.get('name:train')!;
    assert.strictEqual(train.runs[0].id, all[0].id);
    assert.strictEqual(train.runs[1].id, all[3].id, 'newest first, as the model lists them');
    assert.strictEqual(train.running, train.runs.filter((r) => r.status === 'running').length);
    assert.ok(train.running > 0);
    assert.strictEqual(groupDescription(train), `33,334 runs, ${train.running.toLocaleString('en-US')} running`);
  });

  it('groups by status too', () => {
    const all = runs(5_000, ['train']);
    const groups = groupRuns(all, 'status');
    assert.deepStrictEqual([...groups.keys()], ['status:running', 'status:completed', 'status:failed']);
    const total = [...groups.values()].reduce((n, g) => n + g.runs.length, 0);
    assert.strictEqual(total, 5_000);
    assert.ok(groups.get('status:failed')!.runs.every((r) => r.status === 'failed'));
    assert.strictEqual(groups.get('status:completed')!.running, 0);
  });

  it('shows a page of 200 runs and a "Show 200 more" row with what remains', () => {
    const group = groupRuns(runs(5_000, ['train']), 'name').get('name:train')!;
    const first = groupPage(group, PAGE_SIZE);
    assert.strictEqual(PAGE_SIZE, 200);
    assert.strictEqual(first.runs.length, 200);
    assert.deepStrictEqual(first.runs, group.runs.slice(0, 200));
    assert.deepStrictEqual(first.more, { kind: 'more', group: 'name:train', shown: 200, remaining: 4_800 });
    assert.strictEqual(moreLabel(first.more!), 'Show 200 more (4,800 remaining)');

    const later = groupPage(group, 4_900);
    assert.strictEqual(later.runs.length, 4_900);
    assert.strictEqual(moreLabel(later.more!), 'Show 100 more (100 remaining)', 'the last page is shorter');

    const all = groupPage(group, 5_000);
    assert.strictEqual(all.runs.length, 5_000);
    assert.strictEqual(all.more, undefined, 'no "more" row when every run is shown');
    assert.strictEqual(groupPage(group, 10_000).more, undefined);
  });

  it('a small group has no "more" row', () => {
    const group = groupRuns(runs(3, ['train']), 'name').get('name:train')!;
    const page = groupPage(group, PAGE_SIZE);
    assert.strictEqual(page.runs.length, 3);
    assert.strictEqual(page.more, undefined);
    assert.strictEqual(groupDescription(group), '3 runs, 1 running');
    assert.strictEqual(groupDescription(groupRuns(runs(2, ['a', 'b']), 'name').get('name:b')!), '1 run');
  });

  it('grows the page by whole pages to reach a run being revealed', () => {
    assert.strictEqual(shownToInclude(10, 200), 200, 'already shown');
    assert.strictEqual(shownToInclude(200, 200), 400);
    assert.strictEqual(shownToInclude(4_321, 200), 4_400);
    assert.strictEqual(shownToInclude(399, 400), 400);
  });
});

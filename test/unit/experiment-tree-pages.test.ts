import * as assert from 'assert';
import {
  PAGE_SIZE,
  ROOT_KEY,
  expandedGroups,
  groupDescription,
  groupPage,
  groupRuns,
  moreLabel,
  rootPage,
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
      groups.list.map((g) => [g.name, g.runs.length]),
      [
        ['train', 33_334],
        ['eval', 33_333],
        ['sweep', 33_333],
      ],
    );
    const train = groups.get('train')!;
    assert.strictEqual(train.runs[0].id, all[0].id);
    assert.strictEqual(train.runs[1].id, all[3].id, 'newest first, as the model lists them');
    assert.strictEqual(train.running, train.runs.filter((r) => r.status === 'running').length);
    assert.ok(train.running > 0);
    assert.strictEqual(groupDescription(train), `33,334 runs, ${train.running.toLocaleString('en-US')} running`);
  });

  it('groups by status too', () => {
    const all = runs(5_000, ['train']);
    const groups = groupRuns(all, 'status');
    assert.deepStrictEqual(
      groups.list.map((g) => `${g.by}:${g.name}`),
      ['status:running', 'status:completed', 'status:failed'],
    );
    const total = groups.list.reduce((n, g) => n + g.runs.length, 0);
    assert.strictEqual(total, 5_000);
    assert.ok(groups.get('failed')!.runs.every((r) => r.status === 'failed'));
    assert.strictEqual(groups.get('completed')!.running, 0);
  });

  it('shows a page of 200 runs and a "Show 200 more" row with what remains', () => {
    const group = groupRuns(runs(5_000, ['train']), 'name').get('train')!;
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
    const group = groupRuns(runs(3, ['train']), 'name').get('train')!;
    const page = groupPage(group, PAGE_SIZE);
    assert.strictEqual(page.runs.length, 3);
    assert.strictEqual(page.more, undefined);
    assert.strictEqual(groupDescription(group), '3 runs, 1 running');
    assert.strictEqual(groupDescription(groupRuns(runs(2, ['a', 'b']), 'name').get('b')!), '1 run');
  });

  it('grows the page by whole pages to reach a run being revealed', () => {
    assert.strictEqual(shownToInclude(10, 200), 200, 'already shown');
    assert.strictEqual(shownToInclude(200, 200), 400);
    assert.strictEqual(shownToInclude(4_321, 200), 4_400);
    assert.strictEqual(shownToInclude(399, 400), 400);
  });

  it('pages the top level too: 100,000 runs of their own names show 200 groups and a "Show 200 more groups" row', () => {
    const all = runs(100_000, []).map((r, i) => ({ ...r, name: `run-${i}` }));
    const groups = groupRuns(all, 'name');
    assert.strictEqual(groups.count, 100_000);
    const first = rootPage(groups, PAGE_SIZE);
    assert.deepStrictEqual(
      first.groups.map((g) => g.name),
      all.slice(0, 200).map((r) => r.name),
      'the groups of the newest runs first',
    );
    assert.deepStrictEqual(first.more, { kind: 'more', group: ROOT_KEY, shown: 200, remaining: 99_800 });
    assert.strictEqual(moreLabel(first.more!), 'Show 200 more groups (99,800 remaining)');
    assert.strictEqual(rootPage(groups, 100_000).more, undefined);
    assert.strictEqual(
      rootPage(groupRuns(all.slice(0, 3), 'name'), PAGE_SIZE).more,
      undefined,
      'a few groups: no "more" row',
    );
  });

  it('opens the first groups expanded while their rows fit in a page, and every group with a running run', () => {
    // 3 names over 1,000 runs: the first group alone shows a full page (and its "more" row)
    const big = groupRuns(runs(1_000, ['train', 'eval', 'sweep']), 'name').list;
    assert.deepStrictEqual(
      [...expandedGroups(big)],
      ['name:train', 'name:eval', 'name:sweep'],
      'each has running runs',
    );
    const finished = runs(1_000, ['train', 'eval', 'sweep']).map((r) => ({ ...r, status: 'completed' as const }));
    assert.deepStrictEqual([...expandedGroups(groupRuns(finished, 'name').list)], ['name:train']);
    // small groups: as many as fit in 200 rows
    const small = runs(1_000, []).map((r, i) => ({
      ...r,
      name: `n${Math.floor(i / 3)}`,
      status: 'completed' as const,
    }));
    const page = rootPage(groupRuns(small, 'name'), PAGE_SIZE).groups;
    assert.ok(
      page.every((g) => g.runs.length === 3 && g.runs.every((r) => r.name === g.name)),
      'each shown group holds all its runs',
    );
    const open = expandedGroups(page);
    assert.strictEqual(open.size, 66, '66 groups of 3 runs = 198 rows');
    assert.ok(open.has('name:n0') && open.has('name:n65') && !open.has('name:n66'));
  });
});

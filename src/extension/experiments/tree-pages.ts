/**
 * How the Experiments view splits a long list (no vscode here, so it is unit-tested): runs grouped by
 * name or status, and inside a group a page of the newest runs with a "Show 200 more" row after it.
 * A lab with 100,000 runs then opens with a few group rows, and expanding a group builds 200 rows,
 * not 100,000.
 */
import type { Experiment } from '../../protocol/experiments';
import type { Grouping } from './labels';

/** Runs listed per page of a group. */
export const PAGE_SIZE = 200;

/** A group of runs with the same name (or status), newest first. */
export interface RunGroup {
  readonly kind: 'group';
  readonly name: string;
  readonly by: Grouping;
  readonly runs: readonly Experiment[];
  /** how many of them are running */
  readonly running: number;
}

/** The row after a group's page (or after the page of groups): shows the next page. */
export interface MoreRuns {
  readonly kind: 'more';
  /** the group's key (see groupKey), or ROOT_KEY for the page of groups */
  readonly group: string;
  readonly shown: number;
  readonly remaining: number;
}

/** The key of the view's top level: with a group per run name, 100,000 runs can make 100,000 groups. */
export const ROOT_KEY = 'root';

/** What identifies a group across reloads: `name:train`, `status:running`. */
export function groupKey(by: Grouping, name: string): string {
  return `${by}:${name}`;
}

/** The name of the group a run is listed in: its name, or its status. */
export function groupNameOf(run: Experiment, by: Grouping): string {
  return by === 'name' ? run.name : run.status;
}

/** The key of the group a run is listed in. */
export function groupKeyOf(run: Experiment, by: Grouping): string {
  return groupKey(by, groupNameOf(run, by));
}

/** Runs grouped: the groups in the order of their first (newest) run, and each by its name. */
export interface RunGroups {
  readonly list: readonly RunGroup[];
  readonly byName: ReadonlyMap<string, RunGroup>;
}

/** The runs grouped in one pass, no copies of the runs (100,000 groups of one run: about 60 ms). */
export function groupRuns(runs: readonly Experiment[], by: Grouping): RunGroups {
  const byName = new Map<string, { kind: 'group'; name: string; by: Grouping; runs: Experiment[]; running: number }>();
  const list: RunGroup[] = [];
  for (const run of runs) {
    const name = by === 'name' ? run.name : run.status;
    let group = byName.get(name);
    if (!group) {
      group = { kind: 'group', name, by, runs: [], running: 0 };
      byName.set(name, group);
      list.push(group);
    }
    group.runs.push(run);
    if (run.status === 'running') {
      group.running++;
    }
  }
  return { list, byName };
}

/** The runs shown of a group with `shown` of them asked for, and the "more" row when some are left. */
export function groupPage(group: RunGroup, shown: number): { runs: readonly Experiment[]; more?: MoreRuns } {
  const { items, more } = pageOf(group.runs, shown, groupKey(group.by, group.name));
  return more ? { runs: items, more } : { runs: items };
}

/** The groups shown at the top level with `shown` of them asked for, and the "more" row when some are left. */
export function rootPage(groups: readonly RunGroup[], shown: number): { groups: readonly RunGroup[]; more?: MoreRuns } {
  const { items, more } = pageOf(groups, shown, ROOT_KEY);
  return more ? { groups: items, more } : { groups: items };
}

function pageOf<T>(all: readonly T[], shown: number, key: string): { items: readonly T[]; more?: MoreRuns } {
  const count = Math.min(Math.max(shown, 0), all.length);
  const items = count === all.length ? all : all.slice(0, count);
  const remaining = all.length - count;
  return remaining > 0 ? { items, more: { kind: 'more', group: key, shown: count, remaining } } : { items };
}

/**
 * The groups of a page that open expanded: in order, while the rows they show stay within one page
 * (the first group always), so a view of 200 groups of 200 runs draws about 200 rows, not 40,000; a
 * group with a running run opens too. The others are one click away.
 */
export function expandedGroups(groups: readonly RunGroup[], page = PAGE_SIZE): Set<string> {
  const open = new Set<string>();
  let rows = 0;
  for (const g of groups) {
    const shows = Math.min(g.runs.length, page) + (g.runs.length > page ? 1 : 0);
    if (open.size === 0 || rows + shows <= page || g.running > 0) {
      open.add(groupKey(g.by, g.name));
      rows += shows;
    }
  }
  return open;
}

/** How many runs to show so that the run at `index` is in the page: whole pages. */
export function shownToInclude(index: number, shown: number, page = PAGE_SIZE): number {
  return index < shown ? shown : Math.ceil((index + 1) / page) * page;
}

/** The "more" row's text: `Show 200 more (4,800 remaining)`, `Show 200 more groups (...)` at the top. */
export function moreLabel(more: MoreRuns, page = PAGE_SIZE): string {
  const next = Math.min(page, more.remaining);
  const what = more.group === ROOT_KEY ? ' groups' : '';
  return `Show ${next.toLocaleString('en-US')} more${what} (${more.remaining.toLocaleString('en-US')} remaining)`;
}

/** A group's description: `5,000 runs, 2 running`. */
export function groupDescription(group: RunGroup): string {
  const n = group.runs.length;
  return `${n.toLocaleString('en-US')} run${n === 1 ? '' : 's'}${group.running ? `, ${group.running.toLocaleString('en-US')} running` : ''}`;
}

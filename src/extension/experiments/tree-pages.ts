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

/** The row after a group's page: shows the next page of its runs. */
export interface MoreRuns {
  readonly kind: 'more';
  /** the group's key (see groupKey) */
  readonly group: string;
  readonly shown: number;
  readonly remaining: number;
}

/** What identifies a group across reloads: `name:train`, `status:running`. */
export function groupKey(by: Grouping, name: string): string {
  return `${by}:${name}`;
}

/** The key of the group a run is listed in. */
export function groupKeyOf(run: Experiment, by: Grouping): string {
  return groupKey(by, by === 'name' ? run.name : run.status);
}

/** The runs grouped, in the order of their first (newest) run; one pass, no copies of the runs. */
export function groupRuns(runs: readonly Experiment[], by: Grouping): Map<string, RunGroup> {
  const lists = new Map<string, { name: string; runs: Experiment[]; running: number }>();
  for (const run of runs) {
    const name = by === 'name' ? run.name : run.status;
    const key = groupKey(by, name);
    let list = lists.get(key);
    if (!list) {
      list = { name, runs: [], running: 0 };
      lists.set(key, list);
    }
    list.runs.push(run);
    if (run.status === 'running') {
      list.running++;
    }
  }
  const groups = new Map<string, RunGroup>();
  for (const [key, list] of lists) {
    groups.set(key, { kind: 'group', name: list.name, by, runs: list.runs, running: list.running });
  }
  return groups;
}

/** The runs shown of a group with `shown` of them asked for, and the "more" row when some are left. */
export function groupPage(group: RunGroup, shown: number): { runs: readonly Experiment[]; more?: MoreRuns } {
  const count = Math.min(Math.max(shown, 0), group.runs.length);
  const runs = count === group.runs.length ? group.runs : group.runs.slice(0, count);
  const remaining = group.runs.length - count;
  return remaining > 0
    ? { runs, more: { kind: 'more', group: groupKey(group.by, group.name), shown: count, remaining } }
    : { runs };
}

/** How many runs to show so that the run at `index` is in the page: whole pages. */
export function shownToInclude(index: number, shown: number, page = PAGE_SIZE): number {
  return index < shown ? shown : Math.ceil((index + 1) / page) * page;
}

/** The "more" row's text: `Show 200 more (4,800 remaining)`. */
export function moreLabel(more: MoreRuns, page = PAGE_SIZE): string {
  const next = Math.min(page, more.remaining);
  return `Show ${next.toLocaleString('en-US')} more (${more.remaining.toLocaleString('en-US')} remaining)`;
}

/** A group's description: `5,000 runs, 2 running`. */
export function groupDescription(group: RunGroup): string {
  const n = group.runs.length;
  return `${n.toLocaleString('en-US')} run${n === 1 ? '' : 's'}${group.running ? `, ${group.running.toLocaleString('en-US')} running` : ''}`;
}

/**
 * How the Experiments view splits a long list (no vscode here, so it is unit-tested): runs grouped by
 * name or status, and inside a group a page of the newest runs with a "Show 200 more" row after it.
 * A lab with 100,000 runs then opens with a few group rows, and expanding a group builds 200 rows,
 * not 100,000.
 */
import type { Experiment } from '../../protocol/experiments';
import type { Grouping } from './labels';

/** Counts as `4,800`: one formatter made once (`toLocaleString` makes one per call, ~15 us). */
const COUNT = new Intl.NumberFormat('en-US');
export const formatCount = (n: number): string => COUNT.format(n);

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

/**
 * Runs grouped by name or status, each group built when the view asks for it: a lab of 100,000 runs
 * with a name each has 100,000 groups, of which the view shows 200. Listing the groups' names is one
 * pass with a Set (about 10 ms for 100,000 names); building the shown groups one more pass.
 */
export class RunGroups {
  /** the groups' names, in the order of their first (newest) run */
  readonly names: readonly string[];
  private readonly known: Set<string>;
  private readonly built = new Map<string, RunGroup>();

  constructor(
    private readonly runs: readonly Experiment[],
    readonly by: Grouping,
  ) {
    const known = new Set<string>();
    const names: string[] = [];
    for (const run of runs) {
      const name = by === 'name' ? run.name : run.status;
      const size = known.size;
      if (known.add(name).size !== size) {
        names.push(name);
      }
    }
    this.names = names;
    this.known = known;
  }

  get count(): number {
    return this.names.length;
  }

  /** The first `n` groups, each with all its runs. */
  first(n: number): RunGroup[] {
    const names = n >= this.names.length ? this.names : this.names.slice(0, Math.max(0, n));
    this.build(names);
    return names.map((name) => this.built.get(name)!);
  }

  /** Every group (builds them all). */
  get list(): RunGroup[] {
    return this.first(this.names.length);
  }

  /** The group of `name`, or undefined when no run has it. */
  get(name: string): RunGroup | undefined {
    if (!this.known.has(name)) {
      return undefined;
    }
    this.build([name]);
    return this.built.get(name);
  }

  /** Builds the groups of `names` not built yet: one pass over the runs. */
  private build(names: readonly string[]): void {
    const wanted = new Map<
      string,
      { kind: 'group'; name: string; by: Grouping; runs: Experiment[]; running: number }
    >();
    for (const name of names) {
      if (!this.built.has(name)) {
        wanted.set(name, { kind: 'group', name, by: this.by, runs: [], running: 0 });
      }
    }
    if (wanted.size === 0) {
      return;
    }
    for (const run of this.runs) {
      const group = wanted.get(this.by === 'name' ? run.name : run.status);
      if (group) {
        group.runs.push(run);
        if (run.status === 'running') {
          group.running++;
        }
      }
    }
    for (const [name, group] of wanted) {
      this.built.set(name, group);
    }
  }
}

/** The runs grouped (lazily: see RunGroups). */
export function groupRuns(runs: readonly Experiment[], by: Grouping): RunGroups {
  return new RunGroups(runs, by);
}

/** The runs shown of a group with `shown` of them asked for, and the "more" row when some are left. */
export function groupPage(group: RunGroup, shown: number): { runs: readonly Experiment[]; more?: MoreRuns } {
  const { items, more } = pageOf(group.runs, shown, groupKey(group.by, group.name));
  return more ? { runs: items, more } : { runs: items };
}

/** The groups shown at the top level with `shown` of them asked for, and the "more" row when some are left. */
export function rootPage(groups: RunGroups, shown: number): { groups: readonly RunGroup[]; more?: MoreRuns } {
  const { items, more } = pageOf(groups.names, shown, ROOT_KEY);
  const page = groups.first(items.length);
  return more ? { groups: page, more } : { groups: page };
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
  return `Show ${formatCount(next)} more${what} (${formatCount(more.remaining)} remaining)`;
}

/** A group's description: `5,000 runs, 2 running`. */
export function groupDescription(group: RunGroup): string {
  const n = group.runs.length;
  return `${formatCount(n)} run${n === 1 ? '' : 's'}${group.running ? `, ${formatCount(group.running)} running` : ''}`;
}

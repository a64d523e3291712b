/**
 * Which runs the chart picker lists (no vscode here, so it is unit-tested). A picker of 100,000 items
 * takes seconds to build and to filter, so it lists the newest runs that match what is typed, at most
 * PICK_LIMIT of them, plus the runs already checked; each keystroke searches every run again.
 */
import type { Experiment } from '../../../protocol/experiments';
import { formatParam, formatValue } from '../../../protocol/number-format';

/** Runs listed at most (on top of the checked ones). */
export const PICK_LIMIT = 500;

/** Date.toLocaleString's format, built once: toLocaleString builds one per call, 100,000 times here. */
const LOCAL_TIME = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

function localTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : LOCAL_TIME.format(d);
}

/**
 * What a search looks in, lower case: the name, every param as `key=value`, status, start, id and
 * the metrics, so that everything the picker's label, description and detail can show is found.
 */
export function searchText(e: Experiment): string {
  const parts = [e.name, e.status, e.startedAt, localTime(e.startedAt), e.id];
  for (const [k, v] of Object.entries(e.params)) {
    parts.push(`${k}=${formatParam(v)}`);
  }
  for (const m of e.metrics) {
    parts.push(`${m.key} ${formatValue(m.lastRaw)}`);
  }
  return parts.join(' ').toLowerCase();
}

/**
 * Whether the query's characters (spaces aside, any case) appear in this order in the text: looser
 * than the picker's own matching, which then narrows the list, so no run it would show is left out.
 */
export function matchesQuery(query: string, text: string): boolean {
  let at = 0;
  for (const ch of query.toLowerCase()) {
    if (ch === ' ') {
      continue;
    }
    at = text.indexOf(ch, at);
    if (at < 0) {
      return false;
    }
    at++;
  }
  return true;
}

/** Searches runs, each one's text built once (on first search) and kept while the picker is open. */
export class RunSearch {
  private texts: (string | undefined)[];

  constructor(
    private readonly runs: readonly Experiment[],
    private readonly limit = PICK_LIMIT,
  ) {
    this.texts = new Array<string | undefined>(runs.length);
  }

  /** The runs to list for a query, in the model's order (newest first): the first `limit` that match, and every checked one. */
  find(query: string, checked: ReadonlySet<string>): Experiment[] {
    const out: Experiment[] = [];
    let matched = 0;
    const all = query.trim().length === 0;
    for (let i = 0; i < this.runs.length; i++) {
      const run = this.runs[i];
      if (checked.has(run.id)) {
        out.push(run);
        continue;
      }
      if (matched >= this.limit) {
        if (checked.size === 0) {
          break;
        }
        continue;
      }
      if (all || matchesQuery(query, (this.texts[i] ??= searchText(run)))) {
        out.push(run);
        matched++;
      }
    }
    return out;
  }
}

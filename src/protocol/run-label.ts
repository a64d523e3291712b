/**
 * How a run is named wherever several are shown together (the Experiments view, the charts' legend
 * and tooltip, the compare table, the chart picker): its name plus what tells it apart from the other
 * runs shown, e.g. `train lr=0.05 epochs=20`, and a short id where nothing else does (`train #a1b2c3`).
 * One function, so a run reads the same in every place.
 */
import { formatParam } from './number-format';

/** What a label is made of. */
export interface LabelSource {
  readonly id: string;
  readonly name: string;
  readonly params: Readonly<Record<string, unknown>>;
}

/** A label's length at most (a short id may come on top), so it fits a legend or a tree row. */
export const MAX_LABEL_CHARS = 40;
/** A param value is cut beyond this many characters in a label. */
const MAX_VALUE_CHARS = 16;

const MISSING = '\u0000missing';

function canonical(v: unknown): string {
  if (v === undefined) {
    return MISSING;
  }
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The part of a run id that tells runs apart: its random suffix (`20260102-030405-a1b2c3` -> `a1b2c3`). */
export function shortId(id: string): string {
  const last = id.slice(id.lastIndexOf('-') + 1);
  return last.length >= 4 && last.length <= 12 ? last : id.slice(-6);
}

/**
 * The params whose values are not the same in every run (a run without the param differs from one
 * with it), most-differing first: by the number of distinct values, then by name.
 */
export function differingParams(runs: readonly LabelSource[]): string[] {
  if (runs.length < 2) {
    return [];
  }
  const keys = new Set<string>();
  for (const r of runs) {
    for (const k of Object.keys(r.params)) {
      keys.add(k);
    }
  }
  const scored: { key: string; distinct: number }[] = [];
  for (const key of keys) {
    const values = new Set<string>();
    for (const r of runs) {
      values.add(canonical(r.params[key]));
    }
    if (values.size > 1) {
      scored.push({ key, distinct: values.size });
    }
  }
  scored.sort((a, b) => b.distinct - a.distinct || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return scored.map((s) => s.key);
}

function cutValue(s: string): string {
  return s.length <= MAX_VALUE_CHARS ? s : `${s.slice(0, MAX_VALUE_CHARS - 1)}…`;
}

/**
 * A label for each run (by id), judged against the other runs given: the name, then `key=value` of
 * the params that differ among them (most-differing first, as many as fit in `max` characters), then
 * ` #<short id>` for runs whose label would otherwise be the same as another's. A run alone is its name.
 */
export function runLabels(
  runs: readonly LabelSource[],
  max = MAX_LABEL_CHARS,
  /** differingParams(runs), when the caller knows it cheaper (the compare table reads it off its columns) */
  keys: readonly string[] = differingParams(runs),
): Map<string, string> {
  const labels = new Map<string, string>();
  for (const r of runs) {
    let label = r.name;
    for (const key of keys) {
      const v = r.params[key];
      if (v === undefined) {
        continue;
      }
      const whole = `${key}=${cutValue(formatParam(v))}`;
      const part = whole.length > max ? `${whole.slice(0, max - 1)}…` : whole;
      if (label.length + 1 + part.length > max && label !== r.name) {
        break; // what is there already tells the most; the rest is in the tooltip
      }
      label = `${label} ${part}`;
    }
    labels.set(r.id, label);
  }
  const count = new Map<string, number>();
  for (const label of labels.values()) {
    count.set(label, (count.get(label) ?? 0) + 1);
  }
  for (const [id, label] of labels) {
    if ((count.get(label) ?? 0) > 1) {
      labels.set(id, `${label} #${shortId(id)}`);
    }
  }
  return labels;
}

/** One run's label among others (see runLabels). */
export function runLabel(run: LabelSource, among: readonly LabelSource[]): string {
  return runLabels(among.some((r) => r.id === run.id) ? among : [run, ...among]).get(run.id) ?? run.name;
}

/**
 * What a tab of several runs shows: `train` for one run, `3 runs of train` when they share a name,
 * `5 runs (train, eval)` otherwise (the first few names).
 */
export function describeRuns(runs: readonly { readonly name: string }[]): string {
  const names = [...new Set(runs.map((r) => r.name))];
  if (runs.length === 0) {
    return 'no runs';
  }
  if (runs.length === 1) {
    return names[0];
  }
  if (names.length === 1) {
    return `${runs.length} runs of ${names[0]}`;
  }
  const shown = names.slice(0, 2).join(', ');
  return `${runs.length} runs (${shown}${names.length > 2 ? ', …' : ''})`;
}

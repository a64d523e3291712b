/**
 * What the compare table shows, computed from the rows and the view state: filtered and sorted
 * row positions, the columns that differ, and rows grouped by a param with a header per group.
 */
import type { ColumnDef } from '../../protocol/webviews/compare-table';
import { compareCells, sameCell, type Cell, type Row } from './cells';

/** Columns "Only columns that differ" never hides: the run's name (pinned) and its id. */
const ALWAYS_SHOWN = new Set(['name', 'runId']);

/**
 * The ids of the columns whose value is not the same in every given row (a run that lacks the value
 * differs from one that has it; a column missing in every row is the same everywhere). Run columns
 * are judged too (an operator or status shared by every run says nothing), except the name and id.
 */
export function differingColumns(
  rows: readonly Row[],
  positions: readonly number[],
  columns: readonly ColumnDef[],
): Set<string> {
  const out = new Set<string>();
  if (positions.length === 0) {
    return out;
  }
  columns.forEach((c, i) => {
    if (ALWAYS_SHOWN.has(c.id)) {
      out.add(c.id);
      return;
    }
    const first = rows[positions[0]].cells[i];
    for (let p = 1; p < positions.length; p++) {
      if (!sameCell(first, rows[positions[p]].cells[i])) {
        out.add(c.id);
        return;
      }
    }
  });
  return out;
}

/** One line of the table: a group header or a row (its position in the row list). */
export type Line =
  | {
      readonly kind: 'group';
      readonly key: string;
      readonly label: string;
      readonly count: number;
      readonly collapsed: boolean;
    }
  | { readonly kind: 'row'; readonly position: number };

/** The key of a group value (kept in the state to remember collapsed groups). */
export function groupKey(value: Cell): string {
  return value === null ? '\u0000missing' : typeof value === 'number' ? `n:${value}` : `s:${value}`;
}

/**
 * Groups sorted row positions by the value of one column: groups in ascending order of their value
 * (missing last), rows keep their sorted order inside. Collapsed groups show their header only.
 */
export function groupLines(
  rows: readonly Row[],
  sorted: readonly number[],
  column: number,
  label: ColumnDef,
  collapsed: ReadonlySet<string>,
): Line[] {
  const groups = new Map<string, { value: Cell; positions: number[] }>();
  for (const p of sorted) {
    const value = rows[p].cells[column];
    const key = groupKey(value);
    let g = groups.get(key);
    if (!g) {
      g = { value, positions: [] };
      groups.set(key, g);
    }
    g.positions.push(p);
  }
  const lines: Line[] = [];
  const ordered = [...groups].sort((a, b) => compareCells(a[1].value, b[1].value));
  for (const [key, g] of ordered) {
    const shut = collapsed.has(key);
    const value = g.value === null ? '(none)' : String(g.value);
    lines.push({ kind: 'group', key, label: `${label.label} = ${value}`, count: g.positions.length, collapsed: shut });
    if (!shut) {
      for (const position of g.positions) {
        lines.push({ kind: 'row', position });
      }
    }
  }
  return lines;
}

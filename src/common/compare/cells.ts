/**
 * Cells of the compare table and their one order. Shared by the webview (sorting, filtering,
 * grouping) and the extension host (CSV export).
 */
import type { ColumnDef, WireCell, WireRow } from '../../protocol/webviews/compare-table';

/** A decoded cell: numbers (NaN and infinities included) in number and date columns, text otherwise. */
export type Cell = number | string | null;

export interface Row {
  readonly id: string;
  /** in column order */
  readonly cells: readonly Cell[];
}

/** Turns a row as sent into cells: 'NaN', 'Infinity' and '-Infinity' become numbers in number columns. */
export function decodeRow(wire: WireRow, columns: readonly ColumnDef[]): Row {
  const cells: Cell[] = new Array<Cell>(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const v: WireCell | undefined = wire[i + 1];
    const kind = columns[i].kind;
    cells[i] =
      v === undefined || v === null
        ? null
        : typeof v === 'string' && (kind === 'number' || kind === 'date')
          ? Number(v)
          : v;
  }
  return { id: wire[0], cells };
}

/**
 * The rank of a cell's class. Numbers (infinities included) come first, then text, then NaN, then
 * missing values: NaN and missing values stay last whichever the direction, so the runs that have
 * a value are always on top.
 */
function rank(c: Cell): number {
  if (typeof c === 'number') {
    return Number.isNaN(c) ? 2 : 0;
  }
  return c === null ? 3 : 1;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * Compares two cells for an ascending (or, with `descending`, a descending) sort: numbers by value,
 * text by a natural, case-insensitive collation (`run-2` before `run-10`), numbers before text;
 * NaN after every value, missing after NaN, in both directions.
 */
export function compareCells(a: Cell, b: Cell, descending = false): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) {
    return ra >= 2 || rb >= 2 ? ra - rb : descending ? rb - ra : ra - rb;
  }
  let order = 0;
  if (ra === 0) {
    const x = a as number;
    const y = b as number;
    order = x < y ? -1 : x > y ? 1 : 0;
  } else if (ra === 1) {
    order = collator.compare(a as string, b as string);
  }
  return descending ? -order : order;
}

/** Whether two cells hold the same value (NaN equals NaN; missing equals missing only). */
export function sameCell(a: Cell, b: Cell): boolean {
  return Object.is(a, b) || (a === 0 && b === 0);
}

/** A cell as CSV text: dates in ISO 8601, numbers as JavaScript writes them (NaN, Infinity), missing as empty. */
export function cellText(c: Cell, column: ColumnDef): string {
  if (c === null) {
    return '';
  }
  if (column.kind === 'date' && typeof c === 'number' && Number.isFinite(c)) {
    return new Date(c).toISOString();
  }
  return String(c);
}

import type { SortKey } from '../../protocol/webviews/compare-table';
import { compareCells, type Cell, type Row } from './cells';

/** One sort key's values, extracted once: a class rank per row (see compareCells) and its number or text. */
interface Keyed {
  readonly ranks: Uint8Array;
  readonly numbers: Float64Array;
  readonly texts: (string | undefined)[];
  readonly descending: boolean;
}

function extract(rows: readonly Row[], positions: readonly number[], index: number, descending: boolean): Keyed {
  const n = positions.length;
  const ranks = new Uint8Array(n);
  const numbers = new Float64Array(n);
  const texts: (string | undefined)[] = new Array<string | undefined>(n);
  for (let i = 0; i < n; i++) {
    const c: Cell = rows[positions[i]].cells[index];
    if (typeof c === 'number') {
      ranks[i] = Number.isNaN(c) ? 2 : 0;
      numbers[i] = c;
    } else if (c === null) {
      ranks[i] = 3;
    } else {
      ranks[i] = 1;
      texts[i] = c;
    }
  }
  return { ranks, numbers, texts, descending };
}

/** compareCells on extracted values (the same order, without a lookup and type test per comparison). */
function compareKeyed(k: Keyed, a: number, b: number): number {
  const ra = k.ranks[a];
  const rb = k.ranks[b];
  if (ra !== rb) {
    return ra >= 2 || rb >= 2 ? ra - rb : k.descending ? rb - ra : ra - rb;
  }
  let order = 0;
  if (ra === 0) {
    const x = k.numbers[a];
    const y = k.numbers[b];
    order = x < y ? -1 : x > y ? 1 : 0;
  } else if (ra === 1) {
    order = compareCells(k.texts[a]!, k.texts[b]!);
  }
  return k.descending ? -order : order;
}

/**
 * Sorts row positions by several keys (the first is the primary one), in the order of compareCells;
 * stable, so equal rows keep their given order (the host sends newest first). Keys naming no column
 * are ignored. Each key's values are extracted once into typed arrays before sorting.
 */
export function sortRows(
  rows: readonly Row[],
  positions: readonly number[],
  keys: readonly SortKey[],
  columnIndex: ReadonlyMap<string, number>,
): number[] {
  const resolved = keys.flatMap((k) => {
    const index = columnIndex.get(k.column);
    return index === undefined ? [] : [extract(rows, positions, index, k.descending)];
  });
  if (resolved.length === 0) {
    return positions.slice();
  }
  const order = positions.map((_, i) => i);
  if (resolved.length === 1) {
    const k = resolved[0];
    order.sort((a, b) => compareKeyed(k, a, b));
  } else {
    order.sort((a, b) => {
      for (const k of resolved) {
        const o = compareKeyed(k, a, b);
        if (o !== 0) {
          return o;
        }
      }
      return 0;
    });
  }
  return order.map((i) => positions[i]);
}

/**
 * The sort keys after a click on a column header: a plain click sorts by that column alone
 * (ascending, or reversed when it already was the only key); with `add` (shift-click) the column
 * becomes an extra key (or, if it is one already, its direction flips in place).
 */
export function toggleSort(keys: readonly SortKey[], column: string, add: boolean): SortKey[] {
  const existing = keys.find((k) => k.column === column);
  if (!add) {
    return [{ column, descending: keys.length === 1 && existing ? !existing.descending : false }];
  }
  if (existing) {
    return keys.map((k) => (k.column === column ? { column, descending: !k.descending } : k));
  }
  return [...keys, { column, descending: false }];
}

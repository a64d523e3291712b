/** What the table shows for the data and the view state: lines (rows and group headers) and columns. */
import { controlFilters, filterRows, parseFilterText } from '../../src/common/compare/filter';
import { sortRows } from '../../src/common/compare/sort';
import { differingColumns, groupLines, type Line } from '../../src/common/compare/view';
import { runLabels, type LabelSource } from '../../src/protocol/run-label';
import type { Row } from '../../src/common/compare/cells';
import type { ColumnDef } from '../../src/protocol/webviews/compare-table';
import type { TableData } from './data';
import { isShown, type State } from './state';
import { sameValues } from '../common/arrays';

export interface View {
  readonly lines: readonly Line[];
  /** row positions that pass the filters, sorted */
  readonly sorted: readonly number[];
  /** indices of the columns shown after the pinned name column, in order */
  readonly columns: readonly number[];
  /** messages of filter clauses that could not be read */
  readonly errors: readonly string[];
  /** each shown run's label: its name plus the params that differ among the shown runs */
  readonly labels: ReadonlyMap<string, string>;
}

/**
 * Where a shown column goes: the status first, then what the runs were given and what they got
 * (params, metrics), then the rest of the run's record, so the columns that tell runs apart are in
 * view at a common editor width.
 */
function place(c: ColumnDef): number {
  return c.id === 'status' ? 0 : c.group === 'param' ? 1 : c.group === 'metric' ? 2 : 3;
}

/**
 * The params (as in differingParams) whose cells differ among the given rows, most-differing first,
 * read straight off the param columns: the same answer without a JSON text per cell, which for
 * 100,000 rows took seconds.
 */
export function differingParamColumns(data: TableData, positions: readonly number[]): { key: string; i: number }[] {
  if (positions.length < 2) {
    return [];
  }
  const scored: { key: string; i: number; distinct: number }[] = [];
  data.columns.forEach((c, i) => {
    if (c.group !== 'param') {
      return;
    }
    const values = new Set<unknown>();
    for (const p of positions) {
      values.add(data.rows[p].cells[i]); // null: the run has no such param
    }
    if (values.size > 1) {
      scored.push({ key: c.key!, i, distinct: values.size });
    }
  });
  scored.sort((a, b) => b.distinct - a.distinct || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return scored.map(({ key, i }) => ({ key, i }));
}

const ROW = Symbol('row');

/**
 * The params of a row as runLabels reads them: each differing param a getter of its cell (none for
 * a missing value), so only the few that fit in a label are read, and a row costs one small object
 * rather than one with every differing param copied in (a third of the labels' time for 100,000 runs).
 */
function paramsOf(params: readonly { key: string; i: number }[]): (row: Row) => Readonly<Record<string, unknown>> {
  class Params {
    readonly [ROW]: Row;
    constructor(row: Row) {
      this[ROW] = row;
    }
  }
  for (const { key, i } of params) {
    Object.defineProperty(Params.prototype, key, {
      get(this: Params) {
        return this[ROW].cells[i] ?? undefined;
      },
    });
  }
  return (row) => new Params(row) as unknown as Readonly<Record<string, unknown>>;
}

/** The labels of the given rows (see runLabels), from their name and param cells. */
export function rowLabels(data: TableData, positions: readonly number[]): Map<string, string> {
  const name = data.columnIndex.get('name');
  // only the params that differ can be in a label
  const params = differingParamColumns(data, positions);
  const paramsOfRow = paramsOf(params);
  const sources = positions.map((p): LabelSource => {
    const row: Row = data.rows[p];
    return { id: row.id, name: name === undefined ? row.id : String(row.cells[name] ?? ''), params: paramsOfRow(row) };
  });
  return runLabels(
    sources,
    undefined,
    params.map((p) => p.key),
  );
}

/**
 * The labels of the rows shown last, kept while the same runs are shown with the same names and
 * params: a sort, a grouping, a column choice or a running run's new metrics leave them as they
 * are, and for 100,000 runs they are most of a recomputation.
 */
export class LabelCache {
  private version = -1;
  private positions: readonly number[] = [];
  private labels: ReadonlyMap<string, string> = new Map();

  get(data: TableData, positions: readonly number[]): ReadonlyMap<string, string> {
    if (data.labelVersion !== this.version || !sameValues(positions, this.positions)) {
      this.labels = rowLabels(data, positions);
      this.version = data.labelVersion;
      this.positions = positions;
    }
    return this.labels;
  }
}

/** What the table shows; `labels` keeps the run labels from one call to the next while they hold. */
export function computeView(data: TableData, state: State, labels = new LabelCache()): View {
  const text = parseFilterText(state.filterText, data.columns);
  const controls = controlFilters(data.columns, state.statuses, state.startedFrom, state.startedTo);
  const filtered = filterRows(data.rows, [...text.filters, ...controls.filters], data.columns);
  const sorted = sortRows(data.rows, filtered, state.sort, data.columnIndex);
  const differ = state.differOnly ? differingColumns(data.rows, filtered, data.columns) : undefined;
  const columns: number[] = [];
  data.columns.forEach((c, i) => {
    if (c.id !== 'name' && isShown(c, state) && (!differ || differ.has(c.id))) {
      columns.push(i);
    }
  });
  columns.sort((a, b) => place(data.columns[a]) - place(data.columns[b]) || a - b);
  const group = state.groupBy ? data.columnIndex.get(state.groupBy) : undefined;
  const lines: Line[] =
    group === undefined
      ? sorted.map((position) => ({ kind: 'row', position }))
      : groupLines(data.rows, sorted, group, data.columns[group], new Set(state.collapsed));
  return { lines, sorted, columns, errors: [...text.errors, ...controls.errors], labels: labels.get(data, filtered) };
}

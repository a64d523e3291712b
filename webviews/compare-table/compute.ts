/** What the table shows for the data and the view state: lines (rows and group headers) and columns. */
import { controlFilters, filterRows, parseFilterText } from '../../src/common/compare/filter';
import { sortRows } from '../../src/common/compare/sort';
import { differingColumns, groupLines, type Line } from '../../src/common/compare/view';
import type { TableData } from './data';
import { isShown, type State } from './state';

export interface View {
  readonly lines: readonly Line[];
  /** row positions that pass the filters, sorted */
  readonly sorted: readonly number[];
  /** indices of the columns shown after the pinned name column, in order */
  readonly columns: readonly number[];
  /** messages of filter clauses that could not be read */
  readonly errors: readonly string[];
}

export function computeView(data: TableData, state: State): View {
  const text = parseFilterText(state.filterText, data.columns);
  const controls = controlFilters(data.columns, state.statuses, state.startedFrom, state.startedTo);
  const filtered = filterRows(data.rows, [...text.filters, ...controls.filters], data.columns);
  const sorted = sortRows(data.rows, filtered, state.sort, data.columnIndex);
  const differ = state.differOnly ? differingColumns(data.rows, filtered, data.columns) : undefined;
  const columns: number[] = [];
  data.columns.forEach((c, i) => {
    if (c.id !== 'name' && isShown(c, state) && (!differ || c.group === 'run' || differ.has(c.id))) {
      columns.push(i);
    }
  });
  const group = state.groupBy ? data.columnIndex.get(state.groupBy) : undefined;
  const lines: Line[] =
    group === undefined
      ? sorted.map((position) => ({ kind: 'row', position }))
      : groupLines(data.rows, sorted, group, data.columns[group], new Set(state.collapsed));
  return { lines, sorted, columns, errors: [...text.errors, ...controls.errors] };
}

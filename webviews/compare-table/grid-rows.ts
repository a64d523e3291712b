/**
 * The grid's row elements: a pinned check box and run label, then one absolutely placed cell per
 * shown column in the horizontal view. Elements are recycled as the view scrolls: `fillRow` turns
 * one into any line (a run or a group header).
 */
import type { Row } from '../../src/common/compare/cells';
import type { Line } from '../../src/common/compare/view';
import { el } from '../common/dom';
import type { View } from './compute';
import type { TableData } from './data';
import { cellTitle, formatCell } from './format';
import { CHECK_WIDTH, HEADER_HEIGHT, NAME_WIDTH, PIN_WIDTH, ROW_HEIGHT, type ColumnLayout } from './grid-layout';

export interface RowElement {
  readonly root: HTMLDivElement;
  readonly check: HTMLInputElement;
  readonly checkCell: HTMLDivElement;
  readonly name: HTMLDivElement;
  readonly cells: HTMLDivElement[];
  /** what the element shows now; refilled when the line's key differs */
  key: string;
}

/** What a row is filled from. */
export interface FillContext {
  readonly data: TableData;
  readonly view: View;
  readonly layout: ColumnLayout;
  readonly selected: ReadonlySet<string>;
  /** the active line (keyboard focus), -1 for none */
  readonly active: number;
  /** the grid's visible width: a group header spans it */
  readonly clientWidth: number;
}

export function createRow(): RowElement {
  const root = el('div', 'grow');
  root.setAttribute('role', 'row');
  const pin = el('div', 'pin');
  const checkCell = el('div', 'cell check');
  checkCell.style.width = `${CHECK_WIDTH}px`;
  checkCell.setAttribute('role', 'gridcell');
  const check = el('input');
  check.type = 'checkbox';
  check.tabIndex = -1;
  checkCell.append(check);
  const name = el('div', 'cell');
  name.setAttribute('role', 'rowheader');
  pin.append(checkCell, name);
  root.append(pin);
  return { root, check, checkCell, name, cells: [], key: '' };
}

/** Shows line `index` in `r`, with the shown columns from c0 (inclusive) to c1 (exclusive). */
export function fillRow(r: RowElement, index: number, line: Line, at: FillContext, c0: number, c1: number): void {
  const root = r.root;
  root.style.transform = `translateY(${HEADER_HEIGHT + index * ROW_HEIGHT}px)`;
  root.style.width = `${at.layout.totalWidth}px`;
  root.setAttribute('aria-rowindex', String(index + 2));
  root.dataset.line = String(index);
  root.id = index === at.active ? 'active-row' : '';
  if (line.kind === 'group') {
    root.className = `grow group${index === at.active ? ' active' : ''}`;
    root.setAttribute('aria-expanded', String(!line.collapsed));
    root.removeAttribute('aria-selected');
    r.checkCell.hidden = true;
    r.name.style.width = `${Math.max(PIN_WIDTH, at.clientWidth - 16)}px`;
    r.name.className = 'cell group-label';
    r.name.textContent = `${line.collapsed ? '▸' : '▾'} ${line.label} — ${line.count} run${line.count === 1 ? '' : 's'}`;
    r.name.title = r.name.textContent;
    r.cells.forEach((c) => (c.hidden = true));
    return;
  }
  const { data, view, layout } = at;
  const row: Row = data.rows[line.position];
  const selected = at.selected.has(row.id);
  root.className = `grow${index % 2 ? ' odd' : ''}${selected ? ' selected' : ''}${index === at.active ? ' active' : ''}`;
  root.removeAttribute('aria-expanded');
  root.setAttribute('aria-selected', String(selected));
  r.checkCell.hidden = false;
  r.check.checked = selected;
  r.check.setAttribute('aria-label', `Select ${row.id}`);
  const nameIndex = data.columnIndex.get('name');
  r.name.style.width = `${NAME_WIDTH}px`;
  r.name.className = 'cell';
  const name = nameIndex === undefined ? row.id : formatCell(row.cells[nameIndex], data.columns[nameIndex]);
  const label = view.labels.get(row.id) ?? name;
  r.name.textContent = label;
  r.name.title = label === name ? `${name} (${row.id})` : `${label}\n${name} (${row.id})`;
  const n = Math.max(0, c1 - c0);
  while (r.cells.length < n) {
    const cell = el('div', 'cell');
    cell.setAttribute('role', 'gridcell');
    r.cells.push(cell);
    root.append(cell);
  }
  for (let k = 0; k < r.cells.length; k++) {
    const cell = r.cells[k];
    if (k >= n) {
      cell.hidden = true;
      continue;
    }
    const ci = c0 + k;
    const column = data.columns[view.columns[ci]];
    const value = row.cells[view.columns[ci]];
    cell.hidden = false;
    cell.style.left = `${layout.offsets[ci]}px`;
    cell.style.width = `${layout.widths[ci]}px`;
    const numeric = column.kind === 'number' || column.kind === 'date';
    cell.className = `cell${numeric ? ' num' : ''}${column.kind === 'status' ? ` st-${String(value)}` : ''}${value === null ? ' missing' : ''}`;
    cell.setAttribute('aria-colindex', String(ci + 3));
    const text = value === null ? '—' : formatCell(value, column);
    cell.textContent = text;
    cell.title = cellTitle(value, column);
  }
}

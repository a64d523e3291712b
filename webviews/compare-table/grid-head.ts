/**
 * The grid's header row: "select all", then one sort button per shown column. It holds every shown
 * column (one row of buttons is cheap, even for thousands), so Tab can reach each of them and the
 * browser scrolls the focused one into view. It is rebuilt only when the columns change; a sort or a
 * selection updates it in place (the focus stays put).
 */
import type { ColumnDef, SortKey } from '../../src/protocol/webviews/compare-table';
import { el } from '../common/dom';
import type { View } from './compute';
import type { TableData } from './data';
import { CHECK_WIDTH, NAME_WIDTH, type ColumnLayout } from './grid-layout';

export interface HeadEvents {
  sort(column: string, add: boolean): void;
  toggleAll(): void;
}

export class GridHead {
  readonly element = el('div', 'ghead');
  private columns: readonly ColumnDef[] | undefined;
  private layout = '';
  private readonly cells = new Map<string, { cell: HTMLElement; sort: HTMLElement }>();
  private readonly selectAll = el('input');

  constructor(private readonly events: HeadEvents) {
    this.element.setAttribute('role', 'row');
    this.element.setAttribute('aria-rowindex', '1');
    this.selectAll.addEventListener('click', () => this.events.toggleAll());
    // header buttons: Enter and Space sort (with Shift: add a key), like a click and Shift+click
    this.element.addEventListener('click', (e) => {
      if (e.detail > 0) {
        this.onAction(e, e.shiftKey); // a click from the keyboard (detail 0) is handled below
      }
    });
    this.element.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        this.onAction(e, e.shiftKey);
      }
    });
  }

  /** Builds the header cells when the shown columns changed. */
  render(data: TableData, view: View, layout: ColumnLayout): void {
    const key = view.columns.join(',');
    if (data.columns === this.columns && key === this.layout) {
      return;
    }
    this.columns = data.columns;
    this.layout = key;
    this.cells.clear();
    const pin = el('div', 'pin');
    const checkCell = el('div', 'hcell cell check');
    checkCell.style.width = `${CHECK_WIDTH}px`;
    checkCell.setAttribute('role', 'columnheader');
    this.selectAll.type = 'checkbox';
    this.selectAll.setAttribute('aria-label', 'Select all shown runs');
    checkCell.append(this.selectAll);
    const nameIndex = data.columnIndex.get('name');
    pin.append(checkCell);
    if (nameIndex !== undefined) {
      pin.append(this.cell(data.columns[nameIndex], NAME_WIDTH, 2));
    }
    const cells: HTMLElement[] = [pin];
    for (let k = 0; k < view.columns.length; k++) {
      const cell = this.cell(data.columns[view.columns[k]], layout.widths[k], k + 3);
      cell.style.left = `${layout.offsets[k]}px`;
      cells.push(cell);
    }
    this.element.replaceChildren(...cells);
  }

  /** "Select all" checked when every shown run is selected, indeterminate when some are. */
  showSelection(data: TableData, view: View, selected: ReadonlySet<string>): void {
    const shown = view.sorted.length;
    let chosen = 0;
    for (const p of view.sorted) {
      chosen += selected.has(data.rows[p].id) ? 1 : 0;
    }
    this.selectAll.checked = shown > 0 && chosen === shown;
    this.selectAll.indeterminate = chosen > 0 && chosen < shown;
  }

  /** An arrow on each sort key's header, numbered when there are several keys. */
  showSort(sort: readonly SortKey[]): void {
    for (const [id, h] of this.cells) {
      const at = sort.findIndex((s) => s.column === id);
      const arrow = at < 0 ? '' : sort[at].descending ? '▼' : '▲';
      h.sort.textContent = at < 0 ? '' : sort.length > 1 ? `${arrow}${at + 1}` : arrow;
      h.sort.hidden = at < 0;
      if (at === 0) {
        h.cell.setAttribute('aria-sort', sort[0].descending ? 'descending' : 'ascending');
      } else {
        h.cell.removeAttribute('aria-sort');
      }
    }
  }

  private cell(c: ColumnDef, width: number, colIndex: number): HTMLElement {
    const cell = el('div', `hcell ${c.group}${c.kind === 'number' || c.kind === 'date' ? ' num' : ''}`);
    cell.style.width = `${width}px`;
    cell.setAttribute('role', 'columnheader');
    cell.setAttribute('aria-colindex', String(colIndex));
    const button = el('button');
    button.title = `${c.id}${c.group === 'param' ? ' (param)' : ''}: click to sort, Shift+click to add as a further sort key`;
    const sort = el('span', 'sort');
    button.append(el('span', 'label', c.label), sort);
    button.dataset.column = c.id;
    cell.append(button);
    this.cells.set(c.id, { cell, sort });
    return cell;
  }

  private onAction(e: Event, add: boolean): void {
    const button = e.target instanceof Element ? e.target.closest<HTMLElement>('button[data-column]') : null;
    if (button) {
      e.preventDefault();
      e.stopPropagation();
      this.events.sort(button.dataset.column!, add);
    }
  }
}

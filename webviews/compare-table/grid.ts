/**
 * The table as a virtualized grid: rows have a fixed height and only those in view (plus a few)
 * are in the DOM, positioned over a spacer as tall as all rows; columns outside the horizontal view
 * are not rendered either, so 10,000 runs and 1,000 metric keys scroll alike. The check box and
 * name stay pinned at the left, the header at the top. Rows are recycled as the view scrolls.
 */
import type { Row } from '../../src/common/compare/cells';
import type { Line } from '../../src/common/compare/view';
import type { ColumnDef, SortKey } from '../../src/protocol/webviews/compare-table';
import { el } from '../common/dom';
import type { View } from './compute';
import type { TableData } from './data';
import { cellTitle, columnWidth, formatCell } from './format';

export const ROW_HEIGHT = 24;
const HEADER_HEIGHT = 28;
const CHECK_WIDTH = 28;
const NAME_WIDTH = 220;
const PIN_WIDTH = CHECK_WIDTH + NAME_WIDTH;
/** rows rendered above and below the view, so a fast scroll shows no gap */
const OVERSCAN = 8;

export interface GridEvents {
  sort(column: string, add: boolean): void;
  toggleRow(id: string, extend: boolean): void;
  toggleAll(): void;
  open(id: string): void;
  toggleGroup(key: string): void;
  scrolled(scrollTop: number): void;
}

interface RowElement {
  readonly root: HTMLDivElement;
  readonly check: HTMLInputElement;
  readonly checkCell: HTMLDivElement;
  readonly name: HTMLDivElement;
  readonly cells: HTMLDivElement[];
  key: string;
}

export class Grid {
  readonly element = el('div', 'grid');
  /** "N more columns →": shown while columns lie beyond the right edge; a click scrolls to them */
  readonly cue = el('button', 'scroll-cue');
  private readonly inner = el('div', 'grid-inner');
  private readonly head = el('div', 'ghead');
  private readonly pool: RowElement[] = [];
  private data: TableData | undefined;
  private view: View | undefined;
  private sort: readonly SortKey[] = [];
  private selected: ReadonlySet<string> = new Set();
  /** left offset of each shown column (after the pinned part) */
  private offsets: number[] = [];
  private widths: number[] = [];
  private totalWidth = PIN_WIDTH;
  private version = 0;
  private active = -1;
  private frame = 0;
  private headColumns: readonly ColumnDef[] | undefined;
  private headLayout = '';
  private readonly headCells = new Map<string, { cell: HTMLElement; sort: HTMLElement }>();
  private readonly selectAll = el('input');
  private lastClicked: string | undefined;

  constructor(private readonly events: GridEvents) {
    this.element.tabIndex = 0;
    this.element.setAttribute('role', 'grid');
    this.element.setAttribute('aria-multiselectable', 'true');
    this.element.setAttribute('aria-label', 'Experiments');
    this.head.setAttribute('role', 'row');
    this.head.setAttribute('aria-rowindex', '1');
    this.selectAll.addEventListener('click', () => this.events.toggleAll());
    this.inner.append(this.head);
    this.element.append(this.inner);
    this.cue.hidden = true;
    this.cue.tabIndex = -1; // the grid scrolls with the keyboard already; this is for the mouse
    this.cue.addEventListener('click', () => {
      this.element.scrollBy({ left: Math.max(100, this.element.clientWidth - PIN_WIDTH - 40), behavior: 'smooth' });
    });
    this.element.addEventListener('scroll', () => {
      this.schedule();
      this.events.scrolled(this.element.scrollTop);
    });
    this.element.addEventListener('click', (e) => this.onClick(e));
    this.element.addEventListener('mousedown', (e) => {
      if (e.shiftKey) {
        e.preventDefault(); // Shift+click selects a range of rows, not text
      }
    });
    this.element.addEventListener('dblclick', (e) => {
      const line = this.lineAt(e.target);
      if (line?.kind === 'row' && !(e.target instanceof HTMLInputElement)) {
        this.events.open(this.data!.rows[line.position].id);
      }
    });
    this.element.addEventListener('keydown', (e) => this.onKey(e));
    // header buttons: Enter and Space sort (with Shift: add a key), like a click and Shift+click
    this.head.addEventListener('click', (e) => {
      if (e.detail > 0) {
        this.onHeadAction(e, e.shiftKey); // a click from the keyboard (detail 0) is handled below
      }
    });
    this.head.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        this.onHeadAction(e, e.shiftKey);
      }
    });
    new ResizeObserver(() => this.schedule()).observe(this.element);
  }

  /** New data, view or state: lays out the columns and redraws what is in view. */
  update(data: TableData, view: View, sort: readonly SortKey[], selected: ReadonlySet<string>): void {
    this.data = data;
    this.view = view;
    this.sort = sort;
    this.selected = selected;
    this.version++;
    this.widths = view.columns.map((i) => columnWidth(data.columns[i]));
    this.offsets = [];
    let x = PIN_WIDTH;
    for (const w of this.widths) {
      this.offsets.push(x);
      x += w;
    }
    this.totalWidth = x;
    this.inner.style.width = `${this.totalWidth}px`;
    this.inner.style.height = `${HEADER_HEIGHT + view.lines.length * ROW_HEIGHT}px`;
    this.head.style.width = `${this.totalWidth}px`;
    this.element.setAttribute('aria-rowcount', String(view.lines.length + 1));
    this.element.setAttribute('aria-colcount', String(view.columns.length + 2));
    if (this.active >= view.lines.length) {
      this.active = view.lines.length - 1;
    }
    this.render();
  }

  /** Selection changed only: redraws the rows in view. */
  setSelected(selected: ReadonlySet<string>): void {
    this.selected = selected;
    this.version++;
    this.render();
  }

  get scrollTop(): number {
    return this.element.scrollTop;
  }

  set scrollTop(value: number) {
    this.element.scrollTop = value;
  }

  /** How many row elements are in the DOM (for tests: only a window of the rows). */
  get renderedRows(): number {
    return this.pool.filter((r) => r.root.isConnected && !r.root.hidden).length;
  }

  private schedule(): void {
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }
  }

  /** Shows how many columns are beyond the right edge, and a shadow under the pinned run column once scrolled. */
  private updateCue(): void {
    const right = this.element.scrollLeft + this.element.clientWidth;
    let beyond = 0;
    for (let k = this.offsets.length - 1; k >= 0 && this.offsets[k] + this.widths[k] > right + 1; k--) {
      beyond++;
    }
    const width = this.element.clientWidth;
    this.cue.hidden = beyond === 0 || width === 0;
    if (!this.cue.hidden) {
      const text = `${beyond} more column${beyond === 1 ? '' : 's'} →`;
      if (this.cue.textContent !== text) {
        this.cue.textContent = text;
        this.cue.title = `${text}: scroll right (Shift+wheel, or the scroll bar) or click here`;
      }
    }
    this.element.classList.toggle('scrolled-x', this.element.scrollLeft > 0);
  }

  /** How many shown columns lie beyond the right edge (0 = all in view), for tests. */
  get columnsBeyond(): number {
    return this.cue.hidden ? 0 : Number.parseInt(this.cue.textContent ?? '0', 10);
  }

  /** The shown columns (positions in view.columns) that intersect the horizontal view. */
  private columnWindow(): [number, number] {
    const left = this.element.scrollLeft + PIN_WIDTH;
    const right = this.element.scrollLeft + Math.max(this.element.clientWidth, 800);
    let first = 0;
    while (first < this.offsets.length && this.offsets[first] + this.widths[first] <= left) {
      first++;
    }
    let last = first;
    while (last < this.offsets.length && this.offsets[last] < right) {
      last++;
    }
    return [first, last];
  }

  render(): void {
    const data = this.data;
    const view = this.view;
    if (!data || !view) {
      return;
    }
    const [c0, c1] = this.columnWindow();
    this.renderHead(data, view);
    this.updateCue();
    const height = Math.max(this.element.clientHeight, 600);
    const top = Math.max(0, this.element.scrollTop - HEADER_HEIGHT);
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(view.lines.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    const count = Math.max(0, last - first);
    while (this.pool.length < count) {
      this.pool.push(this.createRow());
    }
    for (let k = 0; k < this.pool.length; k++) {
      const r = this.pool[k];
      if (k >= count) {
        r.root.hidden = true;
        r.key = '';
        continue;
      }
      const index = first + k;
      r.root.hidden = false;
      const key = `${this.version}:${index}:${c0}:${c1}:${index === this.active}`;
      if (r.key !== key) {
        r.key = key;
        this.fillRow(r, index, view.lines[index], data, view, c0, c1);
      }
    }
  }

  /**
   * The header holds every shown column (one row of buttons is cheap, even for thousands), so Tab
   * can reach each of them and the browser scrolls the focused one into view. It is rebuilt only
   * when the columns change; a sort or a selection updates it in place (the focus stays put).
   */
  private renderHead(data: TableData, view: View): void {
    const layout = view.columns.join(',');
    if (data.columns !== this.headColumns || layout !== this.headLayout) {
      this.headColumns = data.columns;
      this.headLayout = layout;
      this.headCells.clear();
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
        pin.append(this.headCell(data.columns[nameIndex], NAME_WIDTH, 2));
      }
      const cells: HTMLElement[] = [pin];
      for (let k = 0; k < view.columns.length; k++) {
        const cell = this.headCell(data.columns[view.columns[k]], this.widths[k], k + 3);
        cell.style.left = `${this.offsets[k]}px`;
        cells.push(cell);
      }
      this.head.replaceChildren(...cells);
    }
    const shown = view.sorted.length;
    let chosen = 0;
    for (const p of view.sorted) {
      chosen += this.selected.has(data.rows[p].id) ? 1 : 0;
    }
    this.selectAll.checked = shown > 0 && chosen === shown;
    this.selectAll.indeterminate = chosen > 0 && chosen < shown;
    for (const [id, h] of this.headCells) {
      const at = this.sort.findIndex((s) => s.column === id);
      const arrow = at < 0 ? '' : this.sort[at].descending ? '▼' : '▲';
      h.sort.textContent = at < 0 ? '' : this.sort.length > 1 ? `${arrow}${at + 1}` : arrow;
      h.sort.hidden = at < 0;
      if (at === 0) {
        h.cell.setAttribute('aria-sort', this.sort[0].descending ? 'descending' : 'ascending');
      } else {
        h.cell.removeAttribute('aria-sort');
      }
    }
  }

  private headCell(c: ColumnDef, width: number, colIndex: number): HTMLElement {
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
    this.headCells.set(c.id, { cell, sort });
    return cell;
  }

  private onHeadAction(e: Event, add: boolean): void {
    const button = e.target instanceof Element ? e.target.closest<HTMLElement>('button[data-column]') : null;
    if (button) {
      e.preventDefault();
      e.stopPropagation();
      this.events.sort(button.dataset.column!, add);
    }
  }

  private createRow(): RowElement {
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
    this.inner.append(root);
    return { root, check, checkCell, name, cells: [], key: '' };
  }

  private fillRow(r: RowElement, index: number, line: Line, data: TableData, view: View, c0: number, c1: number): void {
    const root = r.root;
    root.style.transform = `translateY(${HEADER_HEIGHT + index * ROW_HEIGHT}px)`;
    root.style.width = `${this.totalWidth}px`;
    root.setAttribute('aria-rowindex', String(index + 2));
    root.dataset.line = String(index);
    root.id = index === this.active ? 'active-row' : '';
    if (line.kind === 'group') {
      root.className = `grow group${index === this.active ? ' active' : ''}`;
      root.setAttribute('aria-expanded', String(!line.collapsed));
      root.removeAttribute('aria-selected');
      r.checkCell.hidden = true;
      r.name.style.width = `${Math.max(PIN_WIDTH, this.element.clientWidth - 16)}px`;
      r.name.className = 'cell group-label';
      r.name.textContent = `${line.collapsed ? '▸' : '▾'} ${line.label} — ${line.count} run${line.count === 1 ? '' : 's'}`;
      r.name.title = r.name.textContent;
      r.cells.forEach((c) => (c.hidden = true));
      return;
    }
    const row: Row = data.rows[line.position];
    const selected = this.selected.has(row.id);
    root.className = `grow${index % 2 ? ' odd' : ''}${selected ? ' selected' : ''}${index === this.active ? ' active' : ''}`;
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
      cell.style.left = `${this.offsets[ci]}px`;
      cell.style.width = `${this.widths[ci]}px`;
      const numeric = column.kind === 'number' || column.kind === 'date';
      cell.className = `cell${numeric ? ' num' : ''}${column.kind === 'status' ? ` st-${String(value)}` : ''}${value === null ? ' missing' : ''}`;
      cell.setAttribute('aria-colindex', String(ci + 3));
      const text = value === null ? '—' : formatCell(value, column);
      cell.textContent = text;
      cell.title = cellTitle(value, column);
    }
  }

  private lineAt(target: EventTarget | null): Line | undefined {
    const row = target instanceof Element ? target.closest<HTMLElement>('.grow') : null;
    const index = row?.dataset.line === undefined ? NaN : Number(row.dataset.line);
    return Number.isNaN(index) ? undefined : this.view?.lines[index];
  }

  private onClick(e: MouseEvent): void {
    const row = e.target instanceof Element ? e.target.closest<HTMLElement>('.grow') : null;
    const line = this.lineAt(e.target);
    if (!row || !line) {
      return;
    }
    this.setActive(Number(row.dataset.line), false);
    if (line.kind === 'group') {
      this.events.toggleGroup(line.key);
    } else if (e.target instanceof HTMLInputElement) {
      const id = this.data!.rows[line.position].id;
      this.events.toggleRow(id, e.shiftKey && this.lastClicked !== undefined);
      this.lastClicked = id;
    }
  }

  /** The ids of the rows between the last clicked row and `id` (for Shift+click). */
  rangeTo(id: string): string[] {
    const view = this.view;
    const data = this.data;
    if (!view || !data || this.lastClicked === undefined) {
      return [id];
    }
    const ids = view.lines.flatMap((l) => (l.kind === 'row' ? [data.rows[l.position].id] : []));
    const a = ids.indexOf(this.lastClicked);
    const b = ids.indexOf(id);
    return a < 0 || b < 0 ? [id] : ids.slice(Math.min(a, b), Math.max(a, b) + 1);
  }

  private setActive(index: number, reveal: boolean): void {
    const lines = this.view?.lines.length ?? 0;
    if (lines === 0) {
      return;
    }
    this.active = Math.max(0, Math.min(lines - 1, index));
    this.element.setAttribute('aria-activedescendant', 'active-row');
    if (reveal) {
      const y = this.active * ROW_HEIGHT;
      const viewTop = this.element.scrollTop;
      const viewHeight = this.element.clientHeight - HEADER_HEIGHT;
      if (y < viewTop) {
        this.element.scrollTop = y;
      } else if (y + ROW_HEIGHT > viewTop + viewHeight) {
        this.element.scrollTop = y + ROW_HEIGHT - viewHeight;
      }
    }
    this.version++;
    this.render();
  }

  private onKey(e: KeyboardEvent): void {
    if (e.target !== this.element || !this.view) {
      return;
    }
    const page = Math.max(1, Math.floor((this.element.clientHeight - HEADER_HEIGHT) / ROW_HEIGHT) - 1);
    const moves: Record<string, number> = {
      ArrowDown: this.active + 1,
      ArrowUp: this.active - 1,
      PageDown: this.active + page,
      PageUp: this.active - page,
      Home: 0,
      End: this.view.lines.length - 1,
    };
    if (e.key in moves) {
      e.preventDefault();
      this.setActive(this.active < 0 ? 0 : moves[e.key], true);
      return;
    }
    const line = this.view.lines[this.active];
    if (!line || (e.key !== ' ' && e.key !== 'Enter')) {
      return;
    }
    e.preventDefault();
    if (line.kind === 'group') {
      this.events.toggleGroup(line.key);
    } else if (e.key === ' ') {
      const id = this.data!.rows[line.position].id;
      this.events.toggleRow(id, false);
      this.lastClicked = id;
    } else {
      this.events.open(this.data!.rows[line.position].id);
    }
  }
}

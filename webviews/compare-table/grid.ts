/**
 * The table as a virtualized grid: rows have a fixed height and only those in view (plus a few)
 * are in the DOM, positioned over a spacer as tall as all rows; columns outside the horizontal view
 * are not rendered either, so 100,000 runs and 1,000 metric keys scroll alike. The check box and
 * name stay pinned at the left, the header at the top. Rows are recycled as the view scrolls.
 * Geometry: grid-layout.ts; the header: grid-head.ts; the row elements: grid-rows.ts.
 */
import type { Line } from '../../src/common/compare/view';
import type { SortKey } from '../../src/protocol/webviews/compare-table';
import { el } from '../common/dom';
import type { View } from './compute';
import type { TableData } from './data';
import { GridHead } from './grid-head';
import { ColumnLayout, HEADER_HEIGHT, PIN_WIDTH, ROW_HEIGHT, rowWindow } from './grid-layout';
import { createRow, fillRow, type RowElement } from './grid-rows';

export interface GridEvents {
  sort(column: string, add: boolean): void;
  toggleRow(id: string, extend: boolean): void;
  toggleAll(): void;
  open(id: string): void;
  toggleGroup(key: string): void;
  scrolled(scrollTop: number): void;
}

export class Grid {
  readonly element = el('div', 'grid');
  /** "N more columns →": shown while columns lie beyond the right edge; a click scrolls to them */
  readonly cue = el('button', 'scroll-cue');
  private readonly inner = el('div', 'grid-inner');
  private readonly head: GridHead;
  private readonly pool: RowElement[] = [];
  private readonly layout = new ColumnLayout();
  private data: TableData | undefined;
  private view: View | undefined;
  private selected: ReadonlySet<string> = new Set();
  private version = 0;
  private active = -1;
  private frame = 0;
  private lastClicked: string | undefined;

  constructor(private readonly events: GridEvents) {
    this.head = new GridHead(events);
    this.element.tabIndex = 0;
    this.element.setAttribute('role', 'grid');
    this.element.setAttribute('aria-multiselectable', 'true');
    this.element.setAttribute('aria-label', 'Experiments');
    this.inner.append(this.head.element);
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
    new ResizeObserver(() => this.schedule()).observe(this.element);
  }

  /** New data, view or state: lays out the columns and redraws what is in view. */
  update(data: TableData, view: View, sort: readonly SortKey[], selected: ReadonlySet<string>): void {
    this.data = data;
    this.view = view;
    this.selected = selected;
    this.version++;
    this.layout.set(data, view);
    const width = `${this.layout.totalWidth}px`;
    this.inner.style.width = width;
    this.inner.style.height = `${HEADER_HEIGHT + view.lines.length * ROW_HEIGHT}px`;
    this.head.element.style.width = width;
    this.element.setAttribute('aria-rowcount', String(view.lines.length + 1));
    this.element.setAttribute('aria-colcount', String(view.columns.length + 2));
    if (this.active >= view.lines.length) {
      this.active = view.lines.length - 1;
    }
    this.render();
    this.head.showSort(sort);
    this.head.showSelection(data, view, selected);
  }

  /** Selection changed only: redraws the rows in view. */
  setSelected(selected: ReadonlySet<string>): void {
    this.selected = selected;
    this.version++;
    this.render();
    if (this.data && this.view) {
      this.head.showSelection(this.data, this.view, selected);
    }
  }

  get scrollTop(): number {
    return this.element.scrollTop;
  }

  set scrollTop(value: number) {
    this.element.scrollTop = value;
  }

  /** Whether the rows reach far enough down to scroll to `top`. */
  canScrollTo(top: number): boolean {
    return this.element.isConnected && this.element.scrollHeight - this.element.clientHeight >= top;
  }

  /** How many row elements are in the DOM (for tests: only a window of the rows). */
  get renderedRows(): number {
    return this.pool.filter((r) => r.root.isConnected && !r.root.hidden).length;
  }

  /** How many shown columns lie beyond the right edge (0 = all in view), for tests. */
  get columnsBeyond(): number {
    return this.cue.hidden ? 0 : Number.parseInt(this.cue.textContent ?? '0', 10);
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
    const beyond = this.layout.beyond(this.element.scrollLeft + this.element.clientWidth);
    this.cue.hidden = beyond === 0 || this.element.clientWidth === 0;
    if (!this.cue.hidden) {
      const text = `${beyond} more column${beyond === 1 ? '' : 's'} →`;
      if (this.cue.textContent !== text) {
        this.cue.textContent = text;
        this.cue.title = `${text}: scroll right (Shift+wheel, or the scroll bar) or click here`;
      }
    }
    this.element.classList.toggle('scrolled-x', this.element.scrollLeft > 0);
  }

  render(): void {
    const data = this.data;
    const view = this.view;
    if (!data || !view) {
      return;
    }
    const [c0, c1] = this.layout.window(this.element.scrollLeft, this.element.clientWidth);
    this.head.render(data, view, this.layout); // the sort and selection marks: update and setSelected
    this.updateCue();
    const [first, last] = rowWindow(this.element.scrollTop, this.element.clientHeight, view.lines.length);
    const count = last - first;
    while (this.pool.length < count) {
      const row = createRow();
      this.inner.append(row.root);
      this.pool.push(row);
    }
    const context = {
      data,
      view,
      layout: this.layout,
      selected: this.selected,
      active: this.active,
      clientWidth: this.element.clientWidth,
    };
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
        fillRow(r, index, view.lines[index], context, c0, c1);
      }
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

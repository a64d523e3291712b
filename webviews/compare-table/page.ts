/**
 * The page: toolbar, status line, and the table (or the parallel coordinates) below, kept in step
 * with the data and the view state. Recomputes the view when either changes (refresh) and redraws
 * only the selection when that is all that changed.
 */
import { toggleSort } from '../../src/common/compare/sort';
import type { WebviewToHostMessage } from '../../src/protocol/webviews/compare-table';
import { el } from '../common/dom';
import type { VsCodeApi } from '../common/vscode-api';
import { columnChooser } from './chooser';
import { computeView, LabelCache, type View } from './compute';
import { TableData } from './data';
import { Grid, type GridEvents } from './grid';
import { ParallelView } from './parallel-view';
import type { State } from './state';
import { renderStatus, type Notice } from './status';
import { Store } from './store';
import { Toolbar } from './toolbar';

export class ComparePage {
  readonly data = new TableData();
  readonly store: Store;
  readonly grid = new Grid(this.gridEvents());
  notice: Notice | undefined;
  private view: View | undefined;
  private readonly labels = new LabelCache();
  private readonly toolbar: Toolbar;
  private readonly parallel: ParallelView;
  private readonly statusLine = el('div', 'status-line');
  private readonly main = el('div', 'main');
  private shownMain: HTMLElement | undefined;
  private chooser: HTMLElement | undefined;
  private columnsKey = '';
  /** where to scroll the grid once enough rows are in (a panel shown again is where it was left) */
  private scrollTo: number | undefined;

  constructor(
    root: HTMLElement,
    private readonly api: VsCodeApi<WebviewToHostMessage, State>,
  ) {
    this.store = new Store(api);
    this.toolbar = new Toolbar(this.store, {
      refresh: () => this.refresh(),
      switchView: () => {
        this.layout();
        this.refresh();
      },
      toggleChooser: () => this.toggleChooser(),
      chart: () => this.post({ type: 'chart', ids: [...this.store.selected] }),
      exportCsv: () => this.exportCsv(),
    });
    this.parallel = new ParallelView(this.store, this.data, () => this.view);
    this.statusLine.setAttribute('role', 'status');
    root.replaceChildren(...this.toolbar.rows, this.statusLine, this.main);
    this.layout();
    this.renderStatus();
  }

  post(message: WebviewToHostMessage): void {
    this.api.postMessage(message);
  }

  /** Recomputes the view from the data and the state and redraws. */
  refresh(): void {
    this.syncColumnControls();
    this.view = computeView(this.data, this.store.state, this.labels);
    this.layout();
    if (this.store.state.view === 'table') {
      this.grid.update(this.data, this.view, this.store.state.sort, this.store.selected);
    } else {
      this.parallel.draw();
    }
    this.renderStatus();
    this.applyScroll();
  }

  /** Scrolls the grid to `top` as soon as its rows reach that far (or all rows are in), unless the person scrolls first. */
  restoreScroll(top: number): void {
    this.scrollTo = top;
  }

  private applyScroll(): void {
    const top = this.scrollTo;
    if (top !== undefined && (!this.data.loading || this.grid.canScrollTo(top))) {
      this.scrollTo = undefined;
      this.grid.scrollTop = top;
    }
  }

  /** Saves and redraws the selection after it changed. */
  selectionChanged(): void {
    this.store.saveSelection();
    if (this.store.state.view === 'table') {
      this.grid.setSelected(this.store.selected);
    } else {
      this.parallel.draw();
    }
    this.renderStatus();
  }

  /** Drops selected ids whose runs are gone. */
  pruneSelection(): void {
    const kept = [...this.store.selected].filter((id) => this.data.has(id));
    if (kept.length !== this.store.selected.size) {
      this.store.select(kept);
    }
  }

  renderStatus(): void {
    const { data, view, store, notice } = this;
    renderStatus(this.statusLine, { data, view, state: store.state, selected: store.selected, notice });
    this.toolbar.showCounts(store.selected.size, view?.sorted.length);
  }

  private gridEvents(): GridEvents {
    return {
      sort: (column, add) => {
        this.store.save({ sort: toggleSort(this.store.state.sort, column, add) });
        this.refresh();
      },
      toggleRow: (id, extend) => {
        const selected = this.store.selected;
        const ids = extend ? this.grid.rangeTo(id) : [id];
        const on = !selected.has(id);
        for (const i of ids) {
          if (on) {
            selected.add(i);
          } else {
            selected.delete(i);
          }
        }
        this.selectionChanged();
      },
      toggleAll: () => {
        const selected = this.store.selected;
        const ids = (this.view?.sorted ?? []).map((p) => this.data.rows[p].id);
        const all = ids.length > 0 && ids.every((id) => selected.has(id));
        for (const id of ids) {
          if (all) {
            selected.delete(id);
          } else {
            selected.add(id);
          }
        }
        this.selectionChanged();
      },
      open: (id) => this.post({ type: 'openExperiment', id }),
      toggleGroup: (key) => {
        const collapsed = new Set(this.store.state.collapsed);
        if (!collapsed.delete(key)) {
          collapsed.add(key);
        }
        this.store.save({ collapsed: [...collapsed] });
        this.refresh();
      },
      scrolled: (scrollTop) => {
        if (this.scrollTo !== undefined && scrollTop === 0) {
          return; // scrolled sideways before the rows to scroll down to are in: still to do, still saved
        }
        this.scrollTo = undefined;
        this.store.scrolled(scrollTop);
      },
    };
  }

  /** New columns: new choices for grouping and the parallel axes. */
  private syncColumnControls(): void {
    const columns = this.data.columns;
    const key = columns.map((c) => c.id).join('\n');
    if (key === this.columnsKey) {
      return;
    }
    this.columnsKey = key;
    this.toolbar.setParams(columns.filter((c) => c.group === 'param'));
    this.parallel.setColumns(columns);
  }

  private emptyText(): string | undefined {
    const { data, view } = this;
    if (!data.loaded || (data.rows.length === 0 && data.loading)) {
      return 'Loading experiments…';
    }
    if (data.rows.length === 0) {
      return data.empty || 'No experiments yet — run a script with ML Lab: Run as Experiment.';
    }
    if (view && view.sorted.length === 0) {
      return data.loading ? 'No run received so far matches the filters…' : 'No run matches the filters.';
    }
    return undefined;
  }

  /** Shows the table, the parallel coordinates or why there is nothing to show. */
  private layout(): void {
    const table = this.store.state.view === 'table';
    this.toolbar.showView(this.store.state.view);
    const empty = this.emptyText();
    let next: HTMLElement;
    if (empty !== undefined && (this.data.rows.length === 0 || table)) {
      next = el('div', 'empty', empty);
    } else {
      next = table ? this.grid.element : this.parallel.element;
    }
    if (next !== this.shownMain) {
      const grid = this.grid;
      this.main.replaceChildren(
        ...(this.chooser ? [this.chooser] : []),
        next,
        ...(next === grid.element ? [grid.cue] : []),
      );
      this.shownMain = next;
    }
  }

  private toggleChooser(): void {
    if (this.chooser) {
      this.chooser.remove();
      this.chooser = undefined;
      this.toolbar.columnsButton.focus();
      return;
    }
    this.chooser = columnChooser(this.data.columns, this.store.state, {
      change: (visibility) => {
        this.store.save({ visibility });
        this.refresh();
      },
      close: () => this.toggleChooser(),
    });
    this.main.prepend(this.chooser);
  }

  private exportCsv(): void {
    const { data, view } = this;
    if (!view) {
      return;
    }
    const ids = view.sorted.map((p) => data.rows[p].id);
    const nameIndex = data.columnIndex.get('name');
    const columns = [...(nameIndex === undefined ? [] : [nameIndex]), ...view.columns].map((i) => data.columns[i].id);
    this.post({ type: 'exportCsv', columns, ids });
  }
}

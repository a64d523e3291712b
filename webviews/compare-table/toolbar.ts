/**
 * The two toolbar rows: the filter text, the started range and the status check boxes; then the
 * column chooser, "only columns that differ", grouping, the table/parallel switch, chart and export.
 * Each control saves its part of the view state and asks for a refresh.
 */
import type { ColumnDef } from '../../src/protocol/webviews/compare-table';
import type { RunStatus } from '../../src/protocol/experiments';
import { el } from '../common/dom';
import { button, checkbox, labelled, setOptions, singleSelect, textfield } from './controls';
import type { State } from './state';
import type { Store } from './store';

export interface ToolbarActions {
  /** the view state changed: recompute and redraw */
  refresh(): void;
  /** the table/parallel switch was pressed (the state says which is shown now) */
  switchView(): void;
  toggleChooser(): void;
  chart(): void;
  exportCsv(): void;
}

const STATUSES: RunStatus[] = ['running', 'completed', 'failed', 'interrupted'];

export class Toolbar {
  readonly rows: readonly HTMLElement[];
  readonly columnsButton = button('Columns…', () => this.actions.toggleChooser());
  private readonly groupBy = singleSelect('Group by', (value) => this.change({ groupBy: value, collapsed: [] }));
  private readonly viewToggle = button('', () => {
    this.store.save({ view: this.store.state.view === 'table' ? 'parallel' : 'table' });
    this.actions.switchView();
  });
  private readonly chartButton = button('Chart Selected', () => this.actions.chart(), false);
  private readonly exportButton = button('Export CSV', () => this.actions.exportCsv());

  constructor(
    private readonly store: Store,
    private readonly actions: ToolbarActions,
  ) {
    const state = store.state;
    const filter = textfield(
      'Filter: lr > 0.01, accuracy >= 0.9, name ~ resnet, or any text',
      state.filterText,
      'Filter',
    );
    filter.classList.add('filter');
    let filterTimer: ReturnType<typeof setTimeout> | undefined;
    filter.addEventListener('input', () => {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(() => this.change({ filterText: filter.value }), 150);
    });
    const differ = checkbox('Only columns that differ', state.differOnly, (on) => this.change({ differOnly: on }));
    const first = el('div', 'toolbar');
    first.setAttribute('role', 'toolbar');
    first.append(
      filter,
      labelled('Started', this.dateField('Started from', 'startedFrom')),
      labelled('to', this.dateField('Started until', 'startedTo')),
      this.statuses(),
    );
    const second = el('div', 'toolbar');
    second.append(
      this.columnsButton,
      differ,
      labelled('Group by', this.groupBy),
      this.viewToggle,
      el('span', 'spacer'),
      this.chartButton,
      this.exportButton,
    );
    this.rows = [first, second];
  }

  /** The "Group by" choices: no grouping, or one of these param columns. */
  setParams(params: readonly ColumnDef[]): void {
    setOptions(
      this.groupBy,
      [{ value: '', label: 'No grouping' }, ...params.map((c) => ({ value: c.id, label: c.label }))],
      [this.store.state.groupBy],
    );
  }

  /** The switch names the other view. */
  showView(view: State['view']): void {
    this.viewToggle.textContent = view === 'table' ? 'Parallel Coordinates' : 'Table';
  }

  /** Chart and export act on the selected and on the shown runs: disabled when there are none. */
  showCounts(selected: number, shown: number | undefined): void {
    this.chartButton.disabled = selected === 0;
    this.chartButton.textContent = selected > 0 ? `Chart Selected (${selected})` : 'Chart Selected';
    this.exportButton.disabled = shown === undefined || shown === 0;
  }

  private change(patch: Partial<State>): void {
    this.store.save(patch);
    this.actions.refresh();
  }

  /** One check box per status; none checked = every status. */
  private statuses(): HTMLElement {
    const group = el('span', 'statuses');
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', 'Show only runs with these statuses (none checked: all)');
    group.title = 'Show only runs with these statuses (none checked: all)';
    for (const status of STATUSES) {
      group.append(
        checkbox(status, this.store.state.statuses.includes(status), (on) => {
          const chosen = new Set(this.store.state.statuses);
          if (on) {
            chosen.add(status);
          } else {
            chosen.delete(status);
          }
          this.change({ statuses: STATUSES.filter((s) => chosen.has(s)) });
        }),
      );
    }
    return group;
  }

  private dateField(label: string, key: 'startedFrom' | 'startedTo'): HTMLElement {
    const t = textfield('yyyy-mm-dd', this.store.state[key], label);
    t.type = 'date';
    t.classList.add('date');
    t.addEventListener('change', () => this.change({ [key]: t.value }));
    return t;
  }
}

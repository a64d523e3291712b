/**
 * The compare table webview: every experiment of the project as a row, with sorting, filters,
 * column choice, grouping, selection for charts, parallel coordinates and CSV export. All text is
 * set with textContent; the host sends data, the view state stays here (getState/setState).
 */
import { toggleSort } from '../../src/common/compare/sort';
import { differingColumns } from '../../src/common/compare/view';
import type { HostToWebviewMessage, WebviewToHostMessage } from '../../src/protocol/webviews/compare-table';
import type { RunStatus } from '../../src/protocol/experiments';
import { el } from '../common/dom';
import { vscodeApi } from '../common/vscode-api';
import { columnChooser } from './chooser';
import { computeView, type View } from './compute';
import { button, checkbox, multiSelect, setOptions, singleSelect, textfield } from './controls';
import { TableData } from './data';
import { Grid } from './grid';
import { drawParallel } from './parallel';
import { restoreState, type State } from './state';

const vscode = vscodeApi<WebviewToHostMessage, State>();
const root = document.getElementById('root')!;
const data = new TableData();
let state = restoreState(vscode.getState());
let view: View | undefined;
let selected = new Set(state.selected);
let notice: { level: 'info' | 'error'; text: string } | undefined;

function save(patch: Partial<State>): void {
  state = { ...state, ...patch };
  vscode.setState(state);
}

// ---- toolbar ----
const filter = textfield('Filter: lr > 0.01, accuracy >= 0.9, name ~ resnet, or any text', state.filterText, 'Filter');
filter.classList.add('filter');
let filterTimer: ReturnType<typeof setTimeout> | undefined;
filter.addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    save({ filterText: filter.value });
    refresh();
  }, 150);
});
const STATUSES: RunStatus[] = ['running', 'completed', 'failed', 'interrupted'];
/** one check box per status; none checked = every status */
const statuses = el('span', 'statuses');
statuses.setAttribute('role', 'group');
statuses.setAttribute('aria-label', 'Show only runs with these statuses (none checked: all)');
statuses.title = 'Show only runs with these statuses (none checked: all)';
for (const status of STATUSES) {
  statuses.append(
    checkbox(status, state.statuses.includes(status), (on) => {
      const chosen = new Set(state.statuses);
      if (on) {
        chosen.add(status);
      } else {
        chosen.delete(status);
      }
      save({ statuses: STATUSES.filter((s) => chosen.has(s)) });
      refresh();
    }),
  );
}
const dateField = (label: string, value: string, key: 'startedFrom' | 'startedTo') => {
  const t = textfield('yyyy-mm-dd', value, label);
  t.type = 'date';
  t.classList.add('date');
  t.addEventListener('change', () => {
    save({ [key]: t.value });
    refresh();
  });
  return t;
};
const from = dateField('Started from', state.startedFrom, 'startedFrom');
const to = dateField('Started until', state.startedTo, 'startedTo');
const columnsButton = button('Columns…', () => toggleChooser());
const differ = checkbox('Only columns that differ', state.differOnly, (on) => {
  save({ differOnly: on });
  refresh();
});
const groupBy = singleSelect('Group by', (value) => {
  save({ groupBy: value, collapsed: [] });
  refresh();
});
const viewToggle = button('', () => {
  save({ view: state.view === 'table' ? 'parallel' : 'table' });
  layout();
  refresh();
});
const chartButton = button('Chart Selected', () => vscode.postMessage({ type: 'chart', ids: [...selected] }), false);
const exportButton = button('Export CSV', () => exportCsv());
const labelled = (text: string, control: HTMLElement) => {
  const l = el('label', 'inline', text);
  l.append(control);
  return l;
};
const toolbar = el('div', 'toolbar');
toolbar.setAttribute('role', 'toolbar');
toolbar.append(filter, labelled('Started', from), labelled('to', to), statuses);
const toolbar2 = el('div', 'toolbar');
toolbar2.append(
  columnsButton,
  differ,
  labelled('Group by', groupBy),
  viewToggle,
  el('span', 'spacer'),
  chartButton,
  exportButton,
);
const statusLine = el('div', 'status-line');
statusLine.setAttribute('role', 'status');
const main = el('div', 'main');

// ---- table ----
const grid = new Grid({
  sort(column, add) {
    save({ sort: toggleSort(state.sort, column, add) });
    refresh();
  },
  toggleRow(id, extend) {
    const ids = extend ? grid.rangeTo(id) : [id];
    const on = !selected.has(id);
    for (const i of ids) {
      if (on) {
        selected.add(i);
      } else {
        selected.delete(i);
      }
    }
    selectionChanged();
  },
  toggleAll() {
    const ids = (view?.sorted ?? []).map((p) => data.rows[p].id);
    const all = ids.length > 0 && ids.every((id) => selected.has(id));
    for (const id of ids) {
      if (all) {
        selected.delete(id);
      } else {
        selected.add(id);
      }
    }
    selectionChanged();
  },
  open(id) {
    vscode.postMessage({ type: 'openExperiment', id });
  },
  toggleGroup(key) {
    const collapsed = new Set(state.collapsed);
    if (!collapsed.delete(key)) {
      collapsed.add(key);
    }
    save({ collapsed: [...collapsed] });
    refresh();
  },
  scrolled(scrollTop) {
    state = { ...state, scrollTop };
    scheduleSave();
  },
});
let saveTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleSave(): void {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => vscode.setState(state), 200);
}

// ---- parallel coordinates ----
const parallel = el('div', 'parallel');
const parallelParams = multiSelect('Param axes', (values) => {
  save({ parallelParams: values });
  drawChart();
});
const parallelMetric = singleSelect('Metric', (value) => {
  save({ parallelMetric: value });
  drawChart();
});
const parallelControls = el('div', 'controls');
parallelControls.append(labelled('Params', parallelParams), labelled('Colour by metric', parallelMetric));
const canvasBox = el('div', 'canvas-box');
const canvas = el('canvas');
canvas.setAttribute('role', 'img');
canvasBox.append(canvas);
const legend = el('div', 'legend');
parallel.append(parallelControls, canvasBox, legend);
new ResizeObserver(() => {
  if (state.view === 'parallel') {
    drawChart();
  }
}).observe(canvasBox);

/** The param axes: those chosen, or else up to 8 params whose values differ among the shown runs. */
function parallelAxes(): { params: number[]; metric: number | undefined } {
  const metricId = state.parallelMetric || data.columns.find((c) => c.group === 'metric' && c.stat === 'last')?.id;
  const metric = metricId ? data.columnIndex.get(metricId) : undefined;
  let params = state.parallelParams.flatMap((id) => (data.columnIndex.has(id) ? [data.columnIndex.get(id)!] : []));
  if (params.length === 0) {
    const differ = differingColumns(data.rows, view?.sorted ?? [], data.columns);
    params = data.columns.flatMap((c, i) => (c.group === 'param' && differ.has(c.id) ? [i] : [])).slice(0, 8);
  }
  return { params, metric };
}

function drawChart(): void {
  if (state.view !== 'parallel' || !view) {
    return;
  }
  const { params, metric } = parallelAxes();
  // the param list names the axes drawn, also when they were chosen automatically
  const drawnIds = params.map((i) => data.columns[i].id);
  if (drawnIds.join('\n') !== (parallelParams.value ?? []).join('\n')) {
    parallelParams.value = drawnIds; // sets the choice without a change event
  }
  const axes = metric === undefined ? params : [...params, metric];
  const range = drawParallel(canvas, {
    columns: data.columns,
    rows: data.rows,
    positions: view.sorted,
    axes,
    selected,
  });
  const metricColumn = metric === undefined ? undefined : data.columns[metric];
  canvas.setAttribute(
    'aria-label',
    `Parallel coordinates of ${view.sorted.length.toLocaleString()} runs over ${axes.map((i) => data.columns[i].label).join(', ')}`,
  );
  legend.textContent =
    axes.length === 0
      ? 'No params or metrics to draw: the shown runs have none.'
      : metricColumn && range
        ? `Colour: ${metricColumn.label} by rank, from its lowest ${range.low} (blue) to its highest ${range.high} (orange); grey = no value. Selected runs are drawn bold.${
            state.parallelParams.length === 0 ? ' Axes: the params that differ (up to 8); choose others above.' : ''
          }`
        : 'No metric to colour by.';
}

// ---- rendering ----
let columnsKey = '';
function syncColumnControls(): void {
  const key = data.columns.map((c) => c.id).join('\n');
  if (key === columnsKey) {
    return;
  }
  columnsKey = key;
  const params = data.columns.filter((c) => c.group === 'param');
  setOptions(
    groupBy,
    [{ value: '', label: 'No grouping' }, ...params.map((c) => ({ value: c.id, label: c.label }))],
    [state.groupBy],
  );
  setOptions(
    parallelParams,
    params.map((c) => ({ value: c.id, label: c.label })),
    state.parallelParams,
  );
  const metrics = data.columns.filter((c) => c.group === 'metric');
  setOptions(
    parallelMetric,
    metrics.map((c) => ({ value: c.id, label: c.label })),
    [state.parallelMetric || (metrics.find((c) => c.stat === 'last')?.id ?? '')],
  );
}

function renderStatus(): void {
  const parts: HTMLElement[] = [];
  if (view) {
    const total = data.rows.length;
    const shown = view.sorted.length;
    parts.push(
      el(
        'span',
        undefined,
        `${shown === total ? total.toLocaleString() : `${shown.toLocaleString()} of ${total.toLocaleString()}`} run${total === 1 ? '' : 's'}`,
      ),
    );
    if (selected.size > 0) {
      parts.push(el('span', undefined, `${selected.size.toLocaleString()} selected`));
    }
    if (state.sort.length > 0) {
      parts.push(
        el(
          'span',
          undefined,
          `sorted by ${state.sort.map((s) => `${s.column}${s.descending ? ' ↓' : ' ↑'}`).join(', ')}`,
        ),
      );
    }
    for (const error of view.errors) {
      const e = el('span', 'error', error);
      e.setAttribute('role', 'alert');
      parts.push(e);
    }
  }
  if (notice) {
    parts.push(el('span', notice.level === 'error' ? 'notice-error' : undefined, notice.text));
  }
  statusLine.replaceChildren(...parts);
  chartButton.disabled = selected.size === 0;
  chartButton.textContent = selected.size > 0 ? `Chart Selected (${selected.size})` : 'Chart Selected';
  exportButton.disabled = !view || view.sorted.length === 0;
}

function emptyText(): string | undefined {
  if (!data.loaded) {
    return 'Loading experiments…';
  }
  if (data.rows.length === 0) {
    return data.empty || 'No experiments yet — run a script with ML Lab: Run as Experiment.';
  }
  return view && view.sorted.length === 0 ? 'No run matches the filters.' : undefined;
}

let shownMain: HTMLElement | undefined;
function layout(): void {
  viewToggle.textContent = state.view === 'table' ? 'Parallel Coordinates' : 'Table';
  const empty = emptyText();
  let next: HTMLElement;
  if (empty !== undefined && (data.rows.length === 0 || state.view === 'table')) {
    next = el('div', 'empty', empty);
  } else {
    next = state.view === 'table' ? grid.element : parallel;
  }
  if (next !== shownMain) {
    main.replaceChildren(...(chooser ? [chooser] : []), next, ...(next === grid.element ? [grid.cue] : []));
    shownMain = next;
  }
}

/** Recomputes the view from the data and the state and redraws. */
function refresh(): void {
  syncColumnControls();
  view = computeView(data, state);
  layout();
  if (state.view === 'table') {
    grid.update(data, view, state.sort, selected);
  } else {
    drawChart();
  }
  renderStatus();
}

function selectionChanged(): void {
  save({ selected: [...selected] });
  if (state.view === 'table') {
    grid.update(data, view!, state.sort, selected);
  } else {
    drawChart();
  }
  renderStatus();
}

let chooser: HTMLElement | undefined;
function toggleChooser(): void {
  if (chooser) {
    chooser.remove();
    chooser = undefined;
    columnsButton.focus();
    return;
  }
  chooser = columnChooser(data.columns, state, {
    change(visibility) {
      save({ visibility });
      refresh();
    },
    close: () => toggleChooser(),
  });
  main.prepend(chooser);
}

function exportCsv(): void {
  if (!view) {
    return;
  }
  const ids = view.sorted.map((p) => data.rows[p].id);
  const nameIndex = data.columnIndex.get('name');
  const columns = [...(nameIndex === undefined ? [] : [nameIndex]), ...view.columns].map((i) => data.columns[i].id);
  vscode.postMessage({ type: 'exportCsv', columns, ids });
}

/** Drops selected ids whose runs are gone. */
function pruneSelection(): void {
  const kept = [...selected].filter((id) => data.has(id));
  if (kept.length !== selected.size) {
    selected = new Set(kept);
    save({ selected: kept });
  }
}

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  const message = event.data;
  switch (message.type) {
    case 'table': {
      const first = !data.loaded;
      data.setTable(message);
      if (first) {
        // after the frame that shows it: the host measures from the command to here
        requestAnimationFrame(() =>
          setTimeout(() => vscode.postMessage({ type: 'painted', rows: message.rows.length }), 0),
        );
      }
      if (message.select) {
        selected = new Set(message.select);
        save({ selected: [...selected] });
      }
      pruneSelection();
      refresh();
      if (first && state.scrollTop > 0) {
        grid.scrollTop = state.scrollTop; // a panel shown again is where it was left
      }
      break;
    }
    case 'rows':
      data.upsert(message.rows);
      refresh();
      break;
    case 'deleteRows':
      data.delete(message.ids);
      pruneSelection();
      refresh();
      break;
    case 'select':
      selected = new Set(message.ids.filter((id) => data.has(id)));
      save({ selected: [...selected] });
      refresh();
      break;
    case 'notice':
      notice = { level: message.level, text: message.text };
      renderStatus();
      break;
  }
});

root.replaceChildren(toolbar, toolbar2, statusLine, main);
layout();
renderStatus();
vscode.postMessage({ type: 'ready' });

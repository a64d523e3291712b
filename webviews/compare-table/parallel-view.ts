/**
 * The parallel coordinates view: its controls (param axes, colour metric), the canvas (drawn by
 * parallel.ts) and the legend that explains the colours.
 */
import { differingColumns } from '../../src/common/compare/view';
import type { ColumnDef } from '../../src/protocol/webviews/compare-table';
import { el } from '../common/dom';
import type { View } from './compute';
import { labelled, multiSelect, setOptions, singleSelect } from './controls';
import type { TableData } from './data';
import { drawParallel } from './parallel';
import type { Store } from './store';

export class ParallelView {
  readonly element = el('div', 'parallel');
  private readonly params = multiSelect('Param axes', (values) => {
    this.store.save({ parallelParams: values });
    this.draw();
  });
  private readonly metric = singleSelect('Metric', (value) => {
    this.store.save({ parallelMetric: value });
    this.draw();
  });
  private readonly canvas = el('canvas');
  private readonly legend = el('div', 'legend');

  constructor(
    private readonly store: Store,
    private readonly data: TableData,
    /** the view computed last, undefined before the first table */
    private readonly view: () => View | undefined,
  ) {
    const controls = el('div', 'controls');
    controls.append(labelled('Params', this.params), labelled('Colour by metric', this.metric));
    const canvasBox = el('div', 'canvas-box');
    this.canvas.setAttribute('role', 'img');
    canvasBox.append(this.canvas);
    this.element.append(controls, canvasBox, this.legend);
    new ResizeObserver(() => {
      if (this.store.state.view === 'parallel') {
        this.draw();
      }
    }).observe(canvasBox);
  }

  /** The choices of axes and metric: these columns. */
  setColumns(columns: readonly ColumnDef[]): void {
    const state = this.store.state;
    setOptions(
      this.params,
      columns.filter((c) => c.group === 'param').map((c) => ({ value: c.id, label: c.label })),
      state.parallelParams,
    );
    const metrics = columns.filter((c) => c.group === 'metric');
    setOptions(
      this.metric,
      metrics.map((c) => ({ value: c.id, label: c.label })),
      [state.parallelMetric || (metrics.find((c) => c.stat === 'last')?.id ?? '')],
    );
  }

  /** The param axes: those chosen, or else up to 8 params whose values differ among the shown runs. */
  private axes(): { params: number[]; metric: number | undefined } {
    const { data, store } = this;
    const metricId =
      store.state.parallelMetric || data.columns.find((c) => c.group === 'metric' && c.stat === 'last')?.id;
    const metric = metricId ? data.columnIndex.get(metricId) : undefined;
    let params = store.state.parallelParams.flatMap((id) =>
      data.columnIndex.has(id) ? [data.columnIndex.get(id)!] : [],
    );
    if (params.length === 0) {
      const differ = differingColumns(data.rows, this.view()?.sorted ?? [], data.columns);
      params = data.columns.flatMap((c, i) => (c.group === 'param' && differ.has(c.id) ? [i] : [])).slice(0, 8);
    }
    return { params, metric };
  }

  draw(): void {
    const view = this.view();
    const { data, store } = this;
    if (store.state.view !== 'parallel' || !view) {
      return;
    }
    const { params, metric } = this.axes();
    // the param list names the axes drawn, also when they were chosen automatically
    const drawnIds = params.map((i) => data.columns[i].id);
    if (drawnIds.join('\n') !== (this.params.value ?? []).join('\n')) {
      this.params.value = drawnIds; // sets the choice without a change event
    }
    const axes = metric === undefined ? params : [...params, metric];
    const range = drawParallel(this.canvas, {
      columns: data.columns,
      rows: data.rows,
      positions: view.sorted,
      axes,
      selected: store.selected,
    });
    const metricColumn = metric === undefined ? undefined : data.columns[metric];
    this.canvas.setAttribute(
      'aria-label',
      `Parallel coordinates of ${view.sorted.length.toLocaleString()} runs over ${axes.map((i) => data.columns[i].label).join(', ')}`,
    );
    this.legend.textContent =
      axes.length === 0
        ? 'No params or metrics to draw: the shown runs have none.'
        : metricColumn && range
          ? `Colour: ${metricColumn.label} by rank, from its lowest ${range.low} (blue) to its highest ${range.high} (orange); grey = no value. Selected runs are drawn bold.${
              store.state.parallelParams.length === 0
                ? ' Axes: the params that differ (up to 8); choose others above.'
                : ''
            }`
          : 'No metric to colour by.';
  }
}

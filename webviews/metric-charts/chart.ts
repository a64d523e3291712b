/**
 * One metric key's chart: every run overlaid (raw line, plus the smoothed one when smoothing is on),
 * a crosshair tooltip listing each run's value at the cursor, markers under non-finite values,
 * drag-zoom (reported so the host can send full detail) and double-click to reset.
 */
import uPlot from 'uplot';
import type { ChartRun, XAxisMode } from '../../src/protocol/webviews/metric-charts';
import { el } from '../common/dom';
import { formatNumber } from '../../src/protocol/number-format';
import { alignRuns, ema, formatDuration, type RunPoints, type ValueAt, valueAt, xValues } from './data';
import { runStyle, themedAxis, type Theme } from '../common/chart-theme';

export interface ChartSettings {
  readonly xMode: XAxisMode;
  readonly smoothing: number;
  readonly logScale: boolean;
}

export interface ChartInput extends ChartSettings {
  readonly key: string;
  /** every run of the panel, in colour order; those without points of this key are skipped */
  readonly runs: readonly ChartRun[];
  readonly points: ReadonlyMap<string, RunPoints>;
  readonly theme: Theme;
}

export interface ChartEvents {
  /** the person dragged over [xMin, xMax] */
  zoom(xMin: number, xMax: number): void;
  /** the person double-clicked: back to the whole series */
  reset(): void;
}

/** One drawn run: where its columns are in the aligned data, and its non-finite points' x values. */
interface Drawn {
  readonly run: ChartRun;
  /** index of its shown line in uPlot's series (the smoothed one when smoothing is on) */
  readonly line: number;
  readonly raw: number;
  readonly specialX: readonly number[];
  readonly stroke: string;
  /** the run's own x values and the y values of its shown and raw lines, for the tooltip */
  readonly x: ArrayLike<number>;
  readonly ys: readonly (number | null)[];
  readonly rawYs: readonly (number | null)[];
}

export const CHART_HEIGHT = 240;

export interface BuiltData {
  readonly data: uPlot.AlignedData;
  readonly series: uPlot.Series[];
  readonly drawn: readonly Drawn[];
  /** values hidden because a log scale cannot show them */
  readonly hiddenForLog: number;
}

/** The aligned data and series options of a chart (the part that changes with data and settings). */
export function buildData(input: ChartInput, width: number): BuiltData {
  const smoothing = input.smoothing;
  const columns: { x: ArrayLike<number>; ys: (readonly (number | null)[])[] }[] = [];
  const series: uPlot.Series[] = [{}];
  const drawn: Drawn[] = [];
  let hiddenForLog = 0;
  for (const run of input.runs) {
    const points = input.points.get(run.id);
    if (!points || points.steps.length === 0) {
      continue;
    }
    const x = xValues(points, input.xMode, run.startedAt);
    // uPlot's y columns: null = a gap (NaN, ±Infinity, or a value a log scale cannot show)
    const values = points.values;
    const raw = new Array<number | null>(values.length);
    const specialX: number[] = [];
    let finite = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) {
        raw[i] = null;
        specialX.push(x[i]);
      } else if (input.logScale && v <= 0) {
        raw[i] = null;
        hiddenForLog++;
      } else {
        raw[i] = v;
        finite++;
      }
    }
    const style = runStyle(run.colour, input.theme, run.status === 'deleted');
    const single = finite <= 1;
    const label = run.status === 'deleted' ? `${run.label} (deleted)` : run.label;
    const rawIndex = series.length;
    series.push({
      label,
      stroke: smoothing > 0 ? style.faint : style.stroke,
      width: smoothing > 0 ? 1 : 1.5,
      dash: style.dash,
      spanGaps: false,
      // a lone point has no line to draw: show it as a dot
      points: single ? { show: true, size: 7, fill: style.stroke, stroke: style.stroke } : { show: false },
    });
    const ys: (readonly (number | null)[])[] = [raw];
    if (smoothing > 0) {
      ys.push(ema(raw, smoothing));
      series.push({
        label: `${label} (smoothed)`,
        stroke: style.stroke,
        width: 1.75,
        dash: style.dash,
        spanGaps: false,
        points: { show: false },
      });
    }
    columns.push({ x, ys });
    drawn.push({
      run,
      raw: rawIndex,
      line: series.length - 1,
      specialX,
      stroke: style.stroke,
      x,
      ys: ys[ys.length - 1],
      rawYs: raw,
    });
  }
  // more than ~4 x values per pixel only happens across runs logged at different times
  const data = alignRuns(columns, Math.max(200, 4 * width)) as uPlot.AlignedData;
  return { data, series, drawn, hiddenForLog };
}

function formatValue(v: number | null): string {
  return v === null ? 'NaN' : formatNumber(v);
}

function formatX(x: number, mode: XAxisMode): string {
  if (mode === 'step') {
    return `step ${x}`;
  }
  if (mode === 'relative') {
    return formatDuration(x);
  }
  return new Date(x * 1000).toLocaleString();
}

/** A uPlot chart in `container`, with its tooltip. */
export class ChartView {
  readonly plot: uPlot;
  private built: BuiltData;
  private readonly tooltip = el('div', 'tooltip');
  private frame = 0;

  constructor(
    container: HTMLElement,
    private input: ChartInput,
    width: number,
    private readonly events: ChartEvents,
  ) {
    this.built = buildData(input, width);
    this.tooltip.hidden = true;
    this.plot = new uPlot(this.options(width), this.built.data, container);
    container.append(this.tooltip);
    this.bindPan(this.plot);
  }

  /**
   * Shift+drag pans along x (uPlot has zoom but no pan). Captured on the chart's root, before uPlot's
   * own mousedown on the plot area starts a zoom selection; the range shown at the end is asked for
   * at full detail, like a zoom.
   */
  private bindPan(u: uPlot): void {
    u.root.addEventListener(
      'mousedown',
      (e) => {
        const { min, max } = u.scales.x;
        if (!e.shiftKey || e.button !== 0 || min === undefined || max === undefined) {
          return;
        }
        e.stopPropagation();
        e.preventDefault();
        const startX = e.clientX;
        const perPixel = (max - min) / Math.max(1, u.over.clientWidth);
        const move = (m: MouseEvent) => {
          const shift = (m.clientX - startX) * perPixel;
          u.setScale('x', { min: min - shift, max: max - shift });
        };
        const up = () => {
          window.removeEventListener('mousemove', move);
          window.removeEventListener('mouseup', up);
          const now = u.scales.x;
          if (now.min !== undefined && now.max !== undefined && now.min !== min) {
            this.events.zoom(now.min, now.max);
          }
        };
        window.addEventListener('mousemove', move);
        window.addEventListener('mouseup', up);
      },
      true,
    );
  }

  get hiddenForLog(): number {
    return this.built.hiddenForLog;
  }

  /** Points drawn, over every run (raw lines only). */
  get pointCount(): number {
    return this.built.drawn.reduce((n, d) => n + (this.built.data[d.raw]?.length ?? 0), 0);
  }

  /** New points (same runs, same settings): swaps the data in, keeping a zoom unless `resetScale`. */
  setData(input: ChartInput, resetScale: boolean): void {
    const before = this.built.series.length;
    this.input = input;
    const built = buildData(input, this.plot.width);
    if (built.series.length !== before || built.drawn.some((d, i) => d.run !== this.built.drawn[i]?.run)) {
      // other runs drawn: the series options change, which uPlot takes only at construction
      throw new RebuildNeeded();
    }
    this.built = built;
    this.plot.setData(built.data, resetScale);
  }

  setWidth(width: number): void {
    if (Math.abs(width - this.plot.width) >= 1) {
      this.plot.setSize({ width, height: CHART_HEIGHT });
    }
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.plot.destroy();
    this.tooltip.remove();
  }

  private options(width: number): uPlot.Options {
    const { theme, xMode, logScale } = this.input;
    const axis = () => themedAxis(theme);
    const xAxis = axis();
    if (xMode === 'relative') {
      xAxis.values = (_u, splits) => splits.map((s) => formatDuration(s, true));
      xAxis.space = 80; // duration labels are wider than numbers
    }
    const yAxis: uPlot.Axis = { ...axis(), size: 64 };
    return {
      width,
      height: CHART_HEIGHT,
      legend: { show: false },
      series: this.built.series,
      scales: {
        x: {
          time: xMode === 'wall',
          // one x value (a single point, or one step logged by every run): centre it
          range: (u, min, max) => {
            const xs = u.data[0];
            if (xs.length !== 1) {
              return [min, max];
            }
            const half = xMode === 'step' ? 1 : 60;
            return [xs[0] - half, xs[0] + half];
          },
        },
        y: logScale ? { distr: 3 } : {},
      },
      axes: [xAxis, yAxis],
      cursor: {
        drag: { x: true, y: false, setScale: true },
        points: { show: this.built.series.length <= 21 },
        bind: {
          dblclick: () => () => {
            this.events.reset();
            return null;
          },
        },
      },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width > 2) {
              this.events.zoom(u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x'));
            }
          },
        ],
        setCursor: [(u) => this.scheduleTooltip(u)],
        draw: [(u) => this.drawSpecialMarkers(u)],
      },
    };
  }

  /** Small triangles under the x of every non-finite value: a gap in the line is otherwise easy to miss. */
  private drawSpecialMarkers(u: uPlot): void {
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    const size = 4 * devicePixelRatio;
    const y = top + height - 1;
    ctx.save();
    for (const d of this.built.drawn) {
      if (d.specialX.length === 0) {
        continue;
      }
      ctx.fillStyle = d.stroke;
      ctx.strokeStyle = this.input.theme.error;
      ctx.lineWidth = 1;
      let lastPx = -Infinity;
      for (const x of d.specialX) {
        const px = u.valToPos(x, 'x', true);
        if (px < left || px > left + width || px - lastPx < size) {
          continue; // outside the zoom, or on the previous marker
        }
        lastPx = px;
        ctx.beginPath();
        ctx.moveTo(px, y - 2 * size);
        ctx.lineTo(px - size, y);
        ctx.lineTo(px + size, y);
        ctx.closePath();
        ctx.fill();
        ctx.stroke();
      }
    }
    ctx.restore();
  }

  private scheduleTooltip(u: uPlot): void {
    cancelAnimationFrame(this.frame);
    this.frame = requestAnimationFrame(() => this.updateTooltip(u));
  }

  private updateTooltip(u: uPlot): void {
    const idx = u.cursor.idx;
    const left = u.cursor.left ?? -1;
    if (idx === null || idx === undefined || left < 0) {
      this.tooltip.hidden = true;
      return;
    }
    const x = u.data[0][idx];
    const mode = this.input.xMode;
    // each run's own value at x (or between its points around x); a run that ended before x, or
    // starts after it, says so instead of showing a value from elsewhere
    const rows = this.built.drawn.map((d) => ({
      d,
      at: valueAt(d.x, d.ys, x),
      raw: valueAt(d.x, d.rawYs, x),
    }));
    const rank = (a: ValueAt) => (a.kind === 'value' ? (a.value ?? -Infinity) : -Infinity);
    const present = (a: ValueAt) => (a.kind === 'value' ? 0 : 1);
    // values highest first, so the tooltip reads like the lines from top to bottom; absent runs last
    rows.sort((a, b) => present(a.at) - present(b.at) || rank(b.at) - rank(a.at));
    const head = el('div', 'tooltip-x', formatX(x, mode));
    const list = el('div', rows.length > 12 ? 'tooltip-rows many' : 'tooltip-rows');
    for (const { d, at, raw } of rows) {
      const row = el('div', at.kind === 'value' ? 'tooltip-row' : 'tooltip-row absent');
      const swatch = el('span', 'swatch');
      swatch.style.background = d.stroke;
      const label = d.run.status === 'deleted' ? `${d.run.label} (deleted)` : d.run.label;
      const name = el('span', 'tooltip-name', label);
      name.title = `${d.run.name} · ${d.run.id}`;
      row.append(swatch, name, el('span', 'tooltip-value', tooltipValue(at, raw, d.line !== d.raw, mode)));
      list.append(row);
    }
    this.tooltip.replaceChildren(head, list);
    this.tooltip.hidden = false;
    // beside the cursor, on the side with more room
    const overLeft = u.over.offsetLeft;
    const plotWidth = u.over.clientWidth;
    const tipWidth = this.tooltip.offsetWidth;
    const onRight = left < plotWidth / 2;
    this.tooltip.style.left = `${overLeft + (onRight ? left + 16 : Math.max(0, left - tipWidth - 16))}px`;
    this.tooltip.style.top = `${u.over.offsetTop + 8}px`;
  }
}

/** One run's entry in the tooltip: its value at x (with the raw one when smoothed), or where it starts or ended. */
export function tooltipValue(at: ValueAt, raw: ValueAt, smoothed: boolean, mode: XAxisMode): string {
  switch (at.kind) {
    case 'none':
      return 'no points';
    case 'before':
      return `starts at ${formatX(at.firstX, mode)}`;
    case 'after':
      return `ended at ${formatX(at.lastX, mode)}`;
    case 'value': {
      const approx = at.interpolated && at.value !== null ? '≈ ' : '';
      const text = `${approx}${formatValue(at.value)}`;
      return smoothed && raw.kind === 'value' ? `${text} (raw ${formatValue(raw.value)})` : text;
    }
  }
}

/** Thrown by `setData` when the runs drawn changed: the caller builds a new chart. */
export class RebuildNeeded extends Error {}

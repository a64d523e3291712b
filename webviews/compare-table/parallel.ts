/**
 * Parallel coordinates: one vertical axis per chosen param plus the chosen metric at the right, one
 * line per shown run, coloured by the metric along a scale between two theme chart colours. Drawn on
 * a canvas: 10,000 SVG paths would be slow to build and to restyle. Text params get one evenly
 * spaced position per value; runs without a value cross the axis at a "no value" mark below it (drawn only when some run has none).
 */
import type { Cell, Row } from '../../src/common/compare/cells';
import type { ColumnDef } from '../../src/protocol/webviews/compare-table';
import { formatNumber } from './format';

export interface ParallelInput {
  readonly columns: readonly ColumnDef[];
  readonly rows: readonly Row[];
  /** row positions to draw */
  readonly positions: readonly number[];
  /** column indices: params first, the metric last */
  readonly axes: readonly number[];
  readonly selected: ReadonlySet<string>;
}

interface Axis {
  readonly column: ColumnDef;
  /** value -> 0 (bottom) .. 1 (top); undefined = missing */
  readonly scale: (c: Cell) => number | undefined;
  readonly low: string;
  readonly high: string;
  readonly ticks: readonly { at: number; text: string }[];
  /** some run has no value on this axis: they cross it at a "no value" mark below it */
  readonly missing: boolean;
}

function axisFor(column: ColumnDef, index: number, rows: readonly Row[], positions: readonly number[]): Axis {
  const values = positions.map((p) => rows[p].cells[index]);
  const missing = values.some((v) => v === null || (typeof v === 'number' && Number.isNaN(v)));
  const numbers = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (
    numbers.length > 0 &&
    numbers.length === values.filter((v) => v !== null && !(typeof v === 'number' && Number.isNaN(v))).length
  ) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const n of numbers) {
      lo = Math.min(lo, n);
      hi = Math.max(hi, n);
    }
    const span = hi - lo || 1;
    return {
      column,
      scale: (c) => (typeof c === 'number' && Number.isFinite(c) ? (hi === lo ? 0.5 : (c - lo) / span) : undefined),
      low: formatNumber(lo),
      high: formatNumber(hi),
      ticks: [],
      missing,
    };
  }
  const distinct = [...new Set(values.filter((v) => v !== null).map(String))].sort();
  const at = new Map(distinct.map((v, i) => [v, distinct.length === 1 ? 0.5 : i / (distinct.length - 1)]));
  const shown = distinct.length <= 12 ? distinct : distinct.filter((_, i) => i % Math.ceil(distinct.length / 12) === 0);
  return {
    column,
    scale: (c) => (c === null ? undefined : at.get(String(c))),
    low: '',
    high: '',
    ticks: shown.map((v) => ({ at: at.get(v)!, text: v.length > 14 ? `${v.slice(0, 13)}…` : v })),
    missing,
  };
}

/**
 * The colour position (0..1) of a metric value: its rank among the shown runs' values, so one
 * outlier (a diverged run's loss) does not push every other run to the same end of the scale.
 */
function rankScale(rows: readonly Row[], positions: readonly number[], index: number): (c: Cell) => number | undefined {
  const values = positions
    .map((p) => rows[p].cells[index])
    .filter((v): v is number => typeof v === 'number' && !Number.isNaN(v))
    .sort((a, b) => a - b);
  return (c) => {
    if (typeof c !== 'number' || Number.isNaN(c) || values.length === 0) {
      return undefined;
    }
    let lo = 0;
    let hi = values.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[mid] < c) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return values.length === 1 ? 0.5 : lo / (values.length - 1);
  };
}

function parseColor(css: string, fallback: [number, number, number]): [number, number, number] {
  const hex = /^#([0-9a-f]{6})/i.exec(css.trim());
  if (hex) {
    const n = parseInt(hex[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const rgb = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(css);
  return rgb ? [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])] : fallback;
}

/** A theme colour (a --vscode-* variable), for the canvas, which cannot use CSS variables. */
export function themeColor(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Draws the chart into `canvas` (sized to its box); returns the metric's range for the legend. */
export function drawParallel(
  canvas: HTMLCanvasElement,
  input: ParallelInput,
): { low: string; high: string } | undefined {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  const g = canvas.getContext('2d');
  if (!g || input.axes.length === 0) {
    return undefined;
  }
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const foreground = themeColor('--vscode-foreground', '#cccccc');
  const muted = themeColor('--vscode-descriptionForeground', '#999999');
  const font = themeColor('--vscode-font-family', 'sans-serif');
  const low = parseColor(themeColor('--vscode-charts-blue', '#3794ff'), [55, 148, 255]);
  const high = parseColor(themeColor('--vscode-charts-orange', '#d18616'), [209, 134, 22]);
  const axes = input.axes.map((i) => axisFor(input.columns[i], i, input.rows, input.positions));
  const top = 40;
  const bottom = height - 56;
  const left = 60;
  const right = width - 80;
  const x = (k: number) => (axes.length === 1 ? (left + right) / 2 : left + ((right - left) * k) / (axes.length - 1));
  const y = (v: number | undefined) => (v === undefined ? bottom + 30 : bottom - v * (bottom - top));
  const metric = axes[axes.length - 1];
  const metricIndex = input.axes[input.axes.length - 1];
  const colourOf = rankScale(input.rows, input.positions, metricIndex);
  // unselected runs faint, selected ones on top and opaque
  const order = [...input.positions].sort(
    (a, b) => Number(input.selected.has(input.rows[a].id)) - Number(input.selected.has(input.rows[b].id)),
  );
  // thousands of lines: faint enough that dense bundles still show their density
  const faint = Math.max(0.02, Math.min(0.8, 3 / Math.sqrt(order.length + 1))) * (input.selected.size > 0 ? 0.5 : 1);
  g.lineWidth = 1;
  for (const p of order) {
    const row = input.rows[p];
    const m = colourOf(row.cells[metricIndex]);
    const chosen = input.selected.has(row.id);
    if (m === undefined) {
      g.strokeStyle = muted;
    } else {
      const c = low.map((l, i) => Math.round(l + (high[i] - l) * m));
      g.strokeStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
    }
    g.globalAlpha = chosen ? 1 : faint;
    g.lineWidth = chosen ? 2 : 1;
    g.beginPath();
    axes.forEach((axis, k) => {
      const py = y(axis.scale(row.cells[input.axes[k]]));
      if (k === 0) {
        g.moveTo(x(k), py);
      } else {
        g.lineTo(x(k), py);
      }
    });
    g.stroke();
  }
  g.globalAlpha = 1;
  g.lineWidth = 1;
  g.font = `12px ${font}`;
  g.textAlign = 'center';
  axes.forEach((axis, k) => {
    const ax = x(k);
    g.strokeStyle = foreground;
    g.beginPath();
    g.moveTo(ax, top);
    g.lineTo(ax, bottom);
    g.stroke();
    g.fillStyle = foreground;
    g.fillText(axis.column.label, ax, top - 22);
    g.fillStyle = muted;
    if (axis.ticks.length === 0) {
      g.fillText(axis.high, ax, top - 8);
      g.fillText(axis.low, ax, bottom + 14);
    } else {
      g.textAlign = 'left';
      for (const t of axis.ticks) {
        g.fillText(t.text, ax + 4, y(t.at) + 4);
      }
      g.textAlign = 'center';
    }
    if (axis.missing) {
      g.fillText('no value', ax, bottom + 44);
    }
  });
  return { low: metric.low, high: metric.high };
}

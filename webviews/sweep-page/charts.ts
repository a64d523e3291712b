/**
 * The sweep page's two uPlot charts, in the theme's colours (the metric charts' theme): the
 * optimization history (each completed trial's value as a point, the best value so far as a stepped
 * line) and the parameter importances (one bar per param, most important first).
 */
import uPlot from 'uplot';
import { formatNumber } from '../../src/protocol/number-format';
import type { SweepPageHistory, SweepPageImportances } from '../../src/protocol/webviews/sweep-page';
import { runStyle, themedAxis, withAlpha, type Theme } from '../common/chart-theme';

export const CHART_HEIGHT = 260;

/** Tick spacings of the trial axis: trial numbers are whole. */
const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000];

const numberTicks = (_u: uPlot, splits: number[]) => splits.map((v) => (v === null ? '' : formatNumber(v)));

/** One x value (a single trial): a range around it, so the point is in the middle. */
const aroundOne = (_u: uPlot, min: number, max: number): uPlot.Range.MinMax =>
  min === max ? [min - 1, max + 1] : [min, max];

export function historyOptions(h: SweepPageHistory, theme: Theme, width: number): uPlot.Options {
  const value = runStyle(1, theme, false).stroke;
  const best = runStyle(0, theme, false).stroke;
  return {
    width,
    height: CHART_HEIGHT,
    legend: { show: true, live: false },
    scales: { x: { time: false, range: aroundOne } },
    axes: [
      { ...themedAxis(theme), label: 'trial', labelFont: theme.font, incrs: WHOLE_STEPS },
      { ...themedAxis(theme), values: numberTicks, size: 64, label: h.metric, labelFont: theme.font },
    ],
    series: [
      { label: 'trial' },
      {
        label: h.metric,
        stroke: value,
        fill: withAlpha(value, 0.8),
        paths: () => null, // points only: the trials are not a series in time
        points: { show: true, size: 7, stroke: value, fill: value },
        value: (_u, v) => (v === null ? '' : formatNumber(v)),
      },
      {
        label: `best (${h.goal})`,
        stroke: best,
        width: 2,
        paths: uPlot.paths.stepped!({ align: 1 }),
        points: { show: false },
        value: (_u, v) => (v === null ? '' : formatNumber(v)),
      },
    ],
  };
}

export function historyData(h: SweepPageHistory): uPlot.AlignedData {
  return [[...h.trials], [...h.values], [...h.best]];
}

export function importanceOptions(imp: SweepPageImportances, theme: Theme, width: number): uPlot.Options {
  const bar = runStyle(4, theme, false).stroke;
  return {
    width,
    height: CHART_HEIGHT,
    legend: { show: false },
    scales: { x: { time: false, range: () => [-0.5, imp.params.length - 0.5] }, y: { range: [0, 1] } },
    axes: [
      {
        ...themedAxis(theme),
        splits: () => imp.params.map((_p, i) => i),
        values: (_u, splits) => splits.map((i) => imp.params[i] ?? ''),
        grid: { show: false },
      },
      { ...themedAxis(theme), values: numberTicks, size: 48, label: 'importance', labelFont: theme.font },
    ],
    series: [
      {},
      {
        label: 'importance',
        stroke: bar,
        fill: withAlpha(bar, 0.6),
        paths: uPlot.paths.bars!({ size: [0.6, 80] }),
        points: { show: false },
      },
    ],
  };
}

export function importanceData(imp: SweepPageImportances): uPlot.AlignedData {
  return [imp.params.map((_p, i) => i), [...imp.values]];
}

/** A chart that is made once and then given new data (or rebuilt when its shape changes). */
export class PageChart {
  private plot: uPlot | undefined;
  private key = '';

  constructor(readonly element: HTMLElement) {}

  /** Draws `data` with options built for `key` (the options are rebuilt only when the key changes). */
  draw(key: string, options: () => uPlot.Options, data: uPlot.AlignedData): void {
    if (this.plot && key === this.key) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.key = key;
    this.plot = new uPlot(options(), data, this.element);
  }

  resize(width: number): void {
    this.plot?.setSize({ width, height: CHART_HEIGHT });
  }

  clear(): void {
    this.plot?.destroy();
    this.plot = undefined;
    this.key = '';
  }
}

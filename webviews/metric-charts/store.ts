/**
 * The state of the metric charts page: the view settings kept with getState/setState, the runs and
 * keys the host sent, the points loaded per key (whole series downsampled, and zoomed ranges), and
 * the cards of the grid.
 */
import type {
  ChartRun,
  ChartSeries,
  MetricChartsState,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/metric-charts';
import { vscodeApi } from '../common/vscode-api';
import type { ChartView } from './chart';
import type { RunPoints } from './data';
import { readTheme, type Theme } from '../common/chart-theme';

export const vscode = vscodeApi<WebviewToHostMessage, MetricChartsState>();

export const model = {
  state: { xMode: 'step', smoothing: 0, logScale: false, filter: '', ...vscode.getState() } as MetricChartsState,
  theme: readTheme() as Theme,
  runs: [] as ChartRun[],
  keys: [] as string[],
  nextRequestId: 1,
  drawn: 0,
};
/** key -> run id -> points of the whole series (downsampled) */
export const overview = new Map<string, Map<string, RunPoints>>();
/** key -> a zoom: its step range and the overview with that range at full detail */
export const zooms = new Map<
  string,
  { from: number; to: number; requestId: number; points?: Map<string, RunPoints> }
>();
/** keys asked for, and keys answered */
export const requested = new Set<string>();
export const answered = new Set<string>();

export interface Card {
  readonly key: string;
  readonly root: HTMLElement;
  readonly plot: HTMLElement;
  readonly notice: HTMLElement;
  visible: boolean;
  view?: ChartView;
}
export const cards = new Map<string, Card>();

export function saveState(change: Partial<MetricChartsState>): void {
  model.state = { ...model.state, ...change };
  vscode.setState(model.state);
}

export function shownKeys(): string[] {
  const f = model.state.filter.trim().toLowerCase();
  return f ? model.keys.filter((k) => k.toLowerCase().includes(f)) : model.keys;
}

export function toPoints(s: ChartSeries): RunPoints {
  return { steps: s.steps, times: s.times, values: s.values, total: s.total };
}

export function pointsOf(key: string): Map<string, RunPoints> {
  return zooms.get(key)?.points ?? overview.get(key) ?? new Map();
}

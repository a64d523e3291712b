/**
 * The message contract of the metric charts webview (webviews/metric-charts), imported by the
 * extension host and the webview.
 *
 * Handshake: the webview posts `ready` each time its script starts (first open, and again when a
 * hidden panel is shown); only then does the host post `init` (runs and keys, plus every series it
 * already holds). The webview asks for the series of the charts that scroll into view (`load`), at
 * about two points per horizontal pixel; a zoom asks for the visible step range at full detail
 * (`requestRange`). While runs are running the host posts their new points (`append`), a few times
 * per second at most.
 */
import type { RunStatus } from '../experiments';

/** A run shown in the charts. */
export interface ChartRun {
  readonly id: string;
  readonly name: string;
  /** what the legend and tooltip call it: the name plus what tells it apart from the other runs shown */
  readonly label: string;
  /** index into the webview's colour-blind-safe palette, stable while the panel is open */
  readonly colour: number;
  /** 'deleted' = the experiment was deleted while the chart was open: its data stays, greyed */
  readonly status: RunStatus | 'deleted';
  /** unix ms: the zero of the relative-time axis */
  readonly startedAt: number;
}

/**
 * One run's points of one key: parallel arrays in logged order. Float64Array rather than number[]:
 * VS Code hands typed arrays to the webview as binary, which is several times cheaper than
 * serializing and cloning a million numbers one by one, and they hold NaN and ±Infinity as logged.
 */
export interface ChartSeries {
  readonly runId: string;
  readonly key: string;
  readonly steps: Float64Array;
  /** unix ms */
  readonly times: Float64Array;
  /** NaN, Infinity and -Infinity as logged (drawn as gaps with a marker) */
  readonly values: Float64Array;
  /** points stored for the whole key; more than `steps.length` when downsampled */
  readonly total: number;
}

export interface InitMessage {
  readonly type: 'init';
  readonly runs: readonly ChartRun[];
  /** every metric key of the runs, sorted */
  readonly keys: readonly string[];
  /** series the host already holds (may be empty: the webview asks with `load`) */
  readonly series: readonly ChartSeries[];
}

/** Series for `load` (range undefined) or for a `requestRange` (range set). */
export interface SeriesMessage {
  readonly type: 'series';
  /** the keys this message answers: a key without series here has no points in any run */
  readonly keys: readonly string[];
  readonly series: readonly ChartSeries[];
  /** the zoomed step range these series cover at full detail, if they answer a requestRange */
  readonly range?: { readonly key: string; readonly from: number; readonly to: number; readonly requestId: number };
}

/**
 * New points of running runs, batched. The live events carry no wall time: `times` is when the host
 * received them; a non-finite value arrives as NaN (its kind is not in the event).
 */
export interface AppendMessage {
  readonly type: 'append';
  readonly points: readonly {
    readonly runId: string;
    readonly key: string;
    readonly steps: Float64Array;
    readonly times: Float64Array;
    readonly values: Float64Array;
  }[];
  /** keys seen for the first time, sorted */
  readonly newKeys: readonly string[];
}

/** Status changes of runs (finished, deleted). */
export interface RunsMessage {
  readonly type: 'runs';
  readonly runs: readonly ChartRun[];
}

export type HostToWebviewMessage = InitMessage | SeriesMessage | AppendMessage | RunsMessage;

export type WebviewToHostMessage =
  | { readonly type: 'ready' }
  /** series of these keys for every run, about 2 points per pixel of a chart `pixels` wide */
  | { readonly type: 'load'; readonly keys: readonly string[]; readonly pixels: number }
  /** a zoom: the steps [from, to] of one key at full detail (downsampled only beyond 2 per pixel) */
  | {
      readonly type: 'requestRange';
      readonly key: string;
      readonly runIds: readonly string[];
      readonly from: number;
      readonly to: number;
      readonly pixels: number;
      readonly requestId: number;
    }
  /** write every point of these keys (all keys when empty) of every run to a CSV file */
  | { readonly type: 'exportCsv'; readonly keys: readonly string[] }
  /** save a chart, rendered by the webview as a PNG data URL */
  | { readonly type: 'exportPng'; readonly key: string; readonly dataUrl: string }
  /** the page painted its first chart with points since it loaded (measured by the benchmark) */
  | { readonly type: 'painted' }
  /** charts the page has drawn (a chart each key, with this many points), sent after drawing settles */
  | { readonly type: 'drawn'; readonly charts: readonly { readonly key: string; readonly points: number }[] };

export type XAxisMode = 'step' | 'wall' | 'relative';

/** What the webview keeps with getState/setState, restored when a hidden panel is shown again. */
export interface MetricChartsState {
  readonly xMode: XAxisMode;
  /** EMA weight 0 (off) .. 0.99 */
  readonly smoothing: number;
  readonly logScale: boolean;
  readonly filter: string;
}

/**
 * The message contract of the compare table webview (webviews/compare-table), imported by the
 * extension host and the webview.
 *
 * Handshake: the webview posts `ready` each time its script starts (first open, and again when a
 * hidden panel is shown); only then does the host post `table`: the columns and the first rows.
 * The webview asks for the rest with `moreRows` and the host answers each with one `tableRows`
 * chunk, in order, until all `total` rows are in: no message carries more than a bounded number of
 * rows (a lab of 100,000 runs is about 80 MB of rows), the first rows paint at once, and the page
 * stays responsive while the rest arrives. Later the host posts `rows` and `deleteRows` as
 * experiments change. The view state (sort, filters, columns, grouping, selection, scroll) lives in
 * the webview and survives new data; the webview sorts and filters every row it holds (all of them
 * once loaded), and renders only the rows in view.
 *
 * To keep many runs cheap, columns are sent once per `table` and each row is a plain array of
 * cells in column order, its id first.
 */
import type { RunStatus } from '../experiments';

/** How a column's cells compare, filter and display. */
export type ColumnKind = 'text' | 'number' | 'date' | 'status';

export type ColumnGroup = 'run' | 'param' | 'metric';

export type MetricStat = 'last' | 'min' | 'max';

export interface ColumnDef {
  /** stable id: `name`, `status`, `started`, `duration`, `operator`, `runId`, `params.<key>`, `metrics.<key>.<stat>` */
  readonly id: string;
  /** header text: the param or metric key (with the stat for min/max) */
  readonly label: string;
  readonly group: ColumnGroup;
  readonly kind: ColumnKind;
  /** the param or metric key */
  readonly key?: string;
  readonly stat?: MetricStat;
}

/**
 * One cell as sent. Numbers that JSON cannot hold travel as the strings 'NaN', 'Infinity' and
 * '-Infinity' in number columns; dates are unix ms; null = no value (a param or metric the run
 * does not have).
 */
export type WireCell = string | number | null;

/** A row as sent: `[id, cell of column 0, cell of column 1, ...]`. */
export type WireRow = readonly [string, ...WireCell[]];

export interface TableMessage {
  readonly type: 'table';
  /** names this table in `moreRows` and `tableRows`: a new `table` ends the loading of the one before */
  readonly table: number;
  /** the active project's name; null = no active project */
  readonly project: string | null;
  readonly columns: readonly ColumnDef[];
  /** the first rows (newest first); all of them when there are `total` */
  readonly rows: readonly WireRow[];
  /** how many rows the table has: those after `rows` come as `tableRows` chunks, asked for with `moreRows` */
  readonly total: number;
  /** ids to select (the experiments selected when the table was opened); absent = keep the selection */
  readonly select?: readonly string[];
  /** why there are no rows, when there are none (no backend, no project, no experiments) */
  readonly empty?: string;
  /**
   * the view to switch to, and the metric column of the parallel coordinates (its axes then chosen
   * automatically): sent when the table is opened for a set of runs such as a sweep's trials
   */
  readonly show?: { readonly view: 'table' | 'parallel'; readonly metric?: string };
}

/**
 * The next rows of a table, answering `moreRows`: they follow those received so far. Positions count
 * the table's rows as they were when `table` was posted; a run deleted since is left out of its
 * chunk (so a chunk may hold fewer rows than `next - from`), a run changed since comes as it is now.
 */
export interface TableRowsMessage {
  readonly type: 'tableRows';
  readonly table: number;
  /** the position of the first row asked for */
  readonly from: number;
  /** the position after this chunk: where the next `moreRows` starts; `total` when this was the last */
  readonly next: number;
  readonly rows: readonly WireRow[];
}

/**
 * Rows added or changed (a running run's metrics); the columns are those of the last `table`. While
 * a table is loading, only rows the webview was sent already or runs new since the `table` come this
 * way (a new run goes first); the other rows come with their chunk.
 */
export interface RowsMessage {
  readonly type: 'rows';
  readonly rows: readonly WireRow[];
}

export interface DeleteRowsMessage {
  readonly type: 'deleteRows';
  readonly ids: readonly string[];
}

/** The table was opened again with a selection in the Experiments view. */
export interface SelectMessage {
  readonly type: 'select';
  readonly ids: readonly string[];
}

/** The outcome of an action (export written, chart command failed), shown in the status line. */
export interface NoticeMessage {
  readonly type: 'notice';
  readonly level: 'info' | 'error';
  readonly text: string;
}

export type HostToWebviewMessage =
  TableMessage | TableRowsMessage | RowsMessage | DeleteRowsMessage | SelectMessage | NoticeMessage;

export type WebviewToHostMessage =
  | { readonly type: 'ready' }
  /** the rows of table `table` from position `from` on (the next chunk), after the first rows or the chunk before */
  | { readonly type: 'moreRows'; readonly table: number; readonly from: number }
  /** double-click or Enter on a row */
  | { readonly type: 'openExperiment'; readonly id: string }
  /** "Chart selected" */
  | { readonly type: 'chart'; readonly ids: readonly string[] }
  /** "Export CSV": the shown columns and rows, in their order; the host asks where to save */
  | { readonly type: 'exportCsv'; readonly columns: readonly string[]; readonly ids: readonly string[] }
  /** the page painted its first table since it loaded, with its first `rows` (measured by the benchmark) */
  | { readonly type: 'painted'; readonly rows: number }
  /** every row of a table has arrived and the page painted them all (`rows` runs) */
  | { readonly type: 'loaded'; readonly rows: number };

/** One sort key: a column id and its direction. The first key is the primary one. */
export interface SortKey {
  readonly column: string;
  readonly descending: boolean;
}

/** What the webview keeps with getState/setState, so a panel shown again looks as it was left. */
export interface CompareTableState {
  readonly sort: readonly SortKey[];
  /** the filter bar's text, e.g. `lr > 0.01, accuracy >= 0.9` */
  readonly filterText: string;
  /** statuses shown; empty = all */
  readonly statuses: readonly RunStatus[];
  /** ISO dates (yyyy-mm-dd) of the started range, inclusive; '' = open */
  readonly startedFrom: string;
  readonly startedTo: string;
  /** columns whose visibility the person changed from the default (metric min/max hidden) */
  readonly visibility: Readonly<Record<string, boolean>>;
  readonly differOnly: boolean;
  /** a param column id, or '' for no grouping */
  readonly groupBy: string;
  readonly collapsed: readonly string[];
  readonly selected: readonly string[];
  readonly view: 'table' | 'parallel';
  /** parallel coordinates: the param columns on the axes ([] = chosen automatically) and the metric column */
  readonly parallelParams: readonly string[];
  readonly parallelMetric: string;
  readonly scrollTop: number;
}

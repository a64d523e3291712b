/**
 * What the three record pages (experiment details, model card, dataset preview) have in common: a
 * header of labelled fields, then sections of fields and tables, and buttons that ask the host to do
 * something with the record shown. The host formats every value; the pages render them with the one
 * renderer of webviews/common/record-page.ts. Each page's own contract (src/protocol/webviews/) adds
 * what only that page has.
 */

/** One labelled value (started, size, sha256, commit, ...). */
export interface RecordField {
  readonly label: string;
  readonly value: string;
  /** shown in the editor's monospace font (ids, hashes, paths, command lines) */
  readonly monospace?: boolean;
  /** shown in full on hover, when `value` was shortened */
  readonly title?: string;
}

/** A table (params, metrics, rows of a CSV, entries of a zip). Every cell is plain text. */
export interface RecordTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** per column: right-align (numbers) */
  readonly numeric: readonly boolean[];
  /** per column: the cells in monospace (keys, JSON values) */
  readonly monospace?: readonly boolean[];
  /**
   * The full values shown on hover: per row and column ('' = none) when a value was shortened for
   * reading; `'cells'` when every header and cell shows its own text (cells cut by the layout).
   */
  readonly titles?: readonly (readonly string[])[] | 'cells';
  /** a first column numbering the rows from 1 */
  readonly rowNumbers?: boolean;
  /** the table's accessible name, when the section holds more than one */
  readonly label?: string;
}

/** A titled section of fields and a table; `empty` is shown when it has neither. */
export interface RecordSection {
  /** stable across updates ('params', 'metrics', 'details', ...) */
  readonly id: string;
  readonly title: string;
  readonly fields?: readonly RecordField[];
  readonly table?: RecordTable;
  /** e.g. "No params recorded." */
  readonly empty?: string;
}

/** A button of a record page: what it asks the host, with its label and tooltip. */
export interface RecordButton<Request> {
  readonly label: string;
  /** tooltip and accessible description */
  readonly title?: string;
  readonly primary?: boolean;
  readonly request: Request;
}

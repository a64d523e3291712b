/**
 * The message contract of the dataset preview webview (webviews/dataset-preview), imported by the
 * extension host and the webview. The host formats every value; the webview only lays them out, so
 * it stays small and never needs to know about dataset DTOs.
 *
 * Handshake: the webview posts `ready` each time its script starts (first open, and again when a
 * hidden panel is shown); only then does the host post `show` (and `rowCount` if already known).
 */

import type { RecordField, RecordTable } from './record-page';

export interface ShowMessage {
  readonly type: 'show';
  /** e.g. "iris:v2"; also tells apart the answers of two previews in a row */
  readonly ref: string;
  readonly title: string;
  readonly fields: readonly RecordField[];
  /** 'table' = CSV/TSV rows, 'entries' = files of a package, 'details' = no content preview */
  readonly mode: 'table' | 'entries' | 'details';
  /** CSV/TSV rows (numbered), or the entries of a zip package; every cell shows its text on hover */
  readonly table?: RecordTable;
  /** a line under the table, e.g. "200 of 150,000 rows" or why there is no preview */
  readonly note: string;
  /** true while the host counts the rows in the background (a rowCount message follows) */
  readonly counting: boolean;
  /** buttons of the header, in this order */
  readonly actions: readonly PreviewAction[];
}

/** What the header's buttons ask the host to do with the previewed version. */
export type PreviewAction = 'copyCode' | 'copyPath' | 'export' | 'openAsText';

export interface RowCountMessage {
  readonly type: 'rowCount';
  readonly ref: string;
  /** the note that replaces the "counting rows..." one */
  readonly note: string;
}

export type HostToWebviewMessage = ShowMessage | RowCountMessage;

export type WebviewToHostMessage =
  { readonly type: 'ready' } | { readonly type: 'action'; readonly action: PreviewAction; readonly ref: string };

/** What the webview keeps with getState/setState, to render at once when a hidden panel returns. */
export interface DatasetPreviewState {
  readonly show: ShowMessage;
}

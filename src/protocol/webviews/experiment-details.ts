/**
 * The message contract of the experiment details webview (webviews/experiment-details), imported by
 * the extension host and the webview. The host formats every value (dates, durations, numbers, JSON)
 * and decides which buttons exist; the webview only lays out sections, so it never needs to know
 * about the experiment DTOs.
 *
 * Handshake: the webview posts `ready` each time its script starts (first open, and again when a
 * hidden panel is shown); only then does the host post `show`. While a run is running the host posts
 * a fresh `show` when the run changes (status, metrics) and every few seconds (duration, log tails).
 * When the experiment is deleted the host posts a last `show` with `deleted` set and no buttons.
 */
import type { RunStatus } from '../experiments';
import type { RecordButton, RecordField, RecordSection } from './record-page';

/**
 * What a button asks the host to do. `command` runs one of ML Lab's experiment commands on the run
 * shown; `file` opens or reveals one of the files the host listed, named by the `file` key the host
 * gave (the webview never names a path itself).
 */
export type DetailsRequest =
  | { readonly kind: 'command'; readonly command: ExperimentCommand }
  | { readonly kind: 'file'; readonly action: FileAction; readonly file: string };

export type ExperimentCommand = 'openLog' | 'compareScript' | 'rerun' | 'rerunWithParams' | 'stop' | 'delete';
/** `registerModel`: registers the file (an artifact) as a model version traced to the run */
export type FileAction = 'open' | 'reveal' | 'registerModel';

export type DetailsButton = RecordButton<DetailsRequest>;

/** One entry of a list with its own buttons (an artifact, an output, an input). */
export interface DetailsItem {
  readonly label: string;
  /** a second, dimmed line (the artifact's source, a path) */
  readonly detail?: string;
  readonly buttons: readonly DetailsButton[];
}

/** A block of preformatted text (a log tail, the result as JSON, the packages list). */
export interface DetailsText {
  /** a sub-heading ("stdout.log") */
  readonly label?: string;
  readonly text: string;
  /** a line under the text ("last 200 of 1,234 lines") */
  readonly note?: string;
  /** folded into a <details> element (long lists) */
  readonly collapsed?: boolean;
  /** keep the view scrolled to the end (log tails) */
  readonly tail?: boolean;
  readonly buttons?: readonly DetailsButton[];
}

/**
 * A titled section. The host fills in what the section has, in this order: fields, table, items,
 * texts, buttons; `empty` is shown when there is nothing else. Its `id` is stable across updates
 * ('params', 'metrics', 'logs', ...): the webview updates sections in place.
 */
export interface DetailsSection extends RecordSection {
  readonly items?: readonly DetailsItem[];
  readonly texts?: readonly DetailsText[];
  readonly buttons?: readonly DetailsButton[];
}

export interface ShowMessage {
  readonly type: 'show';
  /** the run id; also tells apart answers meant for another run */
  readonly id: string;
  readonly title: string;
  /** the run's status, for the status badge (icon and colour) */
  readonly status: RunStatus;
  /** e.g. "running", "failed (exit code 1)" */
  readonly statusLabel: string;
  /** set once the experiment was deleted while the panel was open: what is shown is the last known record */
  readonly deleted?: string;
  readonly header: readonly RecordField[];
  /** buttons of the header (open log, compare, re-run, stop, delete) */
  readonly buttons: readonly DetailsButton[];
  readonly sections: readonly DetailsSection[];
}

export type HostToWebviewMessage = ShowMessage;

export type WebviewToHostMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'request'; readonly id: string; readonly request: DetailsRequest }
  /** the page drew a `show` for the first time since it loaded (measured by the benchmark) */
  | { readonly type: 'painted'; readonly id: string };

/** What the webview keeps with getState/setState, to render at once when a hidden panel returns. */
export interface ExperimentDetailsState {
  readonly show: ShowMessage;
  /** ids of sections whose folded texts the person opened */
  readonly open?: readonly string[];
}

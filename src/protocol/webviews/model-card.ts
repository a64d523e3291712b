/**
 * The message contract of the model card webview (webviews/model-card), imported by the extension
 * host and the webview. The host formats every value (dates, sizes, metric numbers, JSON) and decides
 * which actions exist; the webview only lays the card out and never sees the model DTOs.
 *
 * Handshake: the webview posts `ready` each time its script starts (first open, and again when a
 * hidden panel is shown); only then does the host post `show`. The host posts a fresh `show` when the
 * model, its services or the shown version change, and a last one with `deleted` set (and no actions)
 * when the version or the model is deleted while the card is open.
 */
import type { RecordField, RecordTable } from './record-page';

/** What the card's buttons ask the host to do with the version shown. */
export type CardAction = 'deploy' | 'setAlias' | 'playground' | 'openExperiment' | 'revealFile' | 'copyPath';

/** The experiment a version came from, as the card shows it. */
export interface CardLineage {
  /** "train-iris (3f2a…)", or the id alone when the experiment was deleted */
  readonly experiment: string;
  /** set when the experiment was deleted after the version was registered */
  readonly experimentDeleted?: string;
  readonly params?: RecordTable;
  readonly metrics?: RecordTable;
  /** input dataset versions, e.g. "iris:v2" or "iris (latest at the time)" */
  readonly inputs: readonly string[];
}

/** A service deployed from the version. */
export interface CardService {
  readonly name: string;
  readonly status: string;
  /** a CSS class for the status colour: ok, warn, bad, idle */
  readonly tone: 'ok' | 'warn' | 'bad' | 'idle';
}

/** One version of the model in the "Versions" list; choosing another one switches the card. */
export interface CardVersion {
  readonly version: number;
  /** "v3" */
  readonly label: string;
  readonly aliases: readonly string[];
  /** e.g. "12 Mar 2026, 14:02 · 1.2 MB" */
  readonly detail: string;
  /** the version the card shows */
  readonly current: boolean;
}

export interface ShowMessage {
  readonly type: 'show';
  /** "iris:v2"; also tells apart answers meant for a version shown before */
  readonly ref: string;
  readonly title: string;
  readonly aliases: readonly string[];
  readonly description: string;
  readonly tags: readonly string[];
  /** set once the version (or the model) was deleted: what is shown is the last known record */
  readonly deleted?: string;
  readonly fields: readonly RecordField[];
  /** null: the version was not registered from an experiment */
  readonly lineage: CardLineage | null;
  readonly services: readonly CardService[];
  readonly versions: readonly CardVersion[];
  /** buttons of the header, in this order; none once deleted */
  readonly actions: readonly CardAction[];
}

export type HostToWebviewMessage = ShowMessage;

export type WebviewToHostMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'action'; readonly ref: string; readonly action: CardAction }
  | { readonly type: 'switchVersion'; readonly ref: string; readonly version: number };

/** What the webview keeps with getState/setState, to render at once when a hidden panel returns. */
export interface ModelCardState {
  readonly show: ShowMessage;
}

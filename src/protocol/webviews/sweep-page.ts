/**
 * The message contract of the sweep page webview (webviews/sweep-page), imported by the extension
 * host and the webview. The host formats every text (values, params, dates, states); the page lays
 * them out and draws the two charts (the optimization history and the parameter importances) from
 * the numbers sent with them.
 *
 * Handshake: the webview posts `ready` each time its script starts (first open, and again when a
 * hidden panel is shown); only then does the host post `show`. The host posts a fresh `show` each
 * time the sweep changes (a trial started or ended, the state changed), so the page is live.
 */
import type { SweepState } from '../sweeps';
import type { RecordField, RecordTable } from './record-page';

/** What the page's buttons ask the host to do with the sweep shown. */
export type SweepPageAction =
  'rerunBest' | 'registerBest' | 'pause' | 'resume' | 'stop' | 'addTrials' | 'compare' | 'parallel';

/** The best completed trial so far. */
export interface SweepPageBest {
  /** "Trial 7" */
  readonly label: string;
  /** "val_loss 0.0123 (minimize)" */
  readonly value: string;
  /** the trial's params (Param, Value) */
  readonly params: RecordTable;
  /** its run, opened by the link; null when the trial has no run (yet) */
  readonly runId: string | null;
}

/**
 * The optimization history: completed trials in the order they ended (x: trial number), each one's
 * value and the best value up to it (the line).
 */
export interface SweepPageHistory {
  readonly metric: string;
  readonly goal: 'minimize' | 'maximize';
  readonly trials: readonly number[];
  readonly values: readonly number[];
  readonly best: readonly number[];
}

/** Parameter importances, most important first (they sum to 1). */
export interface SweepPageImportances {
  /** "fANOVA over 12 trials" */
  readonly caption: string;
  readonly params: readonly string[];
  readonly values: readonly number[];
}

/** One row of the trials table, newest trial first. */
export interface SweepPageTrial {
  readonly number: number;
  readonly state: 'running' | 'completed' | 'pruned' | 'failed';
  /** the objective's value as text, '' when there is none */
  readonly value: string;
  /** "lr=0.01, layers=2" */
  readonly params: string;
  /** "pruned at step 4: ...", the failure's reason, or '' */
  readonly note: string;
  readonly runId: string | null;
  /** the best trial so far */
  readonly best: boolean;
}

export interface SweepPageShow {
  readonly type: 'show';
  /** the sweep's id; also tells apart answers meant for a sweep shown before */
  readonly id: string;
  readonly title: string;
  readonly state: SweepState;
  /** "12/20 ended: 9 done, 2 running, 1 pruned, 0 failed" */
  readonly progress: string;
  /** method, metric, parallel, created, folder */
  readonly fields: readonly RecordField[];
  /** why it failed or stopped by itself; warnings that did not stop it */
  readonly message: string | null;
  readonly warnings: readonly string[];
  readonly best: SweepPageBest | null;
  /** null before a trial completed */
  readonly history: SweepPageHistory | null;
  readonly importances: SweepPageImportances | null;
  /** why there are no importances (too few trials, scikit-learn missing) */
  readonly importanceNote: string;
  readonly trials: readonly SweepPageTrial[];
  /** the buttons of the header, in this order */
  readonly actions: readonly SweepPageAction[];
}

export type HostToWebviewMessage = SweepPageShow;

export type WebviewToHostMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'action'; readonly id: string; readonly action: SweepPageAction }
  /** a trial's run link: opens its experiment details */
  | { readonly type: 'openRun'; readonly runId: string }
  /** the page drew a `show` (both charts included), for tests */
  | { readonly type: 'painted'; readonly id: string; readonly trials: number };

/** What the webview keeps with getState/setState, to render at once when a hidden panel returns. */
export interface SweepPageState {
  readonly show: SweepPageShow;
}

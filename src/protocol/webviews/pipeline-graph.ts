/**
 * The message contract of the pipeline graph webview (webviews/pipeline-graph), imported by the
 * extension host and the webview. The host lays the graph out (layers and order within a layer, see
 * src/extension/jobs/pipeline/layout.ts) and formats every value; the webview turns layers and slots
 * into pixels, draws, pans and zooms, and never sees the job DTOs.
 *
 * Handshake: the webview posts `ready` each time its script starts (first open, and again when a
 * hidden panel is shown); only then does the host post `graph` (or `unavailable`). The host posts a
 * fresh `graph` when jobs, runs, schedules or dependencies of the project change.
 */
import type { JobRunState, JobRunTrigger } from '../containers';

/** A job's state in the graph: the state of its last run, or `never` before its first run. */
export type PipelineNodeState = JobRunState | 'never';

/** Every state the graph (and its legend) can show, in the legend's order. */
export const PIPELINE_NODE_STATES: readonly PipelineNodeState[] = [
  'succeeded',
  'failed',
  'running',
  'queued',
  'skipped',
  'stopped',
  'unknown',
  'never',
];

/** A slot in the layout: the layer (column, sources are 0) and the position within it (0 = top). */
export interface GraphSlot {
  readonly layer: number;
  readonly order: number;
}

export interface PipelineGraphNode extends GraphSlot {
  readonly id: string;
  readonly name: string;
  readonly state: PipelineNodeState;
  /** "failed · exit 1", "skipped", "never run" */
  readonly stateLabel: string;
  readonly exitCode: number | null;
  readonly trigger: JobRunTrigger | null;
  /** "manual", "cron 0 2 * * * (Europe/Berlin)", "after prepare" */
  readonly triggerLabel: string;
  /** formatted local times of the last run; null when it did not start / has not ended */
  readonly started: string | null;
  readonly ended: string | null;
  /** "12.3 s", "4 min 5 s"; '' without a start */
  readonly duration: string;
  /** why the last run failed, stopped or was skipped; null when it speaks for itself */
  readonly reason: string | null;
  /** the second line of the box: "failed · exit 1 · today 20:14" or "never run" */
  readonly runLine: string;
  /** the third line when there is no schedule: the reason of the last run, else what started it ("started after prepare") */
  readonly note: string;
  /** null: no schedule */
  readonly schedule: {
    /** "At 02:30, only on Monday" */
    readonly description: string;
    readonly cron: string;
    readonly timeZone: string;
    readonly enabled: boolean;
    /** formatted next fire time; null while disabled */
    readonly nextRun: string | null;
    /** the third line of the box: "⟳ At 02:30 · next tomorrow 02:30" or "⟳ disabled: At 02:30" */
    readonly line: string;
  } | null;
  readonly upstreams: readonly string[];
  readonly downstreams: readonly string[];
}

/** An edge upstream -> downstream; `via` are the empty slots of the layers it crosses, left to right. */
export interface PipelineGraphEdge {
  readonly from: string;
  readonly to: string;
  readonly via: readonly GraphSlot[];
  /** an edge against the layout's direction: only in malformed (cyclic) input, drawn dashed */
  readonly back?: boolean;
}

export interface GraphMessage {
  readonly type: 'graph';
  readonly projectId: string;
  readonly nodes: readonly PipelineGraphNode[];
  readonly edges: readonly PipelineGraphEdge[];
  /** slots per layer (jobs and edge passages), to size and centre the columns */
  readonly layerSizes: readonly number[];
  /** "Updated 20:14:03" */
  readonly updated: string;
}

/** No graph to show: no active project, the project was deleted, or the backend cannot be reached. */
export interface UnavailableMessage {
  readonly type: 'unavailable';
  readonly message: string;
}

export type HostToWebviewMessage = GraphMessage | UnavailableMessage;

export type WebviewToHostMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'showLogs'; readonly job: string }
  | { readonly type: 'runJob'; readonly job: string }
  | { readonly type: 'rerunFrom'; readonly job: string }
  | { readonly type: 'refresh' };

/** What the webview keeps with getState/setState: the view (pan and zoom) and the focused job. */
export interface PipelineGraphState {
  readonly scale: number;
  readonly x: number;
  readonly y: number;
  /** false until the person pans or zooms: until then the graph is fitted to the view on each change */
  readonly moved: boolean;
  readonly focused?: string;
}

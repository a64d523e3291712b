import type * as vscode from 'vscode';
import type { BackendEvent } from '../../../protocol/api';
import type { Job } from '../../../protocol/containers';
import type { HostToWebviewMessage, WebviewToHostMessage } from '../../../protocol/webviews/pipeline-graph';
import type { BackendService } from '../../backend/backend-service';
import { Commands } from '../../common/commands';
import { WebviewPanelHost } from '../../common/webview/panel-host';
import { buildGraph } from './content';
import { affectsGraph, runStatesOf, type RunStates } from './events';
import { PIPELINE_CSS } from './style';

/** The Jobs view's commands the graph's buttons run, with a job node as their argument. */
export const PIPELINE_ACTIONS = {
  showLogs: Commands.showJobLogs,
  runJob: Commands.runJob,
  rerunFrom: Commands.rerunJobFrom,
} as const;

export interface PipelinePanelDeps {
  readonly backend: BackendService;
  /** runs a command of the Jobs view with its node, `{ kind: 'job', job }` */
  readonly runCommand: (command: string, arg: { readonly kind: 'job'; readonly job: Job }) => Thenable<unknown>;
  readonly reportError: (message: string) => void;
}

/** How long a burst of events may last before the graph reloads once. */
export const RELOAD_DELAY_MS = 200;

/**
 * The pipeline graph of the active project: every job with its last run and schedule, and the
 * dependencies between them. It reloads (debounced) on the backend's job, run, schedule and pipeline
 * events while it is open, and its buttons run the Jobs view's commands on the job.
 */
export class PipelineGraphPanel extends WebviewPanelHost<HostToWebviewMessage, WebviewToHostMessage> {
  private shown: HostToWebviewMessage | undefined;
  /** run id and state of each job's last run in the graph, to ignore run updates that change nothing shown */
  private runStates: RunStates = new Map();
  private generation = 0;
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private readonly deps: PipelinePanelDeps,
  ) {
    super(extensionUri, {
      viewType: 'mllab.pipelineGraph',
      title: 'Pipeline',
      script: 'pipeline-graph',
      css: PIPELINE_CSS,
    });
    this._register({ dispose: () => clearTimeout(this.reloadTimer) });
    this._register(deps.backend.onDidReceiveEvent((event) => this.onEvent(event)));
  }

  /** The last message built (posted, or waiting for the page's `ready`), for tests. */
  get lastShown(): HostToWebviewMessage | undefined {
    return this.shown;
  }

  /** Loads the graph and opens (or reveals) the panel. */
  async show(preserveFocus = false): Promise<void> {
    await this.reload();
    if (!this.isDisposed) {
      this.showPanel('Pipeline', preserveFocus);
    }
  }

  /** Reloads shortly after an event; events in a burst cause one reload. Nothing while closed. */
  reloadSoon(): void {
    if (this.isDisposed || !this.panel) {
      return;
    }
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reload().catch((e: unknown) =>
        this.deps.reportError(`ML Lab: ${e instanceof Error ? e.message : String(e)}`),
      );
    }, RELOAD_DELAY_MS);
  }

  /** Fetches the pipeline of the active project and posts it; an error is shown in the page. */
  async reload(): Promise<void> {
    const mine = ++this.generation;
    let message: HostToWebviewMessage;
    let runStates: RunStates = new Map();
    try {
      const client = await this.deps.backend.ready();
      const pipeline = await client.pipeline();
      message = buildGraph(pipeline);
      runStates = runStatesOf(pipeline);
    } catch (e) {
      message = { type: 'unavailable', message: e instanceof Error ? e.message : String(e) };
    }
    if (mine !== this.generation || this.isDisposed) {
      return; // a newer reload is under way
    }
    this.shown = message;
    this.runStates = runStates;
    this.post(message);
  }

  /** Handles a message of the page (public so tests can drive the same path as a click). */
  async perform(message: WebviewToHostMessage): Promise<void> {
    if (message.type === 'ready') {
      return;
    }
    if (message.type === 'refresh') {
      await this.reload();
      return;
    }
    const graph = this.shown?.type === 'graph' ? this.shown : undefined;
    const client = await this.deps.backend.ready();
    const job = (await client.listJobs(graph?.projectId)).find((j) => j.name === message.job);
    if (!job) {
      this.reloadSoon();
      throw new Error(`The job ${message.job} does not exist (any more).`);
    }
    await this.deps.runCommand(PIPELINE_ACTIONS[message.type], { kind: 'job', job });
  }

  protected replay(): HostToWebviewMessage[] {
    return this.shown ? [this.shown] : [];
  }

  protected onMessage(message: WebviewToHostMessage): void {
    this.perform(message).catch((e: unknown) =>
      this.deps.reportError(`ML Lab: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  private onEvent(event: BackendEvent): void {
    if (affectsGraph(event, this.shown?.type === 'graph' ? this.shown.projectId : undefined, this.runStates)) {
      this.reloadSoon();
    }
  }
}

import * as fs from 'fs';
import * as vscode from 'vscode';
import { BackendError } from '../../../client/api-client';
import type { Experiment, ExperimentDetails } from '../../../protocol/experiments';
import type {
  ExperimentCommand,
  FileAction,
  HostToWebviewMessage,
  ShowMessage,
  WebviewToHostMessage,
} from '../../../protocol/webviews/experiment-details';
import type { BackendService } from '../../backend/backend-service';
import { MutableDisposable, toDisposable } from '../../common/lifecycle';
import { WebviewPanelHost } from '../../common/webview/panel-host';
import { formatShortDate } from '../../datasets/format';
import { buildDetails, type DetailsContent, type LogTail, type PackagesList } from './content';
import { DETAILS_CSS } from './css';
import { readLogTail, readPackages } from './files';
import { Commands } from '../../common/commands';
import type { ArtifactRef } from '../../models/commands';

/** How often a visible panel of a running run redraws its duration and log tails. */
const LIVE_MS = 2000;
/** Metric events of a running run arrive up to ~10/s: at most one reload of the details per this. */
const RELOAD_MS = 500;

export interface DetailsPanelDeps {
  readonly backend: BackendService;
  /** runs one of the experiment commands (open log, re-run, delete, ...) on the run */
  readonly runCommand: (command: ExperimentCommand, experiment: Experiment) => Thenable<unknown>;
  /** reports a failed button action to the person */
  readonly reportError: (message: string) => void;
}

/** Where Reveal shows files: the OS file manager only when the editor's UI runs on the files' machine. */
function revealTarget(): 'os' | 'explorer' {
  return vscode.env.uiKind === vscode.UIKind.Web || vscode.env.remoteName !== undefined ? 'explorer' : 'os';
}

/**
 * The details panel of one experiment: everything recorded about the run, kept current while it is
 * open (backend events reload it; a running run's duration and log tails redraw every 2 s while
 * the panel is visible), and a "deleted" state when the run is deleted meanwhile.
 */
export class ExperimentDetailsPanel extends WebviewPanelHost<HostToWebviewMessage, WebviewToHostMessage> {
  private readonly _onDidClose = this._register(new vscode.EventEmitter<void>());
  /** fires when the person closes the panel */
  readonly onDidClose = this._onDidClose.event;
  private readonly _onDidPaint = this._register(new vscode.EventEmitter<void>());
  /** the page drew the run for the first time since it loaded */
  readonly onDidPaint = this._onDidPaint.event;

  private details: ExperimentDetails | undefined;
  private logs: readonly LogTail[] = [];
  private packages: PackagesList | undefined;
  private content: DetailsContent | undefined;
  private deleted = false;
  private generation = 0;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private readonly liveTimer = this._register(new MutableDisposable<vscode.Disposable>());

  constructor(
    extensionUri: vscode.Uri,
    /** the run id */
    readonly id: string,
    private readonly deps: DetailsPanelDeps,
  ) {
    super(extensionUri, {
      viewType: 'mllab.experimentDetails',
      title: 'Experiment',
      script: 'experiment-details',
      css: DETAILS_CSS,
    });
  }

  /** The last `show` message built (posted, or waiting for the page's `ready`), for tests. */
  get lastShown(): ShowMessage | undefined {
    return this.content?.show;
  }

  get isDeleted(): boolean {
    return this.deleted;
  }

  /** Loads the run and opens (or reveals) its panel. */
  async show(preserveFocus = false): Promise<void> {
    await this.reload();
    if (!this.isDisposed) {
      this.showPanel(this.title(), preserveFocus);
    }
  }

  /**
   * Reloads the run from the backend (after an event): one reload at a time, and at most one more
   * queued behind it, however many events arrive meanwhile.
   */
  reloadSoon(): void {
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = this.reload()
      .catch(() => undefined) // the backend went away: a reconnect reloads again
      .then(() => new Promise<void>((r) => setTimeout(r, RELOAD_MS)))
      .finally(() => {
        this.reloading = undefined;
        if (this.reloadAgain && !this.isDisposed) {
          this.reloadAgain = false;
          this.reloadSoon();
        }
      });
  }

  /** The run was deleted: shows its last known record as deleted, without buttons. */
  markDeleted(): void {
    if (this.deleted) {
      return;
    }
    this.deleted = true;
    this.generation++; // a reload in flight must not bring the live view back
    this.liveTimer.value = undefined;
    this.render();
    if (this.panel) {
      this.panel.title = this.title();
    }
  }

  async reload(): Promise<void> {
    if (this.deleted) {
      return;
    }
    const mine = ++this.generation;
    let details: ExperimentDetails;
    try {
      details = await (await this.deps.backend.ready()).getExperiment(this.id);
    } catch (e) {
      if (e instanceof BackendError && e.status === 404 && mine === this.generation) {
        if (!this.details) {
          throw new Error(`The experiment ${this.id} does not exist (any more).`);
        }
        this.markDeleted();
        return;
      }
      throw e;
    }
    const [logs, packages] = await Promise.all([
      this.readLogs(details),
      this.deps.backend.remoteUrl ? undefined : readPackages(details.dir, details.manifest.packages),
    ]);
    if (mine !== this.generation || this.isDisposed) {
      return; // a newer reload, or the deletion, came first
    }
    this.details = details;
    this.logs = logs;
    this.packages = packages;
    this.render();
    if (this.panel) {
      this.panel.title = this.title();
    }
    this.liveTimer.value = details.status === 'running' ? this.startLiveTimer() : undefined;
  }

  /** Handles a message of the page (public so tests can drive the same path as a click). */
  async perform(message: WebviewToHostMessage): Promise<void> {
    if (message.type !== 'request' || message.id !== this.id || !this.details || this.deleted) {
      return;
    }
    const request = message.request;
    if (request.kind === 'command') {
      const result = await this.deps.runCommand(request.command, this.details);
      if (request.command === 'delete' && result === true) {
        this.markDeleted();
      }
      return;
    }
    const file = this.content?.files.get(request.file);
    if (!file) {
      throw new Error(`Unknown file ${request.file}.`);
    }
    if (request.action === 'registerModel') {
      const artifact: ArtifactRef = { experimentId: this.details.id, path: file };
      await vscode.commands.executeCommand(Commands.registerModel, artifact);
      return;
    }
    this.deps.backend.requireLocal(
      "Opening a run's files",
      "they are on the lab's machine; this page shows what the lab keeps of the run.",
    );
    await openOrReveal(request.action, file);
  }

  protected replay(): HostToWebviewMessage[] {
    return this.content ? [this.content.show] : [];
  }

  protected onMessage(message: WebviewToHostMessage): void {
    if (message.type === 'painted') {
      if (message.id === this.id) {
        this._onDidPaint.fire();
      }
      return;
    }
    this.perform(message).catch((e: unknown) =>
      this.deps.reportError(`ML Lab: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  protected onPanelClosed(): void {
    this.liveTimer.value = undefined;
    this._onDidClose.fire();
  }

  private title(): string {
    const d = this.details;
    const name = d ? `${d.name} · ${formatShortDate(d.startedAt)}` : this.id;
    return this.deleted ? `${name} (deleted)` : name;
  }

  private readLogs(details: ExperimentDetails): Promise<LogTail[]> {
    if (this.deps.backend.remoteUrl) {
      return Promise.resolve([]); // the run directory is on the lab's machine
    }
    return Promise.all(['stdout.log', 'stderr.log'].map((name) => readLogTail(details.dir, name)));
  }

  private render(): void {
    if (!this.details) {
      return;
    }
    this.content = buildDetails({
      details: this.details,
      logs: this.logs,
      packages: this.packages,
      now: Date.now(),
      revealIn: revealTarget(),
      deleted: this.deleted,
      remoteLab: this.deps.backend.remoteUrl,
    });
    this.post(this.content.show);
  }

  /** Redraws a running run's duration and log tails while its panel is visible (not while hidden). */
  private startLiveTimer(): vscode.Disposable {
    const timer = setInterval(() => {
      const details = this.details;
      if (!details || !this.panel?.visible || this.deleted) {
        return;
      }
      const mine = this.generation;
      void this.readLogs(details).then((logs) => {
        if (mine === this.generation && !this.isDisposed) {
          this.logs = logs;
          this.render();
        }
      });
    }, LIVE_MS);
    return toDisposable(() => clearInterval(timer));
  }
}

/** Opens a file in an editor, or reveals it in the OS file manager (desktop) or the Explorer view. */
async function openOrReveal(action: Exclude<FileAction, 'registerModel'>, file: string): Promise<void> {
  const stat = await fs.promises.stat(file).catch(() => undefined);
  if (!stat) {
    throw new Error(`${file} does not exist (any more).`);
  }
  const uri = vscode.Uri.file(file);
  if (action === 'open' && stat.isFile()) {
    await vscode.commands.executeCommand('vscode.open', uri);
    return;
  }
  if (revealTarget() === 'os') {
    await vscode.commands.executeCommand('revealFileInOS', uri);
  } else if (vscode.workspace.getWorkspaceFolder(uri)) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
  } else if (stat.isFile()) {
    await vscode.commands.executeCommand('vscode.open', uri); // outside the workspace: the Explorer cannot show it
  } else {
    throw new Error(`${file} is outside the workspace, so the Explorer cannot show it.`);
  }
}

import * as vscode from 'vscode';
import type { SweepDetails } from '../../../protocol/sweeps';
import type {
  HostToWebviewMessage,
  SweepPageAction,
  SweepPageShow,
  WebviewToHostMessage,
} from '../../../protocol/webviews/sweep-page';
import type { BackendService } from '../../backend/backend-service';
import { Commands, type CommandId } from '../../common/commands';
import { Disposable } from '../../common/lifecycle';
import { WebviewPanelHost } from '../../common/webview/panel-host';
import type { Ui } from '../../common/ui';
import { sweepPageShow } from './page-content';
import { SWEEP_PAGE_CSS } from './style';
import type { SweepsModel } from './sweeps-model';

/** The sweep command each button of the page runs, with the sweep as its argument. */
const COMMANDS: Record<SweepPageAction, CommandId> = {
  rerunBest: Commands.rerunBestTrial,
  registerBest: Commands.registerBestModel,
  pause: Commands.pauseSweep,
  resume: Commands.resumeSweep,
  stop: Commands.stopSweep,
  addTrials: Commands.addSweepTrials,
  compare: Commands.compareSweep,
  parallel: Commands.sweepParallelCoordinates,
};

/** One sweep's page: its best trial, the optimization history, the parameter importances and its trials; live. */
export class SweepPagePanel extends WebviewPanelHost<HostToWebviewMessage, WebviewToHostMessage> {
  private show: SweepPageShow | undefined;
  /** whether the best trial's run logged a file, and at which change of the sweep this was asked */
  private bestFiles: { runId: string; has: boolean; asked: string } | undefined;
  private readonly _onDidPaint = this._register(new vscode.EventEmitter<number>());
  /** the page drew the sweep (with this many trials), for tests */
  readonly onDidPaint = this._onDidPaint.event;
  /** how many trials the page drew last, for tests */
  lastPainted: number | undefined;
  private readonly _onDidClose = this._register(new vscode.EventEmitter<void>());
  readonly onDidClose = this._onDidClose.event;

  constructor(
    extensionUri: vscode.Uri,
    readonly id: string,
    private readonly model: SweepsModel,
    private readonly backend: BackendService,
    private readonly ui: Ui,
  ) {
    super(extensionUri, {
      viewType: 'mllab.sweepPage',
      title: 'Sweep',
      script: 'sweep-page',
      css: SWEEP_PAGE_CSS,
      stylesheets: ['uplot'],
    });
    this._register(model.onDidChange(() => this.update(model.cached(id))));
  }

  /** What the page shows now, for tests. */
  get shown(): SweepPageShow | undefined {
    return this.show;
  }

  /** Opens (or reveals) the page with the sweep's current details. */
  async open(): Promise<void> {
    const details = await this.model.details(this.id);
    this.showPanel(details.name);
    this.update(details);
  }

  private update(details: SweepDetails | undefined): void {
    if (!details || !this.panel) {
      return;
    }
    const runId = details.best?.runId ?? null;
    const files = this.bestFiles;
    if (runId && (files?.runId !== runId || (!files.has && files.asked !== details.updatedAt))) {
      this.askBestFiles(runId, details.updatedAt);
    }
    const show = sweepPageShow(details, !!runId && files?.runId === runId && files.has);
    if (JSON.stringify(show) === JSON.stringify(this.show)) {
      return; // the list changed for another sweep
    }
    this.show = show;
    this.panel.title = `Sweep: ${details.name}`;
    this.post(show);
  }

  /**
   * Whether the best trial's run logged a file (Register Best Model is offered then), asked again
   * while it has none each time the sweep changed: its files may still be on their way in.
   */
  private askBestFiles(runId: string, asked: string): void {
    this.bestFiles = { runId, has: false, asked };
    this.backend
      .ready()
      .then((client) => client.getExperiment(runId))
      .then(
        (run) => {
          if (this.bestFiles?.runId === runId && run.artifacts.length > 0) {
            this.bestFiles = { runId, has: true, asked };
            this.update(this.model.cached(this.id));
          }
        },
        () => undefined, // the run was deleted: nothing to register
      );
  }

  protected replay(): HostToWebviewMessage[] {
    return this.show ? [this.show] : [];
  }

  protected onMessage(message: WebviewToHostMessage): void {
    const run = (command: string, ...args: unknown[]) =>
      Promise.resolve(vscode.commands.executeCommand(command, ...args)).catch((e: unknown) =>
        this.ui.error(`ML Lab: ${(e as Error).message}`),
      );
    switch (message.type) {
      case 'action': {
        const sweep = this.model.get(this.id);
        if (message.id === this.id && sweep) {
          void run(COMMANDS[message.action], { kind: 'sweep', sweep });
        }
        break;
      }
      case 'openRun':
        void run(Commands.showExperiment, message.runId);
        break;
      case 'painted':
        if (message.id === this.id) {
          this.lastPainted = message.trials;
          this._onDidPaint.fire(message.trials);
        }
        break;
    }
  }

  protected onPanelClosed(): void {
    this.show = undefined;
    this._onDidClose.fire();
  }
}

/** The open sweep pages, one per sweep (showing a sweep again reveals its page). */
export class SweepPages extends Disposable {
  private readonly pages = new Map<string, SweepPagePanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly model: SweepsModel,
    private readonly backend: BackendService,
    private readonly ui: Ui,
  ) {
    super();
    this._register({
      dispose: () => {
        this.pages.forEach((p) => p.dispose());
        this.pages.clear();
      },
    });
  }

  /** The open page of a sweep, for tests. */
  get(id: string): SweepPagePanel | undefined {
    return this.pages.get(id);
  }

  async show(id: string): Promise<SweepPagePanel> {
    let page = this.pages.get(id);
    if (!page) {
      const created = new SweepPagePanel(this.extensionUri, id, this.model, this.backend, this.ui);
      created.onDidClose(() => {
        if (this.pages.get(id) === created) {
          this.pages.delete(id);
          created.dispose();
        }
      });
      this.pages.set(id, created);
      page = created;
    }
    await page.open();
    return page;
  }
}

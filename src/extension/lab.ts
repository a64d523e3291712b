import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { BackendLogView } from './backend/log-view';
import { BackendService } from './backend/backend-service';
import { LabConnection } from './backend/lab-connection';
import { secretKeyOf } from './backend/lab-link';
import { LabStatusBar } from './backend/lab-status-bar';
import { Commands, ContextKeys } from './common/commands';
import { Disposable } from './common/lifecycle';
import { registerCommand } from './common/register-command';
import { Ui } from './common/ui';
import type { DatasetsModel } from './datasets/datasets-model';
import type { DatasetsDropController } from './datasets/drop';
import type { DatasetPreview } from './datasets/preview/panel';
import { Datasets } from './datasets/register';
import type { DatasetsTree, DatasetNode } from './datasets/tree';
import type { MetricChartsPanel } from './experiments/charts/panel';
import type { CompareTable } from './experiments/compare/panel';
import type { ExperimentDetailsPanels } from './experiments/details/panels';
import type { ExperimentsModel } from './experiments/experiments-model';
import { Experiments } from './experiments/register';
import type { ExperimentsTree, ExperimentNode } from './experiments/tree';
import { RunTerminals } from './experiments/run-terminal';
import { configureTerminalEnvironment, pointTerminalsAt } from './backend/terminal-env';
import type { ProjectsModel } from './projects/projects-model';
import { Projects } from './projects/register';
import type { ProjectStatusBar } from './projects/status-bar';
import type { ProjectsTree } from './projects/tree';
import { Models } from './models/register';
import { Containers } from './containers/register';
import { Targets } from './targets/register';

/** Resolves the lab home from the `mllab.home` setting and the first workspace folder. */
export function labHome(): string | undefined {
  const setting = vscode.workspace.getConfiguration('mllab').get<string>('home', '').trim();
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const base = folder?.scheme === 'file' ? folder.fsPath : undefined;
  if (setting && path.isAbsolute(setting)) {
    return setting;
  }
  return base ? path.join(base, setting || '.mllab') : undefined;
}

/**
 * Whether this window starts its backend at once: when its lab home exists, or it talks to a lab by
 * URL (no process to start here). A folder without one (the extension activates on every start, for
 * the status bar) gets its backend, and its lab home, only once the ML Lab views are opened or a
 * command needs it.
 */
export function startsAtOnce(home: string | undefined, remoteUrl?: string): boolean {
  return remoteUrl !== undefined || (home !== undefined && fs.existsSync(home));
}

/** Where the `mllab` launcher of the integrated terminals goes: the extension's storage on this machine. */
function launcherFolder(context: vscode.ExtensionContext): string {
  const storage = context.globalStorageUri;
  return storage.scheme === 'file'
    ? path.join(storage.fsPath, 'bin')
    : path.join(os.tmpdir(), `mllab-${os.userInfo().uid}`, 'bin');
}

/** The root object of the extension: builds every part and owns it (disposed on deactivate). */
export class MlLab extends Disposable {
  readonly ui = new Ui();
  readonly log: vscode.LogOutputChannel;
  readonly backend: BackendService;
  /** "Connect to Lab...", "Disconnect from Lab": a lab served by URL instead of the folder's */
  readonly labConnection: LabConnection;
  /** which lab the window talks to (local, or a lab's host with the user and role) */
  readonly labStatusBar: LabStatusBar;
  /** the Projects view, the active project and the status bar item */
  readonly projectsFeature: Projects;
  /** the Datasets view and the dataset preview */
  readonly datasetsFeature: Datasets;
  /** the Experiments view, the metric charts, the compare table and the details panels */
  readonly experimentsFeature: Experiments;
  /** the Models view */
  readonly models: Models;
  /** Jobs and Services views (Docker) */
  readonly containers: Containers;
  /** the Targets view: engines and clusters, their nodes, what runs there */
  readonly targets: Targets;
  /** what integrated terminals get (MLLAB_HOME, PYTHONPATH, `mllab` on PATH) */
  readonly terminalEnvironment: vscode.EnvironmentVariableCollection;
  /** the terminals Run as Experiment types into, one per script */
  readonly runTerminals: RunTerminals;

  // the parts of Projects and Datasets the other features and the integration tests use, by their earlier names
  get projects(): ProjectsModel {
    return this.projectsFeature.model;
  }
  get projectsTree(): ProjectsTree {
    return this.projectsFeature.tree;
  }
  get statusBar(): ProjectStatusBar {
    return this.projectsFeature.statusBar;
  }
  get datasets(): DatasetsModel {
    return this.datasetsFeature.model;
  }
  get datasetsTree(): DatasetsTree {
    return this.datasetsFeature.tree;
  }
  get datasetsView(): vscode.TreeView<DatasetNode> {
    return this.datasetsFeature.view;
  }
  get datasetsDrop(): DatasetsDropController {
    return this.datasetsFeature.drop;
  }
  get datasetPreview(): DatasetPreview {
    return this.datasetsFeature.preview;
  }
  // the parts of Experiments the integration tests use, by their earlier names
  get experiments(): ExperimentsModel {
    return this.experimentsFeature.model;
  }
  get experimentsTree(): ExperimentsTree {
    return this.experimentsFeature.tree;
  }
  get experimentsView(): vscode.TreeView<ExperimentNode> {
    return this.experimentsFeature.view;
  }
  /** "Show Metric Charts": the selected runs' metrics, overlaid per key */
  get metricCharts(): MetricChartsPanel {
    return this.experimentsFeature.metricCharts;
  }
  /** "Compare Experiments": every run of the project as a row */
  get compareTable(): CompareTable {
    return this.experimentsFeature.compareTable;
  }
  /** one details panel per experiment ("Show Experiment") */
  get experimentDetails(): ExperimentDetailsPanels {
    return this.experimentsFeature.details;
  }

  constructor(context: vscode.ExtensionContext) {
    super();
    this.log = this._register(vscode.window.createOutputChannel('ML Lab', { log: true }));
    const config = vscode.workspace.getConfiguration('mllab');
    this.backend = this._register(
      new BackendService({
        home: labHome(),
        backendScript: path.join(context.extensionPath, 'dist', 'backend.js'),
        idleExitSeconds: Math.max(1, config.get<number>('backend.idleShutdownMinutes', 5)) * 60,
        dockerHost: config.get<string>('docker.host', '').trim() || undefined,
        log: this.log,
        tokenOf: (url) => context.secrets.get(secretKeyOf(url)),
      }),
    );
    this.labConnection = this._register(
      new LabConnection(this.backend, context.secrets, context.workspaceState, this.ui, this.log),
    );
    // a workspace connected to a lab by URL talks to it again (its token from SecretStorage)
    this.labConnection.restore();
    this.projectsFeature = this._register(
      new Projects(this.backend, this.ui, startsAtOnce(this.backend.home, this.backend.remoteUrl)),
    );
    this.labStatusBar = this._register(new LabStatusBar(this.backend, this.ui));
    const logView = this._register(new BackendLogView(() => this.backend.home));
    this.datasetsFeature = this._register(
      new Datasets(context.extensionUri, this.backend, this.projectsFeature.model, this.ui),
    );
    this.terminalEnvironment = context.environmentVariableCollection;
    configureTerminalEnvironment(context.environmentVariableCollection, context.extensionPath, this.backend.home);
    // new terminals talk to the lab the window talks to (the folder's, or the one reached by URL)
    let pointedAt: string | undefined;
    const pointTerminals = () => {
      const url = this.backend.remoteUrl;
      const key = url && `${url} ${this.backend.remoteCaFile ?? ''}`;
      if (key !== pointedAt) {
        pointedAt = key;
        pointTerminalsAt(
          context.environmentVariableCollection,
          this.backend.home,
          url ? { url, caFile: this.backend.remoteCaFile } : undefined,
        );
      }
    };
    if (this.backend.remoteUrl) {
      pointTerminals();
    }
    this._register(this.backend.onDidChangeState(pointTerminals));
    this.runTerminals = this._register(
      new RunTerminals(
        () => this.backend.home,
        launcherFolder(context),
        path.join(context.extensionPath, 'dist', 'cli.js'),
        context.environmentVariableCollection,
      ),
    );
    this.experimentsFeature = this._register(
      new Experiments(
        context.extensionUri,
        this.backend,
        this.projects,
        this.ui,
        this.runTerminals,
        context.workspaceState,
      ),
    );
    this.models = this._register(new Models(context.extensionUri, this.backend, this.projects, this.ui));
    this.containers = this._register(new Containers(context.extensionUri, this.backend, this.projects, this.ui));
    this.targets = this._register(new Targets(this.backend, this.projects, this.ui));
    this._register(
      registerCommand(Commands.showBackendLog, this.ui, () => {
        if (this.backend.remoteUrl) {
          // the backend's log is on the lab's machine: this window's own log says what it did
          this.log.show(true);
          void this.ui.info(
            `ML Lab: the log of the lab at ${this.backend.remoteUrl} is kept on its machine (ask its admin); this is the window's own log.`,
          );
          return;
        }
        logView.show();
      }),
    );
    this._register(registerCommand(Commands.restartBackend, this.ui, () => this.backend.restart()));

    this._register(
      this.backend.onDidChangeState((s) => {
        void vscode.commands.executeCommand('setContext', ContextKeys.backendState, s.kind);
        if (s.kind === 'failed' && s.remote) {
          const actions = s.refusedToken ? ['Connect to Lab...'] : ['Retry', 'Connect to Lab...'];
          void this.ui.error(`ML Lab: ${s.message}`, ...actions).then((choice) => {
            if (choice === 'Connect to Lab...') {
              void vscode.commands.executeCommand(Commands.connectLab);
            } else if (choice === 'Retry') {
              void this.backend.restart();
            }
          });
        } else if (s.kind === 'failed') {
          void this.ui
            .error(`ML Lab: the backend could not start: ${s.message}`, 'Show Log', 'Retry')
            .then((choice) => {
              if (choice === 'Show Log') {
                logView.show();
              } else if (choice === 'Retry') {
                void this.backend.restart();
              }
            });
        }
      }),
    );
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('mllab.home')) {
          void this.ui.info('ML Lab: reload the window to use the new lab home (mllab.home).');
        }
      }),
    );
    // a folder without a lab home: the backend starts once an ML Lab view shows (or a command needs it)
    const views: vscode.TreeView<unknown>[] = [
      this.projectsFeature.view,
      this.datasetsFeature.view,
      this.experimentsView,
      this.models.view,
      this.containers.jobsView,
      this.containers.servicesView,
      this.targets.view,
    ];
    const startWhenShown = () => {
      if (views.some((v) => v.visible)) {
        this.statusBar.markStarted();
        void this.backend.start();
      }
    };
    views.forEach((v) => this._register(v.onDidChangeVisibility(startWhenShown)));
    startWhenShown();
    void vscode.commands.executeCommand('setContext', ContextKeys.hasHome, this.backend.home !== undefined);
    void vscode.commands.executeCommand('setContext', ContextKeys.backendState, this.backend.state.kind);
  }
}

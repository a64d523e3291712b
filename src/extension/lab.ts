import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { BackendLogView } from './backend/log-view';
import { BackendService } from './backend/backend-service';
import { Commands, ContextKeys, Views } from './common/commands';
import { Disposable } from './common/lifecycle';
import { registerCommand } from './common/register-command';
import { Ui } from './common/ui';
import type { DatasetsModel } from './datasets/datasets-model';
import type { DatasetsDropController } from './datasets/drop';
import type { DatasetPreview } from './datasets/preview/panel';
import { Datasets } from './datasets/register';
import type { DatasetsTree, DatasetNode } from './datasets/tree';
import { registerChartCommands } from './experiments/charts/commands';
import { MetricChartsPanel } from './experiments/charts/panel';
import { registerExperimentCommands } from './experiments/commands';
import { registerCompareCommand } from './experiments/compare/commands';
import { CompareTable } from './experiments/compare/panel';
import { ExperimentsModel } from './experiments/experiments-model';
import { IngestProgress } from './experiments/ingest-progress';
import { WaitingRuns } from './experiments/waiting-runs';
import { ExperimentDetailsPanels } from './experiments/details/panels';
import { RunNotifications } from './experiments/notifications';
import { ExperimentsTree, type ExperimentNode } from './experiments/tree';
import { RunTerminals } from './experiments/run-terminal';
import { configureTerminalEnvironment } from './backend/terminal-env';
import type { ProjectsModel } from './projects/projects-model';
import { Projects } from './projects/register';
import type { ProjectStatusBar } from './projects/status-bar';
import type { ProjectsTree } from './projects/tree';
import { Models } from './models/register';
import { Containers } from './containers/register';

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
 * Whether this window starts its backend at once: when its lab home exists. A folder without one
 * (the extension activates on every start, for the status bar) gets its backend, and its lab home,
 * only once the ML Lab views are opened or a command needs it.
 */
export function startsAtOnce(home: string | undefined): boolean {
  return home !== undefined && fs.existsSync(home);
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
  /** the Projects view, the active project and the status bar item */
  readonly projectsFeature: Projects;
  /** the Datasets view and the dataset preview */
  readonly datasetsFeature: Datasets;
  readonly experiments: ExperimentsModel;
  readonly experimentsTree: ExperimentsTree;
  readonly experimentsView: vscode.TreeView<ExperimentNode>;
  /** "Show Metric Charts": the selected runs' metrics, overlaid per key */
  readonly metricCharts: MetricChartsPanel;
  /** "Compare Experiments": every run of the project as a row */
  readonly compareTable: CompareTable;
  /** one details panel per experiment ("Show Experiment") */
  readonly experimentDetails: ExperimentDetailsPanels;
  /** the Models view */
  readonly models: Models;
  /** Jobs and Services views (Docker) */
  readonly containers: Containers;
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
      }),
    );
    this.projectsFeature = this._register(new Projects(this.backend, this.ui, startsAtOnce(this.backend.home)));
    const logView = this._register(new BackendLogView(() => this.backend.home));
    this.datasetsFeature = this._register(
      new Datasets(context.extensionUri, this.backend, this.projectsFeature.model, this.ui),
    );
    this.experiments = this._register(new ExperimentsModel(this.backend, this.projects));
    this.experimentsTree = this._register(new ExperimentsTree(this.experiments));
    // several runs can be selected: "Show Metric Charts" overlays them
    this.experimentsView = this._register(
      vscode.window.createTreeView(Views.experiments, {
        treeDataProvider: this.experimentsTree,
        canSelectMany: true,
      }),
    );
    this.metricCharts = this._register(new MetricChartsPanel(context.extensionUri, this.backend));
    registerChartCommands(this.experiments, this.metricCharts, this.ui, () => this.experimentsView.selection).forEach(
      (d) => this._register(d),
    );
    this.compareTable = this._register(
      new CompareTable(context.extensionUri, this.experiments, this.projects, this.backend),
    );
    this._register(registerCompareCommand(this.compareTable, this.ui, () => this.experimentsView.selection));
    this.terminalEnvironment = context.environmentVariableCollection;
    configureTerminalEnvironment(context.environmentVariableCollection, context.extensionPath, this.backend.home);
    this.runTerminals = this._register(
      new RunTerminals(
        () => this.backend.home,
        launcherFolder(context),
        path.join(context.extensionPath, 'dist', 'cli.js'),
        context.environmentVariableCollection,
      ),
    );
    registerExperimentCommands(
      this.backend,
      this.experiments,
      this.experimentsTree,
      this.ui,
      this.runTerminals,
      context.workspaceState,
    ).forEach((d) => this._register(d));
    this.experimentDetails = this._register(new ExperimentDetailsPanels(context.extensionUri, this.backend, this.ui));
    this._register(new RunNotifications(this.backend, this.ui));
    this._register(new WaitingRuns(this.backend));
    this._register(new IngestProgress(this.backend));
    this.models = this._register(new Models(context.extensionUri, this.backend, this.projects, this.ui));
    this.containers = this._register(new Containers(context.extensionUri, this.backend, this.projects, this.ui));
    this._register(registerCommand(Commands.showBackendLog, this.ui, () => logView.show()));
    this._register(registerCommand(Commands.restartBackend, this.ui, () => this.backend.restart()));

    this._register(
      this.backend.onDidChangeState((s) => {
        void vscode.commands.executeCommand('setContext', ContextKeys.backendState, s.kind);
        if (s.kind === 'failed') {
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

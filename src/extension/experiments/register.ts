import * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Disposable } from '../common/lifecycle';
import type { Ui } from '../common/ui';
import type { ProjectsModel } from '../projects/projects-model';
import { registerChartCommands } from './charts/commands';
import { MetricChartsPanel } from './charts/panel';
import { registerExperimentCommands } from './commands';
import { registerCompareCommand } from './compare/commands';
import { CompareTable } from './compare/panel';
import { ExperimentDetailsPanels } from './details/panels';
import { ExperimentsModel } from './experiments-model';
import { IngestProgress } from './ingest-progress';
import { RunNotifications } from './notifications';
import type { RunTerminals } from './run-terminal';
import { Sweeps } from './sweeps/register';
import { ExperimentsTree, type ExperimentNode } from './tree';
import { WaitingRuns } from './waiting-runs';

/**
 * The Experiments view of the active project, its model and commands, the parameter sweeps, the
 * metric charts, the compare table, the details panels, and the notices about runs (finished, waiting for the backlog, ingest progress).
 */
export class Experiments extends Disposable {
  readonly model: ExperimentsModel;
  readonly tree: ExperimentsTree;
  /** "Show Metric Charts": the selected runs' metrics, overlaid per key */
  readonly metricCharts: MetricChartsPanel;
  /** "Compare Experiments": every run of the project as a row */
  readonly compareTable: CompareTable;
  /** one details panel per experiment ("Show Experiment") */
  readonly details: ExperimentDetailsPanels;
  /** parameter sweeps: their group in the view, their pages and commands */
  readonly sweeps: Sweeps;

  constructor(
    extensionUri: vscode.Uri,
    backend: BackendService,
    projects: ProjectsModel,
    ui: Ui,
    terminals: RunTerminals,
    memento: vscode.Memento,
  ) {
    super();
    this.model = this._register(new ExperimentsModel(backend, projects));
    this.sweeps = this._register(new Sweeps(extensionUri, backend, projects, ui));
    this.tree = this._register(new ExperimentsTree(this.model, this.sweeps.treePart));
    const selection = () => this.view.selection;
    this.metricCharts = this._register(new MetricChartsPanel(extensionUri, backend));
    registerChartCommands(this.model, this.metricCharts, ui, selection).forEach((d) => this._register(d));
    this.compareTable = this._register(new CompareTable(extensionUri, this.model, projects, backend));
    this._register(registerCompareCommand(this.compareTable, ui, selection));
    this.sweeps.registerCommands(this.compareTable);
    registerExperimentCommands(backend, this.model, this.tree, ui, terminals, memento).forEach((d) =>
      this._register(d),
    );
    this.details = this._register(new ExperimentDetailsPanels(extensionUri, backend, ui));
    this._register(new RunNotifications(backend, ui));
    this._register(new WaitingRuns(backend));
    this._register(new IngestProgress(backend));
  }

  get view(): vscode.TreeView<ExperimentNode> {
    return this.tree.view;
  }
}

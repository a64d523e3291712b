import type * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { DockerStatusModel } from '../docker/docker-status';
import type { LogChannels } from '../docker/log-channels';
import type { ProjectsModel } from '../projects/projects-model';
import { jobPicker, registerJobCommands } from './commands';
import { JobsModel } from './jobs-model';
import type { PipelineGraphPanel } from './pipeline/panel';
import { registerPipelineGraph } from './pipeline/register';
import { registerScheduleCommands } from './schedule-commands';
import { JobsTree, type JobNode } from './tree';

/** The Jobs view of the active project, its model, the pipeline graph and the job and schedule commands. */
export class Jobs extends Disposable {
  readonly model: JobsModel;
  readonly tree: JobsTree;
  /** "Show Pipeline": the jobs as a graph */
  readonly pipelineGraph: PipelineGraphPanel;

  constructor(
    extensionUri: vscode.Uri,
    backend: BackendService,
    projects: ProjectsModel,
    docker: DockerStatusModel,
    logs: LogChannels,
    ui: Ui,
  ) {
    super();
    const graph = registerPipelineGraph({ extensionUri, backend, ui });
    this.pipelineGraph = graph.panel;
    graph.disposables.forEach((d) => this._register(d));
    this.model = this._register(new JobsModel(backend, projects));
    this.tree = this._register(new JobsTree(this.model, docker, backend));
    const jobs = () => this.model.items;
    [
      ...registerJobCommands({ backend, ui, logs, jobs }),
      ...registerScheduleCommands({ backend, ui, jobs, pickJob: jobPicker(ui, jobs) }),
      registerCommand(Commands.refreshJobs, ui, () => this.model.refresh()),
    ].forEach((d) => this._register(d));
  }

  get view(): vscode.TreeView<JobNode> {
    return this.tree.view;
  }
}

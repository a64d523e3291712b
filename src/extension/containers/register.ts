import * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import { jobPicker, registerJobCommands } from '../jobs/commands';
import { registerScheduleCommands } from '../jobs/schedule-commands';
import type { PipelineGraphPanel } from '../jobs/pipeline/panel';
import { registerPipelineGraph } from '../jobs/pipeline/register';
import { JobsModel } from '../jobs/jobs-model';
import { JobsTree, type JobNode } from '../jobs/tree';
import type { ProjectsModel } from '../projects/projects-model';
import { registerServiceCommands } from '../services/commands';
import { ServicesModel } from '../services/services-model';
import { ServicesTree, type ServiceNode } from '../services/tree';
import { DockerStatusModel } from './docker-status';
import { offerOrphanCleanup, registerImageCommands } from './images';
import { LogChannels } from './log-channels';

/** Jobs and Services: what runs in Docker. Views, their models and commands, and the Docker status. */
export class Containers extends Disposable {
  readonly docker: DockerStatusModel;
  readonly jobs: JobsModel;
  readonly jobsTree: JobsTree;
  readonly jobsView: vscode.TreeView<JobNode>;
  readonly services: ServicesModel;
  readonly servicesTree: ServicesTree;
  readonly servicesView: vscode.TreeView<ServiceNode>;
  readonly logs = this._register(new LogChannels());
  /** "Show Pipeline": the jobs as a graph */
  readonly pipelineGraph: PipelineGraphPanel;

  constructor(extensionUri: vscode.Uri, backend: BackendService, projects: ProjectsModel, ui: Ui) {
    super();
    const graph = registerPipelineGraph({ extensionUri, backend, ui });
    this.pipelineGraph = graph.panel;
    graph.disposables.forEach((d) => this._register(d));
    this.docker = this._register(new DockerStatusModel(backend));
    this.jobs = this._register(new JobsModel(backend, projects));
    this.jobsTree = this._register(new JobsTree(this.jobs, this.docker, backend));
    this.jobsView = this._register(vscode.window.createTreeView('mllab.jobs', { treeDataProvider: this.jobsTree }));
    this.services = this._register(new ServicesModel(backend, projects));
    this.servicesTree = this._register(new ServicesTree(this.services, this.docker));
    this.servicesView = this._register(
      vscode.window.createTreeView('mllab.services', { treeDataProvider: this.servicesTree }),
    );
    const logs = this.logs;
    [
      ...registerJobCommands({ backend, ui, logs, jobs: () => this.jobs.items }),
      ...registerScheduleCommands({
        backend,
        ui,
        jobs: () => this.jobs.items,
        pickJob: jobPicker(ui, () => this.jobs.items),
      }),
      ...registerImageCommands(backend, ui, this._register(vscode.window.createOutputChannel('ML Lab: Image Builds'))),
      ...registerServiceCommands({ backend, ui, logs, services: () => this.services.items }),
      registerCommand(Commands.refreshJobs, ui, () => this.jobs.refresh()),
      registerCommand(Commands.refreshServices, ui, () => this.services.refresh()),
      registerCommand(Commands.retryDocker, ui, async () => {
        const status = await this.docker.retry();
        if (!status.available) {
          void ui.error(`ML Lab: ${status.message}`, 'Retry').then((choice) => {
            if (choice === 'Retry') {
              void vscode.commands.executeCommand(Commands.retryDocker);
            }
          });
        }
        return status;
      }),
    ].forEach((d) => this._register(d));
    // once per connection with Docker available: containers left by deleted projects, jobs or services
    let offered = false;
    this._register(
      this.docker.onDidChange(() => {
        if (this.docker.status?.available && !offered) {
          offered = true;
          offerOrphanCleanup(backend, ui).catch(() => undefined);
        }
      }),
    );
  }
}

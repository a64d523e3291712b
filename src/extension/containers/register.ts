import type * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Disposable } from '../common/lifecycle';
import type { Ui } from '../common/ui';
import type { DockerStatusModel } from '../docker/docker-status';
import type { LogChannels } from '../docker/log-channels';
import { Docker } from '../docker/register';
import type { PipelineGraphPanel } from '../jobs/pipeline/panel';
import type { JobsModel } from '../jobs/jobs-model';
import { Jobs } from '../jobs/register';
import type { JobNode, JobsTree } from '../jobs/tree';
import type { ProjectsModel } from '../projects/projects-model';
import { Services } from '../services/register';
import type { ServicesModel } from '../services/services-model';
import type { ServiceNode, ServicesTree } from '../services/tree';

/**
 * Jobs and Services: what runs in Docker. The two features share only what is in docker/ (its status,
 * log channels, images) and know nothing of each other; this puts them together.
 */
export class Containers extends Disposable {
  readonly dockerFeature: Docker;
  readonly jobsFeature: Jobs;
  readonly servicesFeature: Services;

  constructor(extensionUri: vscode.Uri, backend: BackendService, projects: ProjectsModel, ui: Ui) {
    super();
    this.dockerFeature = this._register(new Docker(backend, ui));
    const { status, logs } = this.dockerFeature;
    this.jobsFeature = this._register(new Jobs(extensionUri, backend, projects, status, logs, ui));
    this.servicesFeature = this._register(new Services(backend, projects, status, logs, ui));
  }

  get docker(): DockerStatusModel {
    return this.dockerFeature.status;
  }
  get logs(): LogChannels {
    return this.dockerFeature.logs;
  }
  get jobs(): JobsModel {
    return this.jobsFeature.model;
  }
  get jobsTree(): JobsTree {
    return this.jobsFeature.tree;
  }
  get jobsView(): vscode.TreeView<JobNode> {
    return this.jobsFeature.view;
  }
  /** "Show Pipeline": the jobs as a graph */
  get pipelineGraph(): PipelineGraphPanel {
    return this.jobsFeature.pipelineGraph;
  }
  get services(): ServicesModel {
    return this.servicesFeature.model;
  }
  get servicesTree(): ServicesTree {
    return this.servicesFeature.tree;
  }
  get servicesView(): vscode.TreeView<ServiceNode> {
    return this.servicesFeature.view;
  }
}

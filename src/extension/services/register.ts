import type * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { DockerStatusModel } from '../docker/docker-status';
import type { LogChannels } from '../docker/log-channels';
import type { ProjectsModel } from '../projects/projects-model';
import { registerServiceCommands } from './commands';
import { ServicesModel } from './services-model';
import { ServicesTree, type ServiceNode } from './tree';

/** The Services view of the active project, its model and the service commands. */
export class Services extends Disposable {
  readonly model: ServicesModel;
  readonly tree: ServicesTree;

  constructor(backend: BackendService, projects: ProjectsModel, docker: DockerStatusModel, logs: LogChannels, ui: Ui) {
    super();
    this.model = this._register(new ServicesModel(backend, projects));
    this.tree = this._register(new ServicesTree(this.model, docker));
    [
      ...registerServiceCommands({ backend, ui, logs, services: () => this.model.items }),
      registerCommand(Commands.refreshServices, ui, () => this.model.refresh()),
    ].forEach((d) => this._register(d));
  }

  get view(): vscode.TreeView<ServiceNode> {
    return this.tree.view;
  }
}

import * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { ProjectsModel } from '../projects/projects-model';
import { registerModelCommands } from './commands';
import { ModelsModel } from './models-model';
import type { ModelNode } from './nodes';
import { ModelsTree } from './tree';
import { registerModelWebviews } from './webviews';

/** The Models view, its model and its commands. */
export class Models extends Disposable {
  readonly model: ModelsModel;
  readonly tree: ModelsTree;
  readonly view: vscode.TreeView<ModelNode>;
  /** the model card and the prediction playground */
  readonly webviews: ReturnType<typeof registerModelWebviews>;

  constructor(extensionUri: vscode.Uri, backend: BackendService, projects: ProjectsModel, ui: Ui) {
    super();
    this.model = this._register(new ModelsModel(backend, projects));
    this.tree = this._register(new ModelsTree(this.model));
    this.view = this.tree.view;
    this.webviews = registerModelWebviews({ extensionUri, backend, ui });
    [
      ...this.webviews.disposables,
      ...registerModelCommands({ backend, ui, models: () => this.model.items }),
      registerCommand(Commands.refreshModels, ui, () => this.model.refresh()),
    ].forEach((d) => this._register(d));
  }
}

import type * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Disposable } from '../common/lifecycle';
import type { Ui } from '../common/ui';
import type { ProjectsModel } from '../projects/projects-model';
import { registerTargetCommands } from './commands';
import { TargetsModel } from './targets-model';
import { TargetsTree, type TargetTreeNode } from './tree';

/** The Targets view (engines and clusters, their nodes, what runs there), its model and commands. */
export class Targets extends Disposable {
  readonly model: TargetsModel;
  readonly tree: TargetsTree;

  constructor(backend: BackendService, projects: ProjectsModel, ui: Ui) {
    super();
    this.model = this._register(new TargetsModel(backend, projects));
    this.tree = this._register(new TargetsTree(this.model));
    registerTargetCommands({ backend, ui, projects, model: this.model }).forEach((d) => this._register(d));
  }

  get view(): vscode.TreeView<TargetTreeNode> {
    return this.tree.view;
  }
}

import type * as vscode from 'vscode';
import type { Project } from '../../protocol/api';
import type { BackendService } from '../backend/backend-service';
import { Disposable } from '../common/lifecycle';
import type { Ui } from '../common/ui';
import { registerProjectCommands } from './commands';
import { ProjectsModel } from './projects-model';
import { ProjectStatusBar } from './status-bar';
import { ProjectsTree } from './tree';

/** The Projects view, the active project (its model, read by every other view), the status bar item and the commands. */
export class Projects extends Disposable {
  readonly model: ProjectsModel;
  readonly tree: ProjectsTree;
  readonly statusBar: ProjectStatusBar;

  /** `startsAtOnce`: whether the backend starts with the window (the status bar says so until then) */
  constructor(backend: BackendService, ui: Ui, startsAtOnce: boolean) {
    super();
    this.model = this._register(new ProjectsModel(backend));
    this.tree = this._register(new ProjectsTree(this.model, backend));
    this.statusBar = this._register(new ProjectStatusBar(backend, this.model, startsAtOnce));
    registerProjectCommands(backend, this.model, ui, () => this.view.selection[0]).forEach((d) => this._register(d));
  }

  get view(): vscode.TreeView<Project> {
    return this.tree.view;
  }
}

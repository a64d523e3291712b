import * as vscode from 'vscode';
import type { Project } from '../../protocol/api';
import type { BackendService } from '../backend/backend-service';
import { Views } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import type { ProjectsModel } from './projects-model';

/** The Projects view: one item per project; the active one is marked and sorted as the others. */
export class ProjectsTree extends Disposable implements vscode.TreeDataProvider<Project> {
  /** redrawn whenever the model changes */
  readonly onDidChangeTreeData: vscode.Event<void>;
  readonly view: vscode.TreeView<Project>;

  constructor(
    private readonly model: ProjectsModel,
    private readonly backend: BackendService,
  ) {
    super();
    this.onDidChangeTreeData = model.onDidChange;
    this.view = this._register(vscode.window.createTreeView(Views.projects, { treeDataProvider: this }));
  }

  getChildren(element?: Project): Project[] {
    // empty while not connected: the view's welcome content explains the backend state instead
    return element || this.backend.state.kind !== 'connected' ? [] : [...this.model.projects];
  }

  getTreeItem(project: Project): vscode.TreeItem {
    const active = this.model.activeProject?.id === project.id;
    const item = new vscode.TreeItem(project.name, vscode.TreeItemCollapsibleState.None);
    item.id = project.id;
    item.contextValue = active ? 'activeProject' : 'project';
    item.iconPath = new vscode.ThemeIcon(active ? 'pass-filled' : 'folder-library');
    item.description = active ? 'active' : undefined;
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${escape(project.name)}**${active ? ' (active)' : ''}\n\n`);
    if (project.description) {
      tooltip.appendText(project.description + '\n\n');
    }
    tooltip.appendMarkdown(`Created ${new Date(project.createdAt).toLocaleString()}  \nId \`${project.id}\``);
    item.tooltip = tooltip;
    item.accessibilityInformation = { label: `Project ${project.name}${active ? ', active' : ''}` };
    return item;
  }
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|]/g, '\\$&');
}

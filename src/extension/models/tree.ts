import * as vscode from 'vscode';
import type { Model, ModelVersion } from '../../protocol/models';
import { Commands, Views } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import type { ModelsModel } from './models-model';
import type { ModelNode } from './nodes';

function size(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

function aliasText(model: Model): string {
  return Object.entries(model.aliases)
    .map(([alias, v]) => `${alias}→v${v}`)
    .join(' ');
}

/** The Models view: each model with its aliases, expanding to its versions (newest first) and their lineage. */
export class ModelsTree extends Disposable implements vscode.TreeDataProvider<ModelNode> {
  /** redrawn whenever the model changes */
  readonly onDidChangeTreeData: vscode.Event<void>;
  readonly view: vscode.TreeView<ModelNode>;

  constructor(private readonly model: ModelsModel) {
    super();
    this.onDidChangeTreeData = model.onDidChange;
    this.view = this._register(vscode.window.createTreeView(Views.models, { treeDataProvider: this }));
  }

  getChildren(node?: ModelNode): ModelNode[] {
    if (!node) {
      return this.model.items.map((model) => ({ kind: 'model', model }));
    }
    if (node.kind === 'model') {
      return [...node.model.versions].reverse().map((version) => ({ kind: 'version', model: node.model, version }));
    }
    return [];
  }

  getTreeItem(node: ModelNode): vscode.TreeItem {
    if (node.kind === 'model') {
      const { model } = node;
      const item = new vscode.TreeItem(model.name, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = `model:${model.id}`;
      item.iconPath = new vscode.ThemeIcon('package');
      const latest = model.versions[model.versions.length - 1];
      item.description = [latest ? `v${latest.version}` : 'no versions', aliasText(model)].filter(Boolean).join(' · ');
      item.tooltip = new vscode.MarkdownString(
        `**${model.name}**${model.description ? `\n\n${model.description}` : ''}\n\n${model.versions.length} version(s)${
          aliasText(model) ? `; aliases ${aliasText(model)}` : ''
        }`,
      );
      item.contextValue = 'model';
      return item;
    }
    return this.versionItem(node.model, node.version);
  }

  private versionItem(model: Model, v: ModelVersion): vscode.TreeItem {
    const item = new vscode.TreeItem(`v${v.version}`);
    item.id = `model-version:${v.id}`;
    item.iconPath = new vscode.ThemeIcon(v.aliases.length > 0 ? 'tag' : 'versions');
    item.description = [
      v.aliases.join(', '),
      new Date(v.createdAt).toLocaleString(),
      size(v.size),
      v.experimentId ? `from ${v.experimentId}` : '',
    ]
      .filter((s) => s.length > 0)
      .join(' · ');
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${model.name} v${v.version}**\n\n`);
    tooltip.appendText(
      [
        `file: ${v.fileName} (${size(v.size)})`,
        `sha256: ${v.sha256}`,
        `loader: ${v.entryPoint ? `entry point ${v.entryPoint}` : 'pickle'}`,
        `registered ${new Date(v.createdAt).toLocaleString()} by ${v.operator}`,
        v.experimentId ? `experiment: ${v.experimentId}` : 'not from an experiment',
        v.aliases.length > 0 ? `aliases: ${v.aliases.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
    item.tooltip = tooltip;
    item.contextValue = v.experimentId ? 'modelVersion withExperiment' : 'modelVersion';
    item.command = {
      command: Commands.showModelCard,
      title: 'Show Model Card',
      arguments: [{ kind: 'version', model, version: v }],
    };
    return item;
  }
}

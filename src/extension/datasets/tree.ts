import * as vscode from 'vscode';
import type { Dataset, DatasetVersion } from '../../protocol/datasets';
import { Commands, Views } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import type { DatasetsModel } from './datasets-model';
import { formatBytes, formatShortDate, kindOf, latestOf, refOf, versionDetails } from './format';

/** An element of the Datasets view: the plain DTOs, so commands receive them as their target. */
export type DatasetNode = Dataset | DatasetVersion;

export function isVersion(node: unknown): node is DatasetVersion {
  return typeof node === 'object' && node !== null && 'sha256' in node && 'datasetId' in node;
}

export function isDataset(node: unknown): node is Dataset {
  return typeof node === 'object' && node !== null && 'versions' in node && Array.isArray(node.versions);
}

/** The Datasets view: dataset -> versions (newest first) of the active project. */
export class DatasetsTree extends Disposable implements vscode.TreeDataProvider<DatasetNode> {
  /** redrawn whenever the model changes */
  readonly onDidChangeTreeData: vscode.Event<void>;
  readonly view: vscode.TreeView<DatasetNode>;

  constructor(
    private readonly model: DatasetsModel,
    dragAndDropController: vscode.TreeDragAndDropController<DatasetNode>,
  ) {
    super();
    this.onDidChangeTreeData = model.onDidChange;
    this.view = this._register(
      vscode.window.createTreeView(Views.datasets, { treeDataProvider: this, dragAndDropController }),
    );
  }

  getChildren(element?: DatasetNode): DatasetNode[] {
    if (!element) {
      return [...this.model.datasets];
    }
    return isDataset(element) ? [...element.versions].reverse() : [];
  }

  getParent(element: DatasetNode): DatasetNode | undefined {
    return isVersion(element) ? this.model.datasetOf(element) : undefined;
  }

  getTreeItem(element: DatasetNode): vscode.TreeItem {
    return isVersion(element) ? versionItem(element) : datasetItem(element);
  }
}

function datasetItem(dataset: Dataset): vscode.TreeItem {
  const item = new vscode.TreeItem(dataset.name, vscode.TreeItemCollapsibleState.Collapsed);
  const latest = latestOf(dataset);
  item.id = dataset.id;
  item.contextValue = 'dataset';
  item.iconPath = new vscode.ThemeIcon('database');
  item.description = latest ? `v${latest.version} · ${formatBytes(latest.size)}` : undefined;
  const count = dataset.versions.length;
  item.tooltip = new vscode.MarkdownString(
    `**${escape(dataset.name)}** — ${count} version${count === 1 ? '' : 's'}, latest v${latest?.version ?? '-'}\n\n` +
      `Created ${new Date(dataset.createdAt).toLocaleString()}`,
  );
  item.accessibilityInformation = { label: `Dataset ${dataset.name}, ${count} versions` };
  // a click shows the data (the latest version); the twistie still lists the versions
  if (latest) {
    item.command = { command: Commands.previewDataset, title: 'Preview Latest Version', arguments: [latest] };
  }
  return item;
}

function versionItem(version: DatasetVersion): vscode.TreeItem {
  const item = new vscode.TreeItem(`v${version.version}`, vscode.TreeItemCollapsibleState.None);
  const pkg = version.kind === 'package';
  item.id = version.id;
  item.contextValue = pkg ? 'datasetVersionPackage' : 'datasetVersionFile';
  item.iconPath = new vscode.ThemeIcon(pkg ? 'file-zip' : 'file');
  item.description = `${formatBytes(version.size)} · ${kindOf(version)} · ${formatShortDate(version.createdAt)}`;
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${escape(refOf(version))}**\n\n`);
  for (const field of versionDetails(version)) {
    tooltip.appendMarkdown(`${field.label}: `);
    if (field.monospace) {
      tooltip.appendMarkdown(`\`${field.value.replace(/`/g, "'")}\``);
    } else {
      tooltip.appendText(field.value);
    }
    tooltip.appendMarkdown('  \n');
  }
  item.tooltip = tooltip;
  item.command = { command: Commands.previewDataset, title: 'Preview', arguments: [version] };
  item.accessibilityInformation = {
    label: `${refOf(version)}, ${formatBytes(version.size)}, ${kindOf(version)}`,
  };
  return item;
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}

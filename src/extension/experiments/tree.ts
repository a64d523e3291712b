import * as vscode from 'vscode';
import type { Experiment, RunStatus } from '../../protocol/experiments';
import { Commands, Views } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import type { ExperimentsModel } from './experiments-model';
import { formatDuration } from '../../protocol/number-format';
import { metricTooltipLine, runRows, type Grouping, type RunRowText } from './labels';
import { isSweepTreeNode, type SweepsTreePart, type SweepTreeNode } from './sweeps/tree';
import {
  PAGE_SIZE,
  ROOT_KEY,
  expandedGroups,
  formatCount,
  groupDescription,
  groupKey,
  groupKeyOf,
  groupNameOf,
  groupPage,
  groupRuns,
  moreLabel,
  rootPage,
  shownToInclude,
  type MoreRuns,
  type RunGroup,
  type RunGroups,
} from './tree-pages';

export type { Grouping };

/**
 * A group of runs with the same name (or status), the "Show more" row after a group's page, one run,
 * or a node of the sweeps at the top (the group, a sweep, a trial).
 */
export type ExperimentNode = RunGroup | MoreRuns | Experiment | SweepTreeNode;

const STATUS_ICONS: Record<RunStatus, vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('loading~spin'),
  completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  interrupted: new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('testing.iconSkipped')),
};

function isGroup(node: ExperimentNode): node is RunGroup {
  return 'kind' in node && node.kind === 'group';
}

function isMore(node: ExperimentNode): node is MoreRuns {
  return 'kind' in node && node.kind === 'more';
}

/**
 * The Experiments view: runs grouped by name, newest first, with live status, duration and key
 * metrics. The top level lists a page of 200 groups and a group a page of its newest runs, each with
 * a "Show 200 more" row; only the first groups open expanded, a group's rows are built only when it
 * is expanded and a run's tooltip only on hover, so 100,000 runs open as fast as 1,000.
 */
export class ExperimentsTree extends Disposable implements vscode.TreeDataProvider<ExperimentNode> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;
  /** several runs can be selected: "Show Metric Charts" overlays them */
  readonly view: vscode.TreeView<ExperimentNode>;

  private grouping: Grouping = 'name';
  /** the model's runs grouped, built on first use after each change */
  private groups: RunGroups | undefined;
  /** the groups of the top level's page that open expanded (by group key) */
  private expanded: Set<string> | undefined;
  /** how many runs each group shows (by group key; ROOT_KEY: how many groups the top level shows),
   * kept across reloads; PAGE_SIZE when absent */
  private readonly shown = new Map<string, number>();
  /** each shown run's row text, judged against the runs of its page (refreshed by getChildren) */
  private rows = new Map<string, RunRowText>();

  constructor(
    private readonly model: ExperimentsModel,
    /** the "Sweeps" group listed above the runs */
    private readonly sweeps?: SweepsTreePart,
  ) {
    super();
    if (sweeps) {
      this._register(sweeps.onDidChange(() => this._onDidChangeTreeData.fire()));
    }
    this._register(
      model.onDidChange(() => {
        this.groups = undefined;
        this.expanded = undefined;
        this._onDidChangeTreeData.fire();
      }),
    );
    this.view = this._register(
      vscode.window.createTreeView(Views.experiments, { treeDataProvider: this, canSelectMany: true }),
    );
  }

  /** Switches between grouping runs by name and by status. */
  toggleGrouping(): Grouping {
    this.grouping = this.grouping === 'name' ? 'status' : 'name';
    this.groups = undefined;
    this.expanded = undefined;
    this._onDidChangeTreeData.fire();
    return this.grouping;
  }

  /** Shows the next page of a group's runs, or of the groups (the "Show more" rows). */
  showMore(more: MoreRuns): void {
    this.shown.set(more.group, Math.max(this.shownOf(more.group), more.shown) + PAGE_SIZE);
    if (more.group === ROOT_KEY) {
      this.expanded = undefined;
    }
    this._onDidChangeTreeData.fire();
  }

  getChildren(node?: ExperimentNode): ExperimentNode[] {
    if (node && isSweepTreeNode(node)) {
      return this.sweeps?.children(node) ?? [];
    }
    if (node) {
      if (!isGroup(node)) {
        return [];
      }
      const group = this.currentGroups().get(node.name) ?? node;
      const page = groupPage(group, this.shownOf(groupKey(group.by, group.name)));
      // runs are told apart among those shown with them: the group's page
      for (const [id, row] of runRows(page.runs, group.by)) {
        this.rows.set(id, row);
      }
      return page.more ? [...page.runs, page.more] : [...page.runs];
    }
    this.rows = new Map();
    const page = rootPage(this.currentGroups(), this.shownOf(ROOT_KEY));
    this.expanded = expandedGroups(page.groups);
    const sweeps = this.sweeps?.roots() ?? [];
    return page.more ? [...sweeps, ...page.groups, page.more] : [...sweeps, ...page.groups];
  }

  /**
   * The group a run is listed in (lets the view reveal and select a run, beyond the first page of
   * its group, and in a group beyond the first page of groups).
   */
  getParent(node: ExperimentNode): ExperimentNode | undefined {
    if (isSweepTreeNode(node)) {
      return this.sweeps?.parent(node);
    }
    if (isGroup(node)) {
      this.include(ROOT_KEY, this.currentGroups().names, (name) => node.by === this.grouping && name === node.name);
      return undefined;
    }
    if (isMore(node) && node.group === ROOT_KEY) {
      return undefined;
    }
    const key = isMore(node) ? node.group : groupKeyOf(node, this.grouping);
    const group = isMore(node)
      ? key.startsWith(`${this.grouping}:`)
        ? this.currentGroups().get(key.slice(this.grouping.length + 1))
        : undefined
      : this.currentGroups().get(groupNameOf(node, this.grouping));
    if (group) {
      this.include(ROOT_KEY, this.currentGroups().names, (name) => name === group.name);
      if (!isMore(node)) {
        this.include(key, group.runs, (r) => r.id === node.id);
      }
    }
    return group;
  }

  /** Grows the page `key` shows of `all` to hold the first item that `is`. */
  private include<T>(key: string, all: readonly T[], is: (item: T) => boolean): void {
    const index = all.findIndex(is);
    const shown = this.shownOf(key);
    if (index >= shown) {
      this.shown.set(key, shownToInclude(index, shown));
      this._onDidChangeTreeData.fire();
    }
  }

  /** A run's row text: the label that tells it apart, its status, key metrics, duration and start. */
  rowText(run: Experiment): RunRowText {
    let row = this.rows.get(run.id);
    if (!row) {
      const key = groupKeyOf(run, this.grouping);
      const group = this.currentGroups().get(groupNameOf(run, this.grouping));
      const page = group ? groupPage(group, this.shownOf(key)).runs : [];
      row = runRows(page.some((e) => e.id === run.id) ? page : [run], this.grouping).get(run.id)!;
    }
    return row;
  }

  getTreeItem(node: ExperimentNode): vscode.TreeItem {
    if (isSweepTreeNode(node)) {
      return this.sweeps!.treeItem(node);
    }
    if (isGroup(node)) {
      const key = groupKey(node.by, node.name);
      const expanded = (this.expanded ??= expandedGroups(
        rootPage(this.currentGroups(), this.shownOf(ROOT_KEY)).groups,
      ));
      const item = new vscode.TreeItem(
        node.name,
        expanded.has(key) ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
      );
      item.id = `group:${node.by}:${node.name}`;
      item.iconPath = node.by === 'status' ? STATUS_ICONS[node.name as RunStatus] : new vscode.ThemeIcon('beaker');
      item.description = groupDescription(node);
      item.contextValue = 'experimentGroup';
      return item;
    }
    if (isMore(node)) {
      const item = new vscode.TreeItem(moreLabel(node), vscode.TreeItemCollapsibleState.None);
      item.id = `more:${node.group}`;
      item.iconPath = new vscode.ThemeIcon('ellipsis');
      item.contextValue = 'experimentsMore';
      item.tooltip =
        node.group === ROOT_KEY
          ? `${formatCount(node.shown)} groups shown, newest run first`
          : `${formatCount(node.shown)} runs shown, newest first`;
      item.command = { command: Commands.showMoreExperiments, title: 'Show More Runs', arguments: [node] };
      return item;
    }
    const row = this.rowText(node);
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.iconPath = STATUS_ICONS[node.status];
    item.description = row.description;
    item.contextValue = node.status === 'running' ? 'runningExperiment' : 'experiment';
    item.command = { command: Commands.showExperiment, title: 'Show Experiment', arguments: [node] };
    return item;
  }

  /** A run's tooltip, built when the pointer rests on its row (100,000 Markdown tooltips cost seconds). */
  resolveTreeItem(item: vscode.TreeItem, node: ExperimentNode): vscode.TreeItem {
    if (!isGroup(node) && !isMore(node) && !isSweepTreeNode(node)) {
      item.tooltip = runTooltip(node);
    }
    return item;
  }

  private currentGroups(): RunGroups {
    this.groups ??= groupRuns(this.model.items, this.grouping);
    return this.groups;
  }

  private shownOf(key: string): number {
    return this.shown.get(key) ?? PAGE_SIZE;
  }
}

/** A run's tooltip: name, id, status, exit code, start, operator, duration, params and metrics. */
export function runTooltip(node: Experiment): vscode.MarkdownString {
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${node.name}** \`${node.id}\` — ${node.status}`);
  if (node.exitCode !== null) {
    tooltip.appendMarkdown(`, exit code ${node.exitCode}`);
  }
  tooltip.appendMarkdown(`\n\nStarted ${new Date(node.startedAt).toLocaleString()} by ${node.operator}`);
  if (node.durationMs !== null) {
    tooltip.appendMarkdown(`, ran ${formatDuration(node.durationMs)}`);
  }
  if (Object.keys(node.params).length > 0) {
    tooltip.appendMarkdown('\n\n**Params**\n');
    for (const [k, v] of Object.entries(node.params)) {
      tooltip.appendText(`\n${k} = ${JSON.stringify(v)}`);
    }
  }
  if (node.metrics.length > 0) {
    tooltip.appendMarkdown('\n\n**Metrics** (last · min · max · count)\n');
    for (const m of node.metrics) {
      tooltip.appendText(`\n${metricTooltipLine(m)}`);
    }
  }
  return tooltip;
}

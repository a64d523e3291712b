import * as vscode from 'vscode';
import type { Experiment, RunStatus } from '../../protocol/experiments';
import { Disposable } from '../common/lifecycle';
import type { ExperimentsModel } from './experiments-model';
import { formatDuration, metricTooltipLine, runRows, type Grouping, type RunRowText } from './labels';

export type { Grouping };

/** A group of runs with the same name (or status), or one run. */
export type ExperimentNode =
  | { readonly kind: 'group'; readonly name: string; readonly by: Grouping; readonly runs: readonly Experiment[] }
  | Experiment;

const STATUS_ICONS: Record<RunStatus, vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('loading~spin'),
  completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  interrupted: new vscode.ThemeIcon('circle-slash', new vscode.ThemeColor('testing.iconSkipped')),
};

function isGroup(node: ExperimentNode): node is Extract<ExperimentNode, { kind: 'group' }> {
  return 'kind' in node && node.kind === 'group';
}

/** The Experiments view: runs grouped by name, newest first, with live status, duration and key metrics. */
export class ExperimentsTree extends Disposable implements vscode.TreeDataProvider<ExperimentNode> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;

  private grouping: Grouping = 'name';
  /** each run's row text, judged against the runs it is listed with (refreshed by getChildren) */
  private rows = new Map<string, RunRowText>();

  constructor(private readonly model: ExperimentsModel) {
    super();
    this._register(model.onDidChange(() => this._onDidChangeTreeData.fire()));
  }

  /** Switches between grouping runs by name and by status. */
  toggleGrouping(): Grouping {
    this.grouping = this.grouping === 'name' ? 'status' : 'name';
    this._onDidChangeTreeData.fire();
    return this.grouping;
  }

  getChildren(node?: ExperimentNode): ExperimentNode[] {
    if (node) {
      if (!isGroup(node)) {
        return [];
      }
      // runs of one name are told apart among themselves; grouped by status, among all runs
      const rows = runRows(node.by === 'name' ? node.runs : this.model.items, node.by);
      for (const run of node.runs) {
        this.rows.set(run.id, rows.get(run.id)!);
      }
      return [...node.runs];
    }
    const by = this.grouping;
    const groups = new Map<string, Experiment[]>();
    for (const e of this.model.items) {
      const key = by === 'name' ? e.name : e.status;
      let group = groups.get(key);
      if (!group) {
        group = [];
        groups.set(key, group);
      }
      group.push(e);
    }
    this.rows = new Map();
    return [...groups].map(([name, runs]) => ({ kind: 'group', name, by, runs }));
  }

  /** The group a run is listed in (lets the view reveal and select a run). */
  getParent(node: ExperimentNode): ExperimentNode | undefined {
    if (isGroup(node)) {
      return undefined;
    }
    return this.getChildren().find((g) => isGroup(g) && g.runs.some((r) => r.id === node.id));
  }

  /** A run's row text: the label that tells it apart, its status, key metrics, duration and start. */
  rowText(run: Experiment): RunRowText {
    let row = this.rows.get(run.id);
    if (!row) {
      const by = this.grouping;
      const among = this.model.items.filter((e) => by === 'status' || e.name === run.name);
      row = runRows(among.some((e) => e.id === run.id) ? among : [run], by).get(run.id)!;
    }
    return row;
  }

  getTreeItem(node: ExperimentNode): vscode.TreeItem {
    if (isGroup(node)) {
      const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `group:${node.by}:${node.name}`;
      item.iconPath = node.by === 'status' ? STATUS_ICONS[node.name as RunStatus] : new vscode.ThemeIcon('beaker');
      const running = node.runs.filter((r) => r.status === 'running').length;
      item.description = `${node.runs.length} run${node.runs.length === 1 ? '' : 's'}${running ? `, ${running} running` : ''}`;
      item.contextValue = 'experimentGroup';
      return item;
    }
    const row = this.rowText(node);
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = node.id;
    item.iconPath = STATUS_ICONS[node.status];
    item.description = row.description;
    item.contextValue = node.status === 'running' ? 'runningExperiment' : 'experiment';
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
    item.tooltip = tooltip;
    item.command = { command: 'mllab.experiment.show', title: 'Show Experiment', arguments: [node] };
    return item;
  }
}

import * as vscode from 'vscode';
import type { Experiment, MetricSummary, RunStatus } from '../../protocol/experiments';
import { Disposable } from '../common/lifecycle';
import type { ExperimentsModel } from './experiments-model';

export type Grouping = 'name' | 'status';

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

export function formatDuration(ms: number | null): string {
  if (ms === null) {
    return '';
  }
  const s = ms / 1000;
  return s < 60
    ? `${s.toFixed(1)} s`
    : s < 3600
      ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
      : `${(s / 3600).toFixed(1)} h`;
}

export function formatMetric(m: MetricSummary): string {
  const v = typeof m.lastRaw === 'number' ? Number(m.lastRaw.toPrecision(4)) : m.lastRaw;
  return `${m.key} ${v}`;
}

function isGroup(node: ExperimentNode): node is Extract<ExperimentNode, { kind: 'group' }> {
  return 'kind' in node && node.kind === 'group';
}

/** The Experiments view: runs grouped by name, newest first, with live status, duration and key metrics. */
export class ExperimentsTree extends Disposable implements vscode.TreeDataProvider<ExperimentNode> {
  private readonly _onDidChangeTreeData = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this._onDidChangeTreeData.event;

  private grouping: Grouping = 'name';

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
      return isGroup(node) ? [...node.runs] : [];
    }
    const by = this.grouping;
    const groups = new Map<string, Experiment[]>();
    for (const e of this.model.items) {
      const key = by === 'name' ? e.name : e.status;
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
    return [...groups].map(([name, runs]) => ({ kind: 'group', name, by, runs }));
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
    const started = new Date(node.startedAt).toLocaleString();
    const item = new vscode.TreeItem(
      this.grouping === 'name' ? started : `${node.name} · ${started}`,
      vscode.TreeItemCollapsibleState.None,
    );
    item.id = node.id;
    item.iconPath = STATUS_ICONS[node.status];
    item.description = [formatDuration(node.durationMs), ...node.metrics.slice(0, 3).map(formatMetric)]
      .filter((s) => s.length > 0)
      .join(' · ');
    item.contextValue = node.status === 'running' ? 'runningExperiment' : 'experiment';
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${node.name}** \`${node.id}\` — ${node.status}`);
    if (node.exitCode !== null) {
      tooltip.appendMarkdown(`, exit code ${node.exitCode}`);
    }
    tooltip.appendMarkdown(`\n\nStarted ${new Date(node.startedAt).toLocaleString()} by ${node.operator}`);
    if (Object.keys(node.params).length > 0) {
      tooltip.appendMarkdown('\n\n**Params**\n');
      for (const [k, v] of Object.entries(node.params)) {
        tooltip.appendText(`\n${k} = ${JSON.stringify(v)}`);
      }
    }
    if (node.metrics.length > 0) {
      tooltip.appendMarkdown('\n\n**Metrics** (last · min · max · count)\n');
      for (const m of node.metrics) {
        tooltip.appendText(`\n${m.key}: ${m.lastRaw} · ${m.min ?? '-'} · ${m.max ?? '-'} · ${m.count}`);
      }
    }
    item.tooltip = tooltip;
    item.command = { command: 'mllab.experiment.show', title: 'Show Experiment', arguments: [node] };
    return item;
  }
}

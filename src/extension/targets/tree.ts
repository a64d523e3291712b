import * as vscode from 'vscode';
import type { TargetNode, TargetStatus, TargetWorkload } from '../../protocol/targets';
import { LOCAL_TARGET } from '../../protocol/targets';
import { Views } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import { formatBytes } from '../datasets/format';
import type { TargetsModel } from './targets-model';

export type TargetTreeNode =
  | { readonly kind: 'target'; readonly status: TargetStatus }
  | { readonly kind: 'node'; readonly target: string; readonly node: TargetNode }
  | { readonly kind: 'workload'; readonly node: string; readonly workload: TargetWorkload }
  | { readonly kind: 'problem'; readonly target: string; readonly message: string };

const STATE_ICONS: Record<TargetNode['state'], vscode.ThemeIcon> = {
  ready: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  down: new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground')),
  disconnected: new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('errorForeground')),
  unknown: new vscode.ThemeIcon('question'),
};

/** "NVIDIA-GPU ×2" for each generic resource; '' for none */
export function gpusOf(node: TargetNode): string {
  return Object.entries(node.gpus)
    .map(([kind, count]) => `${kind} ×${count}`)
    .join(', ');
}

/** "2 CPUs · 7.8 GB · NVIDIA-GPU ×1" */
export function resourcesOf(node: TargetNode): string {
  return [`${node.cpus} CPU${node.cpus === 1 ? '' : 's'}`, formatBytes(node.memoryBytes), gpusOf(node)]
    .filter((x) => x.length > 0)
    .join(' · ');
}

/** "3/3 nodes ready" for a swarm, "ready" for an engine, the reason when it does not answer */
export function targetStateOf(s: TargetStatus): string {
  if (!s.available) {
    return 'not answering';
  }
  const ready = s.nodes.filter((n) => n.state === 'ready').length;
  return s.target.kind === 'swarm' ? `${ready}/${s.nodes.length} nodes ready` : 'ready';
}

/** The Targets view: each target, its nodes (state, resources, labels) and what the lab runs on each. */
export class TargetsTree extends Disposable implements vscode.TreeDataProvider<TargetTreeNode> {
  readonly onDidChangeTreeData: vscode.Event<void>;
  readonly view: vscode.TreeView<TargetTreeNode>;

  constructor(private readonly model: TargetsModel) {
    super();
    this.onDidChangeTreeData = model.onDidChange;
    this.view = this._register(vscode.window.createTreeView(Views.targets, { treeDataProvider: this }));
    this._register(this.view.onDidChangeVisibility((e) => model.setVisible(e.visible)));
    model.setVisible(this.view.visible);
  }

  getChildren(node?: TargetTreeNode): TargetTreeNode[] {
    if (!node) {
      // `local` alone: the view's welcome content says where jobs run and offers to add a target
      const items = this.model.items;
      return items.every((s) => s.target.name === LOCAL_TARGET)
        ? []
        : items.map((status): TargetTreeNode => ({ kind: 'target', status }));
    }
    if (node.kind === 'target') {
      const s = node.status;
      return s.available
        ? s.nodes.map((n): TargetTreeNode => ({ kind: 'node', target: s.target.name, node: n }))
        : [{ kind: 'problem', target: s.target.name, message: s.message ?? 'The engine does not answer.' }];
    }
    if (node.kind === 'node') {
      return node.node.workloads.map((w): TargetTreeNode => ({ kind: 'workload', node: node.node.id, workload: w }));
    }
    return [];
  }

  getTreeItem(node: TargetTreeNode): vscode.TreeItem {
    switch (node.kind) {
      case 'target':
        return this.targetItem(node.status);
      case 'node':
        return nodeItem(node.target, node.node);
      case 'workload': {
        const w = node.workload;
        const item = new vscode.TreeItem(w.name);
        item.id = `target-workload:${node.node}:${w.kind}:${w.id}`;
        item.description = w.kind;
        item.iconPath = new vscode.ThemeIcon(w.kind === 'job' ? 'run' : 'globe');
        item.contextValue = `target${w.kind === 'job' ? 'Job' : 'Service'}`;
        return item;
      }
      case 'problem': {
        const item = new vscode.TreeItem(node.message);
        item.id = `target-problem:${node.target}`;
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        item.tooltip = node.message;
        return item;
      }
    }
  }

  private targetItem(s: TargetStatus): vscode.TreeItem {
    const t = s.target;
    const isDefault = t.name.toLowerCase() === this.model.projectTarget.toLowerCase();
    const item = new vscode.TreeItem(
      t.name,
      s.available || s.message ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `target:${t.name}`;
    item.iconPath = new vscode.ThemeIcon(
      t.kind === 'swarm' ? 'server-environment' : t.name === LOCAL_TARGET ? 'vm' : 'server',
      s.available ? undefined : new vscode.ThemeColor('errorForeground'),
    );
    item.description = [
      t.kind === 'swarm' ? 'Swarm' : t.name === LOCAL_TARGET ? "this machine's Docker" : 'Docker Engine',
      targetStateOf(s),
      isDefault ? 'project default' : '',
    ]
      .filter((x) => x.length > 0)
      .join(' · ');
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${t.name}**\n\n`);
    tooltip.appendText(
      [
        `engine: ${t.dockerHost ?? "the lab machine's Docker (DOCKER_HOST / mllab.docker.host)"}`,
        t.tls ? `TLS: ${[t.tls.caFile, t.tls.certFile, t.tls.keyFile].filter((f) => f).join(', ')}` : '',
        `registry: ${t.registry ?? 'none (images stay in the engine)'}`,
        s.message ? `problem: ${s.message}` : '',
      ]
        .filter((x) => x.length > 0)
        .join('\n'),
    );
    item.tooltip = tooltip;
    item.contextValue = t.name === LOCAL_TARGET ? 'localTarget' : isDefault ? 'target projectTarget' : 'target';
    return item;
  }
}

function nodeItem(target: string, n: TargetNode): vscode.TreeItem {
  const item = new vscode.TreeItem(
    n.name,
    n.workloads.length > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None,
  );
  item.id = `target-node:${target}:${n.id}`;
  item.iconPath = STATE_ICONS[n.state];
  const state = n.availability === 'active' ? n.state : `${n.state}, ${n.availability}`;
  item.description = [n.role === 'manager' ? 'manager' : '', state, resourcesOf(n)]
    .filter((x) => x.length > 0)
    .join(' · ');
  const labels = Object.entries(n.labels);
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${n.name}** (${n.role})\n\n`);
  tooltip.appendText(
    [
      `state: ${state}`,
      `CPUs: ${n.cpus}`,
      `memory: ${formatBytes(n.memoryBytes)}`,
      `GPUs: ${gpusOf(n) || 'none'}`,
      `engine: ${n.engineVersion}`,
      `labels: ${labels.length === 0 ? 'none' : labels.map(([k, v]) => `${k}=${v}`).join(', ')}`,
      `running: ${n.workloads.length === 0 ? 'nothing of this lab' : n.workloads.map((w) => `${w.kind} ${w.name}`).join(', ')}`,
    ].join('\n'),
  );
  item.tooltip = tooltip;
  item.contextValue = 'targetNode';
  return item;
}

import * as vscode from 'vscode';
import { serviceStatusText } from '../../protocol/container-warnings';
import type { Service } from '../../protocol/containers';
import { Views } from '../common/commands';
import { anyEvent, Disposable } from '../common/lifecycle';
import { DockerStatusModel, dockerWarningItem } from '../docker/docker-status';
import { SERVICE_ICONS } from '../docker/format';
import type { ServicesModel } from './services-model';
import { appendWarnings, warningsBadge } from '../docker/warnings';

export type ServiceNode = { readonly kind: 'service'; readonly service: Service } | { readonly kind: 'docker' };

/** contextValue by status, for menus: start a stopped one, stop a running one, open a healthy one. */
function contextOf(s: Service): string {
  switch (s.status) {
    case 'starting':
    case 'running':
    case 'healthy':
    case 'unhealthy':
    case 'restarting':
      return 'runningService';
    default:
      return 'stoppedService';
  }
}

/** "2/3 replicas" for a service on a cluster; '' for a local one. */
export function replicasOf(s: Service): string {
  const r = s.replicaStatus;
  return r ? `${r.running}/${r.desired} replicas` : '';
}

export function portsOf(s: Service): string {
  return s.ports.map((p) => `${p.hostIp}:${p.hostPort}→${p.containerPort}`).join(', ');
}

/** The Services view: each service with its live status and published ports. */
export class ServicesTree extends Disposable implements vscode.TreeDataProvider<ServiceNode> {
  /** redrawn whenever the services or Docker's status change */
  readonly onDidChangeTreeData: vscode.Event<void>;
  readonly view: vscode.TreeView<ServiceNode>;

  constructor(
    private readonly model: ServicesModel,
    private readonly docker: DockerStatusModel,
  ) {
    super();
    this.onDidChangeTreeData = anyEvent(model.onDidChange, docker.onDidChange);
    this.view = this._register(vscode.window.createTreeView(Views.services, { treeDataProvider: this }));
  }

  getChildren(node?: ServiceNode): ServiceNode[] {
    if (node) {
      return [];
    }
    const services = this.model.items.map((service): ServiceNode => ({ kind: 'service', service }));
    return this.docker.status?.available === false && services.length > 0
      ? [{ kind: 'docker' }, ...services]
      : services;
  }

  getTreeItem(node: ServiceNode): vscode.TreeItem {
    if (node.kind === 'docker') {
      return dockerWarningItem(this.docker.status!);
    }
    const s = node.service;
    const item = new vscode.TreeItem(s.name);
    item.id = `service:${s.id}`;
    item.iconPath = SERVICE_ICONS[s.status];
    const status = serviceStatusText(s);
    item.description = [warningsBadge(s.warnings), status, replicasOf(s), portsOf(s), s.reason ?? '']
      .filter((x) => x.length > 0)
      .join(' · ');
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${s.name}** — `);
    tooltip.appendText(status);
    tooltip.appendMarkdown('\n\n');
    tooltip.appendText(`image: ${s.image}\nports: ${portsOf(s) || 'none'}\nhealth: ${s.healthPath ?? 'no check'}\n`);
    if (s.target) {
      tooltip.appendText(
        `target: ${s.target}${s.endpointPort ? `, served at http://127.0.0.1:${s.endpointPort}` : ''}\n`,
      );
      for (const r of s.replicaStatus?.replicas ?? []) {
        tooltip.appendText(`  ${r.node || '(not placed)'}: ${r.state}${r.message ? ` (${r.message})` : ''}\n`);
      }
    }
    if (s.reason) {
      tooltip.appendText(`\n${s.reason}`);
    }
    appendWarnings(tooltip, s.warnings);
    item.tooltip = tooltip;
    item.contextValue = contextOf(s) + (s.ports.length > 0 ? ' withPorts' : '') + (s.target ? ' clusterService' : '');
    return item;
  }
}

import * as vscode from 'vscode';
import type { DockerStatus } from '../../protocol/containers';
import type { BackendService } from '../backend/backend-service';
import { Commands, ContextKeys } from '../common/commands';
import { Disposable } from '../common/lifecycle';

/**
 * Whether the backend can reach the Docker Engine, from the backend's `dockerStatus` events (and one
 * query on each connect). The Jobs and Services views show it; the `mllab.docker` context key drives
 * their welcome content and menus.
 */
export class DockerStatusModel extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this._onDidChange.event;
  private _status: DockerStatus | undefined;

  constructor(private readonly backend: BackendService) {
    super();
    this._register(
      backend.onDidReceiveEvent((e) => {
        if (e.type === 'dockerStatus') {
          this.set(e.status);
        } else if (e.type === 'hello') {
          this.query();
        }
      }),
    );
    this._register(
      backend.onDidChangeState((s) => {
        if (s.kind === 'connected') {
          this.query();
        } else {
          this.set(undefined);
        }
      }),
    );
    if (backend.state.kind === 'connected') {
      this.query();
    }
  }

  /** undefined while no backend answers */
  get status(): DockerStatus | undefined {
    return this._status;
  }

  /** Asks the backend to reconnect to Docker now (the Retry action). */
  async retry(): Promise<DockerStatus> {
    const status = await (await this.backend.ready()).retryDocker();
    this.set(status);
    return status;
  }

  private query(): void {
    if (this.backend.state.kind !== 'connected') {
      return;
    }
    this.backend.client.dockerStatus().then(
      (s) => this.set(s),
      () => undefined, // the backend went away: its reconnect queries again
    );
  }

  private set(status: DockerStatus | undefined): void {
    if (status?.available === this._status?.available && status?.message === this._status?.message) {
      return;
    }
    this._status = status;
    const key = status === undefined ? 'unknown' : status.available ? 'available' : 'unavailable';
    void vscode.commands.executeCommand('setContext', ContextKeys.docker, key);
    this._onDidChange.fire();
  }
}

/** The first node of the Jobs and Services views while Docker cannot be reached: says so, click = Retry. */
export function dockerWarningItem(status: DockerStatus): vscode.TreeItem {
  const item = new vscode.TreeItem('Docker is not available: click to retry');
  item.id = 'docker-unavailable';
  item.description = status.message;
  item.tooltip = `${status.message}\n\nStates show as unknown until Docker is back; then they are reconciled.`;
  item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  item.command = { command: Commands.retryDocker, title: 'Retry' };
  item.contextValue = 'dockerUnavailable';
  return item;
}

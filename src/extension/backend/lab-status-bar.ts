import * as vscode from 'vscode';
import { Commands } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { BackendService } from './backend-service';
import { labHostOf, labStatusText, labTooltip, retryNote } from './lab-link';

/**
 * Which lab the window talks to: `$(beaker) ML Lab: local` or `$(cloud) ML Lab: lab.example.com (alice,
 * member)`; a lab reached by URL that is down shows `(unreachable, retrying)` while it is tried again.
 * A click offers Connect to Lab..., Disconnect and Show Backend Log.
 */
export class LabStatusBar extends Disposable {
  private readonly item = this._register(
    vscode.window.createStatusBarItem('mllab.lab', vscode.StatusBarAlignment.Left, 49),
  );

  constructor(
    private readonly backend: BackendService,
    private readonly ui: Ui,
  ) {
    super();
    this.item.name = 'ML Lab: Lab';
    this.item.command = Commands.labMenu;
    this._register(backend.onDidChangeState(() => this.update()));
    this._register(backend.onDidChangeLink(() => this.update()));
    this._register(registerCommand(Commands.labMenu, ui, () => this.menu()));
    this.update();
    this.item.show();
  }

  private update(): void {
    const state = this.backend.state;
    const url = this.backend.remoteUrl;
    const lab = state.kind === 'connected' ? state.lab : undefined;
    const item = this.item;
    item.backgroundColor = undefined;
    let note = '';
    if (url && state.kind === 'connected' && this.backend.linkDown !== undefined) {
      item.text = `$(sync~spin) ML Lab: ${labHostOf(url)} (reconnecting)`;
      note = `Reconnecting: ${this.backend.linkDown}`;
    } else if (url && state.kind === 'starting') {
      item.text = `$(loading~spin) ML Lab: ${labHostOf(url)}`;
      note = 'Connecting...';
    } else if (url && state.kind === 'failed' && state.retrying) {
      const retry = this.backend.remoteRetry;
      item.text = `$(sync~spin) ML Lab: ${labHostOf(url)} (unreachable, retrying)`;
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
      note = retry ? retryNote(retry) : `Not connected: ${state.message}`;
    } else if (url && state.kind === 'failed') {
      item.text = `$(error) ML Lab: ${labHostOf(url)}`;
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
      note = `Not connected: ${state.message}`;
    } else {
      item.text = labStatusText(lab, url);
      note =
        state.kind === 'failed'
          ? `The backend is not running: ${state.message}`
          : state.kind === 'noHome'
            ? 'No folder is open: open one to use its lab home, or connect to a lab by URL.'
            : '';
    }
    item.tooltip = labTooltip(lab, note, url);
    item.accessibilityInformation = { label: item.text.replace(/\$\([^)]*\)\s*/g, '') };
  }

  private async menu(): Promise<void> {
    const url = this.backend.remoteUrl;
    const items: (vscode.QuickPickItem & { command: string })[] = [
      {
        label: '$(plug) Connect to Lab...',
        detail: 'Talk to a lab served by URL (mllab serve --listen) with your token',
        command: Commands.connectLab,
      },
      ...(url
        ? [
            {
              label: '$(debug-disconnect) Disconnect',
              detail: `Leave ${url} and go back to the local lab of this folder`,
              command: Commands.disconnectLab,
            },
          ]
        : []),
      { label: '$(output) Show Backend Log', command: Commands.showBackendLog },
    ];
    const picked = await this.ui.pick(items, {
      title: url ? `ML Lab: the lab at ${url}` : 'ML Lab: the local lab of this folder',
    });
    if (picked) {
      await vscode.commands.executeCommand(picked.command);
    }
  }

  /** What the item shows, for tests. */
  get text(): string {
    return this.item.text;
  }

  get tooltip(): string {
    return typeof this.item.tooltip === 'string' ? this.item.tooltip : (this.item.tooltip?.value ?? '');
  }
}

import * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import { DockerStatusModel } from './docker-status';
import { offerOrphanCleanup, registerImageCommands } from './images';
import { LogChannels } from './log-channels';

/**
 * What the Jobs and Services views share: Docker's status (and its Retry), the containers' log
 * channels, the image commands (build, pull) and the cleanup of containers nothing owns any more.
 */
export class Docker extends Disposable {
  readonly status: DockerStatusModel;
  readonly logs = this._register(new LogChannels());

  constructor(backend: BackendService, ui: Ui) {
    super();
    this.status = this._register(new DockerStatusModel(backend));
    [
      ...registerImageCommands(backend, ui, this._register(vscode.window.createOutputChannel('ML Lab: Image Builds'))),
      registerCommand(Commands.retryDocker, ui, async () => {
        const status = await this.status.retry();
        if (!status.available) {
          void ui.error(`ML Lab: ${status.message}`, 'Retry').then((choice) => {
            if (choice === 'Retry') {
              void vscode.commands.executeCommand(Commands.retryDocker);
            }
          });
        }
        return status;
      }),
    ].forEach((d) => this._register(d));
    // once per connection with Docker available: containers left by deleted projects, jobs or services
    let offered = false;
    this._register(
      this.status.onDidChange(() => {
        if (this.status.status?.available && !offered) {
          offered = true;
          offerOrphanCleanup(backend, ui).catch(() => undefined);
        }
      }),
    );
  }
}

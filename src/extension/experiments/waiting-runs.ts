import * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { Disposable } from '../common/lifecycle';

/**
 * Whether runs were recorded that wait for a project (a script run before any project existed, or
 * one naming a project that does not exist): the Experiments view says so instead of staying empty.
 * From the backend's status on each connect and its `runsWaiting` events.
 */
export class WaitingRuns extends Disposable {
  private count = 0;

  constructor(backend: BackendService) {
    super();
    this._register(
      backend.onDidReceiveEvent((e) => {
        if (e.type === 'hello') {
          this.set(e.status.waitingRuns);
        } else if (e.type === 'runsWaiting') {
          this.set(e.count);
        }
      }),
    );
    this._register(backend.onDidChangeState((s) => s.kind !== 'connected' && this.set(0)));
  }

  private set(count: number): void {
    if (count !== this.count) {
      this.count = count;
      void vscode.commands.executeCommand('setContext', ContextKeys.hasWaitingRuns, count > 0);
    }
  }
}

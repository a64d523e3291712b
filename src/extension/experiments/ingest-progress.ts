import * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Disposable } from '../common/lifecycle';

/**
 * While the backend ingests a backlog of runs (runs copied into the lab home, a first start on an
 * old lab), a progress notification says how far it is: "12,000 of 100,000 runs". From the
 * backend's `ingestProgress` events, which come at most twice a second and end with done === total.
 */
export class IngestProgress extends Disposable {
  private current: { report: (done: number, total: number) => void; finish: () => void } | undefined;

  constructor(backend: BackendService) {
    super();
    this._register(
      backend.onDidReceiveEvent((e) => {
        if (e.type === 'ingestProgress') {
          this.update(e.done, e.total);
        }
      }),
    );
    this._register(backend.onDidChangeState((s) => s.kind !== 'connected' && this.current?.finish()));
    this._register({ dispose: () => this.current?.finish() });
  }

  private update(done: number, total: number): void {
    if (done >= total) {
      this.current?.finish();
      return;
    }
    if (!this.current) {
      this.current = this.open();
    }
    this.current.report(done, total);
  }

  private open(): { report: (done: number, total: number) => void; finish: () => void } {
    let finish: () => void = () => undefined;
    let report: (done: number, total: number) => void = () => undefined;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    let reported = 0;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'ML Lab: ingesting runs' },
      (progress) => {
        report = (done, total) => {
          const fraction = Math.min(1, done / total);
          progress.report({
            message: `${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} runs`,
            increment: Math.max(0, (fraction - reported) * 100),
          });
          reported = Math.max(reported, fraction);
        };
        return ended;
      },
    );
    return {
      report: (done, total) => report(done, total),
      finish: () => {
        this.current = undefined;
        finish();
      },
    };
  }
}

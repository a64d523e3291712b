import * as vscode from 'vscode';
import { BackendError } from '../../client/api-client';
import type { TransferOptions } from '../../client/transfer';
import type { Ui } from '../common/ui';
import { formatBytes } from './format';

/** "12.5 MB of 1.0 GB, 48.2 MB/s" (the rate once some time went by). */
export function describeTransfer(bytes: number, total: number, elapsedMs: number): string {
  const done = total > 0 ? `${formatBytes(bytes)} of ${formatBytes(total)}` : formatBytes(bytes);
  return elapsedMs >= 250 ? `${done}, ${formatBytes((bytes * 1000) / elapsedMs)}/s` : done;
}

/**
 * Runs a transfer to or from a lab over the network in a cancellable notification showing the bytes
 * and the rate; Cancel aborts it. Resolves with the task's result, or 'cancelled'.
 */
export async function withTransferProgress<T>(
  ui: Ui,
  title: string,
  task: (options: TransferOptions) => Promise<T>,
): Promise<T | 'cancelled'> {
  return ui.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const cancellation = token.onCancellationRequested(() => controller.abort());
      const started = Date.now();
      let percent = 0;
      let shown = 0;
      const onProgress = (bytes: number, total: number) => {
        const now = Date.now();
        const at = total > 0 ? (100 * bytes) / total : percent;
        // at most a few redraws a second: a 1 GB transfer reports thousands of chunks
        if (now - shown < 200 && bytes < total) {
          return;
        }
        shown = now;
        progress.report({
          message: describeTransfer(bytes, total, now - started),
          increment: Math.max(0, at - percent),
        });
        percent = Math.max(percent, at);
      };
      try {
        return await task({ onProgress, signal: controller.signal });
      } catch (e) {
        if (controller.signal.aborted && (!(e instanceof BackendError) || e.code === 'cancelled' || e.status === 0)) {
          return 'cancelled';
        }
        throw e;
      } finally {
        cancellation.dispose();
      }
    },
  );
}

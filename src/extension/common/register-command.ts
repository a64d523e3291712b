import * as vscode from 'vscode';
import { BackendError } from '../../client/api-client';
import type { CommandId } from './commands';
import type { Ui } from './ui';

/**
 * Registers a command whose failures reach the person as a notification (with the backend's message
 * for API errors) instead of disappearing into the developer console.
 */
export function registerCommand<A extends unknown[]>(
  id: CommandId,
  ui: Ui,
  fn: (...args: A) => unknown,
): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await fn(...(args as A));
    } catch (e) {
      const message = e instanceof BackendError || e instanceof Error ? e.message : String(e);
      void ui.error(`ML Lab: ${message}`);
      return undefined;
    }
  });
}

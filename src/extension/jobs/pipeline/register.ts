import * as vscode from 'vscode';
import type { BackendService } from '../../backend/backend-service';
import { Commands } from '../../common/commands';
import { registerCommand } from '../../common/register-command';
import type { Ui } from '../../common/ui';
import { PipelineGraphPanel } from './panel';

export interface PipelineGraphDeps {
  readonly extensionUri: vscode.Uri;
  readonly backend: BackendService;
  readonly ui: Ui;
}

/**
 * The pipeline graph of the active project and its command "Show Pipeline" (one panel per window:
 * the command reveals it when open). Returns the panel host (for tests) and what to dispose.
 */
export function registerPipelineGraph(deps: PipelineGraphDeps): {
  panel: PipelineGraphPanel;
  disposables: vscode.Disposable[];
} {
  const panel = new PipelineGraphPanel(deps.extensionUri, {
    backend: deps.backend,
    runCommand: (command, arg) => vscode.commands.executeCommand(command, arg),
    reportError: (message) => void deps.ui.error(message),
  });
  return {
    panel,
    disposables: [panel, registerCommand(Commands.showPipeline, deps.ui, () => panel.show())],
  };
}

import * as vscode from 'vscode';
import type { Experiment, RunStatus } from '../../protocol/experiments';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import type { Ui } from '../common/ui';

type Notify = 'failures' | 'all' | 'off';

/**
 * Tells the person when a run they saw running finishes (setting `mllab.experiments.notify`):
 * failures by default, every end with "all". Runs that ended before the window saw them are quiet.
 */
export class RunNotifications extends Disposable {
  private readonly seenRunning = new Set<string>();

  constructor(backend: BackendService, ui: Ui) {
    super();
    this._register(
      backend.onDidReceiveEvent((e) => {
        if (e.type !== 'experimentUpdated') {
          return;
        }
        const run = e.experiment;
        if (run.status === 'running') {
          this.seenRunning.add(run.id);
        } else if (this.seenRunning.delete(run.id)) {
          const message = RunNotifications.message(run);
          if (message) {
            void (run.status === 'completed' ? ui.info(message, 'Show') : ui.error(message, 'Show')).then((choice) => {
              if (choice === 'Show') {
                void vscode.commands.executeCommand(Commands.showExperiment, run);
              }
            });
          }
        }
      }),
    );
  }

  static message(run: Experiment): string | undefined {
    const notify = vscode.workspace.getConfiguration('mllab').get<Notify>('experiments.notify', 'failures');
    const failed: RunStatus[] = ['failed', 'interrupted'];
    if (notify === 'off' || (notify === 'failures' && !failed.includes(run.status))) {
      return undefined;
    }
    const exit = run.exitCode === null ? '' : ` (exit code ${run.exitCode})`;
    return `ML Lab: experiment "${run.name}" ${run.status}${exit}.`;
  }
}

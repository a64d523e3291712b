import * as vscode from 'vscode';
import type { Experiment } from '../../../protocol/experiments';
import type { ExperimentCommand } from '../../../protocol/webviews/experiment-details';
import type { BackendService } from '../../backend/backend-service';
import { Commands, type CommandId } from '../../common/commands';
import { Disposable } from '../../common/lifecycle';
import { registerCommand } from '../../common/register-command';
import type { Ui } from '../../common/ui';
import { ExperimentDetailsPanel } from './panel';

/** The experiment commands the panel's buttons run, with the run as their argument. */
const COMMANDS: Record<ExperimentCommand, CommandId> = {
  openLog: Commands.openExperimentLog,
  compareScript: Commands.compareExperimentScript,
  rerun: Commands.rerunExperiment,
  rerunWithParams: Commands.rerunExperimentWithParams,
  stop: Commands.stopExperiment,
  delete: Commands.deleteExperiment,
};

/**
 * The experiment details panels: one per run, keyed by its id (showing a run again reveals its
 * panel). Registers "Show Experiment" and routes the backend's experiment events to the open panels.
 */
export class ExperimentDetailsPanels extends Disposable {
  private readonly panels = new Map<string, ExperimentDetailsPanel>();
  private readonly _onDidPaint = this._register(new vscode.EventEmitter<string>());
  /** a panel's page drew its run (by id) for the first time since it loaded */
  readonly onDidPaint = this._onDidPaint.event;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly backend: BackendService,
    private readonly ui: Ui,
  ) {
    super();
    this._register(
      registerCommand(Commands.showExperiment, ui, async (e?: Experiment | string) => {
        if (e) {
          await this.show(typeof e === 'string' ? e : e.id);
        }
      }),
    );
    this._register(
      backend.onDidReceiveEvent((event) => {
        if (event.type === 'experimentUpdated') {
          this.panels.get(event.experiment.id)?.reloadSoon();
        } else if (event.type === 'experimentDeleted') {
          this.panels.get(event.id)?.markDeleted();
        } else if (event.type === 'hello') {
          this.panels.forEach((p) => p.reloadSoon()); // a reconnect: events may have been missed
        }
      }),
    );
    this._register({
      dispose: () => {
        this.panels.forEach((p) => p.dispose());
        this.panels.clear();
      },
    });
  }

  /** The open panel of a run, for tests. */
  get(id: string): ExperimentDetailsPanel | undefined {
    return this.panels.get(id);
  }

  /** Opens the run's panel, or reveals it when it is open. */
  async show(id: string): Promise<ExperimentDetailsPanel> {
    let panel = this.panels.get(id);
    if (!panel) {
      const created = new ExperimentDetailsPanel(this.extensionUri, id, {
        backend: this.backend,
        runCommand: (command, experiment) => vscode.commands.executeCommand(COMMANDS[command], experiment),
        reportError: (message) => void this.ui.error(message),
      });
      created.onDidPaint(() => this._onDidPaint.fire(id));
      created.onDidClose(() => {
        if (this.panels.get(id) === created) {
          this.panels.delete(id);
        }
        created.dispose();
      });
      this.panels.set(id, created);
      panel = created;
    }
    try {
      await panel.show();
    } catch (e) {
      if (!panel.panel) {
        this.panels.delete(id); // never opened: nothing to keep
        panel.dispose();
      }
      throw e;
    }
    return panel;
  }
}

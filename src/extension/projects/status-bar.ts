import * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import type { ProjectsModel } from './projects-model';

/** Opens the ML Lab view container (which starts the backend). */
const SHOW_VIEWS = 'workbench.view.extension.mllab';

/** Shows the active project and the backend's state; a click switches projects (or helps recover). */
export class ProjectStatusBar extends Disposable {
  private readonly item = this._register(
    vscode.window.createStatusBarItem('mllab.status', vscode.StatusBarAlignment.Left, 50),
  );

  /** false until the backend is asked for: a folder without a lab home starts none at startup */
  private started: boolean;

  constructor(
    private readonly backend: BackendService,
    private readonly model: ProjectsModel,
    startsAtOnce = true,
  ) {
    super();
    this.started = startsAtOnce;
    this.item.name = 'ML Lab';
    this._register(
      backend.onDidChangeState(() => {
        this.started = true;
        this.update();
      }),
    );
    this._register(model.onDidChange(() => this.update()));
    this.update();
    this.item.show();
  }

  /** The backend was asked for (a view opened): from now on the item shows its state. */
  markStarted(): void {
    if (!this.started) {
      this.started = true;
      this.update();
    }
  }

  private update(): void {
    const state = this.backend.state;
    const item = this.item;
    item.backgroundColor = undefined;
    switch (state.kind) {
      case 'noHome':
        item.text = '$(beaker) ML Lab';
        item.tooltip = 'ML Lab: open a folder to use a lab home';
        item.command = undefined;
        return;
      case 'starting':
        if (!this.started) {
          item.text = '$(beaker) ML Lab';
          item.tooltip = 'ML Lab: click to open its views (projects, datasets, experiments, models, jobs)';
          item.command = SHOW_VIEWS;
          return;
        }
        item.text = '$(loading~spin) ML Lab';
        item.tooltip = this.backend.remoteUrl
          ? `ML Lab: connecting to the lab at ${this.backend.remoteUrl}...`
          : 'ML Lab: starting the backend...';
        item.command = Commands.showBackendLog;
        return;
      case 'failed':
        item.text = '$(error) ML Lab';
        item.tooltip = state.remote
          ? `ML Lab: not connected to the lab at ${state.remote}: ${state.message}\nClick to try again.`
          : `ML Lab: the backend is not running: ${state.message}\nClick to restart it.`;
        item.command = state.refusedToken ? Commands.connectLab : Commands.restartBackend;
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        return;
      case 'connected': {
        const active = this.model.activeProject;
        item.text = `$(beaker) ${active ? active.name : 'No project'}`;
        item.tooltip = new vscode.MarkdownString(
          `**ML Lab** — active project: ${active ? active.name : '(none)'}\n\n` +
            (state.lab.kind === 'remote'
              ? `Lab: ${state.lab.url} (${state.lab.user}${state.lab.role ? `, ${state.lab.role}` : ''})`
              : `Backend: running (process ${state.pid}, port ${state.port})`) +
            '\n\nClick to switch project.',
        );
        item.command = Commands.selectProject;
        item.accessibilityInformation = { label: `ML Lab active project ${active?.name ?? 'none'}, backend running` };
      }
    }
  }

  /** What the item shows, for tests. */
  get text(): string {
    return this.item.text;
  }
}

import * as vscode from 'vscode';
import type { Project } from '../../protocol/api';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { Disposable } from '../common/lifecycle';

const REFRESHING_EVENTS = new Set([
  'hello',
  'projectCreated',
  'projectUpdated',
  'projectDeleted',
  'activeProjectChanged',
]);

/**
 * The window's view of the projects and the active one, kept current by backend events (no polling).
 * Both the Projects tree and the status bar read from it.
 */
export class ProjectsModel extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this._onDidChange.event;

  private _projects: readonly Project[] = [];
  private _activeId: string | null = null;
  private _loaded = false;
  private generation = 0;

  constructor(private readonly backend: BackendService) {
    super();
    this._register(
      backend.onDidReceiveEvent((e) => {
        if (REFRESHING_EVENTS.has(e.type)) {
          void this.refresh();
        }
      }),
    );
    this._register(
      backend.onDidSwitchLab(() => {
        // the projects of the lab left behind are not this lab's: none until the new one answers
        this.generation++;
        this._projects = [];
        this._activeId = null;
        this._loaded = false;
      }),
    );
    this._register(
      backend.onDidChangeState((s) => {
        if (s.kind !== 'connected') {
          this.changed();
        }
      }),
    );
  }

  get projects(): readonly Project[] {
    return this._projects;
  }

  get activeProject(): Project | undefined {
    return this._projects.find((p) => p.id === this._activeId);
  }

  get loaded(): boolean {
    return this._loaded;
  }

  /** Reloads from the backend; a slower earlier reload never overwrites a newer one. */
  async refresh(): Promise<void> {
    if (this.backend.state.kind !== 'connected') {
      return;
    }
    const client = this.backend.client;
    const mine = ++this.generation;
    const [projects, active] = await Promise.all([client.listProjects(), client.activeProject()]);
    if (mine === this.generation && !this.isDisposed) {
      this._projects = projects;
      this._activeId = active.projectId;
      this._loaded = true;
      this.changed();
    }
  }

  private changed(): void {
    // drives the Projects view's welcome content
    void vscode.commands.executeCommand('setContext', ContextKeys.hasProjects, this._projects.length > 0);
    this._onDidChange.fire();
  }
}

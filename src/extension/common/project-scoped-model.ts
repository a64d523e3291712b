import * as vscode from 'vscode';
import type { ApiClient } from '../../client/api-client';
import type { BackendEvent } from '../../protocol/api';
import type { BackendService } from '../backend/backend-service';
import type { ProjectsModel } from '../projects/projects-model';
import { ContextKeys } from './commands';
import { Disposable } from './lifecycle';

/**
 * Records of the active project (datasets, experiments, ...), kept current by backend events (a
 * record changed, the active project changed, a reconnect); never polled. Subclasses say how to
 * load them and which events concern the loaded project.
 */
export abstract class ProjectScopedModel<T> extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this._onDidChange.event;

  private _items: readonly T[] = [];
  /** the project `_items` belong to */
  protected projectId: string | undefined;
  private generation = 0;

  constructor(
    protected readonly backend: BackendService,
    protected readonly projects: ProjectsModel,
    /** context key set to whether there are items, for welcome content */
    private readonly contextKey: string,
  ) {
    super();
    this._register(
      backend.onDidReceiveEvent((e) => {
        if (e.type === 'hello' || this.concerns(e)) {
          this.refreshQuietly();
        }
      }),
    );
    this._register(
      projects.onDidChange(() => {
        void vscode.commands.executeCommand('setContext', ContextKeys.hasActiveProject, !!projects.activeProject);
        if (projects.activeProject?.id !== this.projectId) {
          this.refreshQuietly();
        }
      }),
    );
    this._register(
      backend.onDidChangeState((s) => {
        if (s.kind === 'connected') {
          this.refreshQuietly(); // a reconnect: events may have been missed meanwhile
        } else {
          this.generation++;
          this.update(undefined, []);
        }
      }),
    );
  }

  protected abstract load(client: ApiClient, projectId: string): Promise<readonly T[]>;

  /** Whether an event changes the records of the loaded project. */
  protected abstract concerns(event: BackendEvent): boolean;

  /**
   * Whether a record of `projectId` belongs in this list: the loaded project's, and the active
   * project's while its first load is on the way (a run recorded during that load was answered
   * before it existed, and dropping its event left it out of the list until the next change).
   */
  protected isShownProject(projectId: string): boolean {
    return projectId === this.projectId || projectId === this.projects.activeProject?.id;
  }

  get items(): readonly T[] {
    return this._items;
  }

  /** Reloads the active project's records; a slower earlier reload never overwrites a newer one. */
  async refresh(): Promise<void> {
    if (this.backend.state.kind !== 'connected') {
      return;
    }
    const mine = ++this.generation;
    const project = this.projects.activeProject;
    const items = project ? await this.load(this.backend.client, project.id) : [];
    if (mine === this.generation && !this.isDisposed) {
      this.update(project?.id, items);
    }
  }

  protected refreshQuietly(): void {
    // a failure here means the backend went away: the reconnect refreshes again
    this.refresh().catch(() => undefined);
  }

  private update(projectId: string | undefined, items: readonly T[]): void {
    this.projectId = projectId;
    this._items = items;
    void vscode.commands.executeCommand('setContext', this.contextKey, items.length > 0);
    this._onDidChange.fire();
  }
}

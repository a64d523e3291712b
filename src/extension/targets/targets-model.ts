import * as vscode from 'vscode';
import type { ApiClient } from '../../client/api-client';
import type { BackendEvent } from '../../protocol/api';
import { targetRoutes } from '../../protocol/routes/targets';
import { LOCAL_TARGET, type TargetStatus } from '../../protocol/targets';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import type { ProjectsModel } from '../projects/projects-model';

/** How often node states are asked again while the Targets view is visible (never while it is hidden). */
export const TARGETS_REFRESH_MS = 10_000;

/** Events after which what runs on the nodes may have changed. */
const WORKLOAD_EVENTS = new Set<BackendEvent['type']>(['jobRunUpdated', 'serviceUpdated', 'serviceDeleted']);

/**
 * The lab's targets with their nodes, and the active project's default target. Asking for them asks
 * every engine, so they are loaded only while the view is visible: when it shows, on a timer while it
 * stays visible, and on the events that change them (a target added or removed, a job or service
 * changed); while the view is hidden an event only marks them stale.
 */
export class TargetsModel extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this._onDidChange.event;

  private _items: readonly TargetStatus[] = [];
  private _projectTarget: string = LOCAL_TARGET;
  private visible = false;
  private stale = true;
  private timer: NodeJS.Timeout | undefined;
  private generation = 0;

  constructor(
    private readonly backend: BackendService,
    private readonly projects: ProjectsModel,
  ) {
    super();
    this._register(
      backend.onDidReceiveEvent((e) => {
        if (e.type === 'hello' || e.type === 'targetsChanged' || WORKLOAD_EVENTS.has(e.type)) {
          this.changed();
        }
      }),
    );
    this._register(projects.onDidChange(() => this.changed()));
    this._register(
      backend.onDidChangeState((s) => {
        if (s.kind === 'connected') {
          this.changed();
        } else {
          this.generation++;
          this.update([], LOCAL_TARGET);
        }
      }),
    );
    this._register({ dispose: () => clearInterval(this.timer) });
  }

  get items(): readonly TargetStatus[] {
    return this._items;
  }

  /** the active project's default target (`local` when it has none, or no project is active) */
  get projectTarget(): string {
    return this._projectTarget;
  }

  /** Called with the view's visibility: loads at once when it shows, and keeps a timer only while it is shown. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    clearInterval(this.timer);
    this.timer = undefined;
    if (visible) {
      this.timer = setInterval(() => void this.refresh(), TARGETS_REFRESH_MS);
      if (this.stale) {
        void this.refresh();
      }
    }
  }

  private changed(): void {
    this.stale = true;
    if (this.visible) {
      void this.refresh();
    }
  }

  /** Loads the targets and the project's default; a slower earlier load never overwrites a newer one. */
  async refresh(): Promise<void> {
    if (this.backend.state.kind !== 'connected') {
      return;
    }
    const mine = ++this.generation;
    this.stale = false;
    try {
      const client = this.backend.client;
      const [items, projectTarget] = await Promise.all([
        client.call(targetRoutes.list, {}),
        this.loadProjectTarget(client),
      ]);
      if (mine === this.generation) {
        this.update(items, projectTarget);
      }
    } catch {
      // the backend went away meanwhile: its state change clears the list
      this.stale = true;
    }
  }

  private async loadProjectTarget(client: ApiClient): Promise<string> {
    const project = this.projects.activeProject;
    return project
      ? (await client.call(targetRoutes.projectTarget, { params: { id: project.id } })).target
      : LOCAL_TARGET;
  }

  private update(items: readonly TargetStatus[], projectTarget: string): void {
    this._items = items;
    this._projectTarget = projectTarget;
    void vscode.commands.executeCommand(
      'setContext',
      ContextKeys.hasTargets,
      items.some((t) => t.target.name !== LOCAL_TARGET),
    );
    this._onDidChange.fire();
  }
}

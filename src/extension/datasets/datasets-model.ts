import * as vscode from 'vscode';
import type { Dataset, DatasetVersion } from '../../protocol/datasets';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import type { ProjectsModel } from '../projects/projects-model';

/**
 * The datasets of the active project, kept current by backend events (a version added or deleted,
 * the active project changing, a reconnect); never polled.
 */
export class DatasetsModel extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this._onDidChange.event;

  private _datasets: readonly Dataset[] = [];
  /** the project `_datasets` belong to */
  private projectId: string | undefined;
  private generation = 0;

  constructor(
    private readonly backend: BackendService,
    private readonly projects: ProjectsModel,
  ) {
    super();
    this._register(
      backend.onDidReceiveEvent((e) => {
        const affected =
          e.type === 'hello' ||
          (e.type === 'datasetVersionAdded' && e.version.projectId === this.projectId) ||
          (e.type === 'datasetVersionDeleted' && e.projectId === this.projectId);
        if (affected) {
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

  get datasets(): readonly Dataset[] {
    return this._datasets;
  }

  /** The dataset a version belongs to, as currently loaded. */
  datasetOf(version: DatasetVersion): Dataset | undefined {
    return this._datasets.find((d) => d.id === version.datasetId);
  }

  /** Every loaded version, newest first within each dataset. */
  get versions(): DatasetVersion[] {
    return this._datasets.flatMap((d) => [...d.versions].reverse());
  }

  /** Reloads the active project's datasets; a slower earlier reload never overwrites a newer one. */
  async refresh(): Promise<void> {
    if (this.backend.state.kind !== 'connected') {
      return;
    }
    const mine = ++this.generation;
    const project = this.projects.activeProject;
    const datasets = project ? await this.backend.client.listDatasets(project.id) : [];
    if (mine === this.generation && !this.isDisposed) {
      this.update(project?.id, datasets);
    }
  }

  private refreshQuietly(): void {
    // a failure here means the backend went away: the reconnect refreshes again
    this.refresh().catch(() => undefined);
  }

  private update(projectId: string | undefined, datasets: readonly Dataset[]): void {
    this.projectId = projectId;
    this._datasets = datasets;
    void vscode.commands.executeCommand('setContext', ContextKeys.hasDatasets, datasets.length > 0);
    this._onDidChange.fire();
  }
}

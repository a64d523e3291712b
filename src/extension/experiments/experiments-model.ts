import type { ApiClient } from '../../client/api-client';
import type { BackendEvent } from '../../protocol/api';
import type { Experiment } from '../../protocol/experiments';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { ProjectScopedModel } from '../common/project-scoped-model';
import type { ProjectsModel } from '../projects/projects-model';

/** The experiments of the active project, newest first, kept current by backend events. */
export class ExperimentsModel extends ProjectScopedModel<Experiment> {
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;

  constructor(backend: BackendService, projects: ProjectsModel) {
    super(backend, projects, ContextKeys.hasExperiments);
  }

  /** How many times the list was loaded, for tests. */
  loads = 0;

  /**
   * One reload at a time, and at most one more queued behind it: runs being ingested send an event
   * per pass per run, and reloading the list (and redrawing the view) for each kept the window busy
   * for seconds after a burst of runs, so a page opened then waited for it.
   */
  protected override refreshQuietly(): void {
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = this.refresh()
      .catch(() => undefined) // the backend went away: the reconnect refreshes again
      .finally(() => {
        this.reloading = undefined;
        if (this.reloadAgain && !this.isDisposed) {
          this.reloadAgain = false;
          this.refreshQuietly();
        }
      });
  }

  protected load(client: ApiClient, projectId: string): Promise<readonly Experiment[]> {
    this.loads++;
    return client.listExperiments(projectId);
  }

  protected concerns(e: BackendEvent): boolean {
    return (
      (e.type === 'experimentUpdated' && this.isShownProject(e.experiment.projectId)) ||
      e.type === 'experimentDeleted' ||
      // a backlog is ingested without an experimentUpdated per run: reload once at its end (and as
      // it goes, the progress events come at most twice a second)
      e.type === 'ingestProgress'
    );
  }
}

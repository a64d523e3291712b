import type { ApiClient } from '../../client/api-client';
import type { BackendEvent } from '../../protocol/api';
import type { Experiment } from '../../protocol/experiments';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { ProjectScopedModel } from '../common/project-scoped-model';
import type { ProjectsModel } from '../projects/projects-model';

/** The experiments of the active project, newest first, kept current by backend events. */
export class ExperimentsModel extends ProjectScopedModel<Experiment> {
  constructor(backend: BackendService, projects: ProjectsModel) {
    super(backend, projects, ContextKeys.hasExperiments);
  }

  protected load(client: ApiClient, projectId: string): Promise<readonly Experiment[]> {
    return client.listExperiments(projectId);
  }

  protected concerns(e: BackendEvent): boolean {
    return (
      (e.type === 'experimentUpdated' && e.experiment.projectId === this.projectId) || e.type === 'experimentDeleted'
    );
  }
}

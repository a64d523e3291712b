import type { ApiClient } from '../../client/api-client';
import type { BackendEvent } from '../../protocol/api';
import type { Model } from '../../protocol/models';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { ProjectScopedModel } from '../common/project-scoped-model';
import type { ProjectsModel } from '../projects/projects-model';

/** The models of the active project with their versions and aliases, kept current by backend events. */
export class ModelsModel extends ProjectScopedModel<Model> {
  constructor(backend: BackendService, projects: ProjectsModel) {
    super(backend, projects, ContextKeys.hasModels);
  }

  protected load(client: ApiClient, projectId: string): Promise<readonly Model[]> {
    return client.listModels(projectId);
  }

  protected concerns(e: BackendEvent): boolean {
    return (
      (e.type === 'modelChanged' && this.isShownProject(e.model.projectId)) ||
      (e.type === 'modelDeleted' && this.isShownProject(e.projectId))
    );
  }
}

import type { ApiClient } from '../../client/api-client';
import type { BackendEvent } from '../../protocol/api';
import type { Service } from '../../protocol/containers';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { ProjectScopedModel } from '../common/project-scoped-model';
import type { ProjectsModel } from '../projects/projects-model';

/** The services of the active project with their live status, kept current by backend events. */
export class ServicesModel extends ProjectScopedModel<Service> {
  constructor(backend: BackendService, projects: ProjectsModel) {
    super(backend, projects, ContextKeys.hasServices);
  }

  protected load(client: ApiClient, projectId: string): Promise<readonly Service[]> {
    return client.listServices(projectId);
  }

  protected concerns(e: BackendEvent): boolean {
    return (
      (e.type === 'serviceUpdated' && this.isShownProject(e.service.projectId)) ||
      (e.type === 'serviceDeleted' && this.isShownProject(e.projectId)) ||
      e.type === 'dockerStatus'
    );
  }
}

import type { ApiClient } from '../../client/api-client';
import type { BackendEvent } from '../../protocol/api';
import type { Job } from '../../protocol/containers';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { ProjectScopedModel } from '../common/project-scoped-model';
import type { ProjectsModel } from '../projects/projects-model';

/** The jobs of the active project with their last run, kept current by backend events. */
export class JobsModel extends ProjectScopedModel<Job> {
  constructor(backend: BackendService, projects: ProjectsModel) {
    super(backend, projects, ContextKeys.hasJobs);
  }

  protected load(client: ApiClient, projectId: string): Promise<readonly Job[]> {
    return client.listJobs(projectId);
  }

  protected concerns(e: BackendEvent): boolean {
    return (
      (e.type === 'jobChanged' && e.job.projectId === this.projectId) ||
      (e.type === 'jobDeleted' && e.projectId === this.projectId) ||
      (e.type === 'jobRunUpdated' && e.run.projectId === this.projectId) ||
      e.type === 'dockerStatus'
    );
  }
}

import type { ApiClient } from '../../client/api-client';
import type { BackendEvent } from '../../protocol/api';
import type { Job } from '../../protocol/containers';
import type { Schedule } from '../../protocol/schedules';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { ProjectScopedModel } from '../common/project-scoped-model';
import type { ProjectsModel } from '../projects/projects-model';

/** A job as the Jobs view shows it: its definition and last run, its schedule and the jobs it runs after. */
export interface JobView extends Job {
  readonly schedule: Schedule | null;
  /** names of the jobs that must succeed first */
  readonly upstreams: readonly string[];
  /** names of the jobs that run after this one */
  readonly downstreams: readonly string[];
}

/** The jobs of the active project with their last run, schedule and dependencies, kept current by backend events. */
export class JobsModel extends ProjectScopedModel<JobView> {
  constructor(backend: BackendService, projects: ProjectsModel) {
    super(backend, projects, ContextKeys.hasJobs);
  }

  protected async load(client: ApiClient, projectId: string): Promise<readonly JobView[]> {
    const [jobs, pipeline] = await Promise.all([client.listJobs(projectId), client.pipeline(projectId)]);
    const graph = new Map(pipeline.jobs.map((j) => [j.id, j]));
    return jobs.map((job) => {
      const node = graph.get(job.id);
      return {
        ...job,
        schedule: node?.schedule ?? null,
        upstreams: node?.upstreams ?? [],
        downstreams: node?.downstreams ?? [],
      };
    });
  }

  protected concerns(e: BackendEvent): boolean {
    return (
      (e.type === 'jobChanged' && this.isShownProject(e.job.projectId)) ||
      (e.type === 'jobDeleted' && this.isShownProject(e.projectId)) ||
      (e.type === 'jobRunUpdated' && this.isShownProject(e.run.projectId)) ||
      (e.type === 'scheduleChanged' && this.isShownProject(e.projectId)) ||
      (e.type === 'pipelineChanged' && this.isShownProject(e.projectId)) ||
      e.type === 'dockerStatus'
    );
  }
}

import type { ApiClient } from '../../client/api-client';
import type { BackendEvent } from '../../protocol/api';
import type { Dataset, DatasetVersion } from '../../protocol/datasets';
import type { BackendService } from '../backend/backend-service';
import { ContextKeys } from '../common/commands';
import { ProjectScopedModel } from '../common/project-scoped-model';
import type { ProjectsModel } from '../projects/projects-model';

/** The datasets of the active project, kept current by backend events; never polled. */
export class DatasetsModel extends ProjectScopedModel<Dataset> {
  constructor(backend: BackendService, projects: ProjectsModel) {
    super(backend, projects, ContextKeys.hasDatasets);
  }

  protected load(client: ApiClient, projectId: string): Promise<readonly Dataset[]> {
    return client.listDatasets(projectId);
  }

  protected concerns(e: BackendEvent): boolean {
    return (
      (e.type === 'datasetVersionAdded' && this.isShownProject(e.version.projectId)) ||
      (e.type === 'datasetVersionDeleted' && this.isShownProject(e.projectId))
    );
  }

  get datasets(): readonly Dataset[] {
    return this.items;
  }

  /** The dataset a version belongs to, as currently loaded. */
  datasetOf(version: DatasetVersion): Dataset | undefined {
    return this.items.find((d) => d.id === version.datasetId);
  }

  /** Every loaded version, newest first within each dataset. */
  get versions(): DatasetVersion[] {
    return this.items.flatMap((d) => [...d.versions].reverse());
  }
}

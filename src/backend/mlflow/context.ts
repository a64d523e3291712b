import type { ExperimentRepository } from '../experiments/repository';
import type { ExperimentTracker } from '../experiments/tracker';
import type { BlobStore } from '../files/blob-store';
import type { Logger } from '../log';
import type { ModelRepository } from '../models/repository';
import type { ProjectRepository } from '../projects/repository';
import type { Store } from '../store/database';
import type { MlflowAccess } from './access';
import type { MlflowExperiments } from './experiments';
import type { MlflowRunWriter } from './run-writer';
import type { RunsView } from './runs-view';

/** The parts of the lab the MLflow API works on. */
export interface MlflowDeps {
  readonly home: string;
  readonly store: Store;
  readonly projects: ProjectRepository;
  readonly experiments: ExperimentRepository;
  readonly tracker: ExperimentTracker;
  readonly models: ModelRepository;
  readonly blobs: BlobStore;
  readonly log: Logger;
}

/** What the endpoints of the MLflow API share: the lab's parts, and the API's own state and checks. */
export interface MlflowContext {
  readonly deps: MlflowDeps;
  readonly experiments: MlflowExperiments;
  readonly writer: MlflowRunWriter;
  readonly view: RunsView;
  readonly access: MlflowAccess;
}

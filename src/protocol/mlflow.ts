/**
 * The MLflow-compatible API: the request and answer types of MLflow's tracking REST API (2.0) and
 * model registry as the lab serves them under `/api/2.0/mlflow/` (and `/ajax-api/2.0/mlflow/`), the
 * artifact proxy under `/api/2.0/mlflow-artifacts/`, and MLflow's limits. docs/MLFLOW.md maps them
 * onto the lab's projects, runs and models. Field names are MLflow's (snake_case), as its clients
 * send and read them.
 */

/** Where the tracking API and the model registry answer (MLflow's clients use the first, its UI the second). */
export const MLFLOW_PREFIXES = ['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'] as const;
/** Where the artifact proxy answers: `<prefix>/artifacts/<experiment id>/<run id>/artifacts/<path>`. */
export const MLFLOW_ARTIFACT_PREFIXES = ['/api/2.0/mlflow-artifacts', '/ajax-api/2.0/mlflow-artifacts'] as const;

/** The experiment id MLflow's clients use when none is set: the lab's active project. */
export const DEFAULT_EXPERIMENT_ID = '0';
export const DEFAULT_EXPERIMENT_NAME = 'Default';

/** MLflow's error codes the lab answers with, and their HTTP status. */
export const MLFLOW_ERROR_STATUS = {
  INVALID_PARAMETER_VALUE: 400,
  BAD_REQUEST: 400,
  MALFORMED_REQUEST: 400,
  INVALID_STATE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_DOES_NOT_EXIST: 404,
  ENDPOINT_NOT_FOUND: 404,
  RESOURCE_ALREADY_EXISTS: 400,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  NOT_IMPLEMENTED: 501,
} as const;

export type MlflowErrorCode = keyof typeof MLFLOW_ERROR_STATUS;

/**
 * An error answer: MLflow's `error_code` and `message`, and the same in the lab's own format
 * (`error.code`, `error.message`) for the lab's clients and tests.
 */
export interface MlflowErrorBody {
  readonly error_code: MlflowErrorCode;
  readonly message: string;
  readonly error: { readonly code: MlflowErrorCode; readonly message: string };
}

/** MLflow's request limits (its REST reference, "Request limits"; mlflow/utils/validation.py). */
export const MLFLOW_LIMITS = {
  metricsPerBatch: 1000,
  paramsTagsPerBatch: 100,
  entitiesPerBatch: 1000,
  /** bytes of a log-batch request */
  batchBytes: 1_000_000,
  keyChars: 250,
  paramValueChars: 6000,
  tagValueChars: 8000,
  /** max_results of a search (runs, experiments, models) */
  maxResults: 50_000,
  defaultMaxResults: 1000,
  /** experiments, registered models, run names */
  nameChars: 250,
  /** points of a metric's history in one answer without max_results */
  historyPage: 100_000,
  /** dataset inputs of one log-inputs request */
  inputsPerRequest: 1000,
} as const;

export type MlflowRunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type MlflowLifecycleStage = 'active' | 'deleted';
export type MlflowViewType = 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';

export interface MlflowTag {
  readonly key: string;
  readonly value: string;
}

export interface MlflowExperiment {
  readonly experiment_id: string;
  readonly name: string;
  readonly artifact_location: string;
  readonly lifecycle_stage: MlflowLifecycleStage;
  readonly last_update_time: number;
  readonly creation_time: number;
  readonly tags: readonly MlflowTag[];
}

export interface MlflowMetric {
  readonly key: string;
  /** NaN and infinities are the strings of JSON's proto mapping */
  readonly value: number | 'NaN' | 'Infinity' | '-Infinity';
  readonly timestamp: number;
  readonly step: number;
}

export interface MlflowRunInfo {
  readonly run_id: string;
  /** the same as run_id (older clients read it) */
  readonly run_uuid: string;
  readonly run_name: string;
  readonly experiment_id: string;
  readonly user_id: string;
  readonly status: MlflowRunStatus;
  readonly start_time: number;
  readonly end_time?: number;
  readonly artifact_uri: string;
  readonly lifecycle_stage: MlflowLifecycleStage;
}

export interface MlflowDatasetInput {
  readonly tags: readonly MlflowTag[];
  readonly dataset: {
    readonly name: string;
    readonly digest: string;
    readonly source_type: string;
    readonly source: string;
    readonly schema?: string;
    readonly profile?: string;
  };
}

export interface MlflowRun {
  readonly info: MlflowRunInfo;
  readonly data: {
    readonly metrics: readonly MlflowMetric[];
    readonly params: readonly MlflowTag[];
    readonly tags: readonly MlflowTag[];
  };
  readonly inputs: { readonly dataset_inputs: readonly MlflowDatasetInput[] };
}

export interface MlflowFileInfo {
  readonly path: string;
  readonly is_dir: boolean;
  /** absent for a folder */
  readonly file_size?: number;
}

export interface MlflowRegisteredModelAlias {
  readonly alias: string;
  readonly version: string;
}

export interface MlflowModelVersion {
  readonly name: string;
  readonly version: string;
  readonly creation_timestamp: number;
  readonly last_updated_timestamp: number;
  readonly user_id: string;
  readonly current_stage: 'None';
  readonly description: string;
  readonly source: string;
  readonly run_id: string;
  readonly status: 'READY';
  readonly tags: readonly MlflowTag[];
  readonly aliases: readonly string[];
}

export interface MlflowRegisteredModel {
  readonly name: string;
  readonly creation_timestamp: number;
  readonly last_updated_timestamp: number;
  readonly description: string;
  readonly latest_versions: readonly MlflowModelVersion[];
  readonly tags: readonly MlflowTag[];
  readonly aliases: readonly MlflowRegisteredModelAlias[];
}

/* Requests (bodies of POST/PATCH/DELETE, queries of GET), as MLflow's REST reference names them. */

export interface CreateExperimentRequest {
  readonly name: string;
  readonly artifact_location?: string;
  readonly tags?: readonly MlflowTag[];
}

export interface CreateRunRequest {
  readonly experiment_id?: string;
  readonly user_id?: string;
  readonly run_name?: string;
  readonly start_time?: number;
  readonly tags?: readonly MlflowTag[];
}

export interface UpdateRunRequest {
  readonly run_id?: string;
  readonly run_uuid?: string;
  readonly status?: MlflowRunStatus;
  readonly end_time?: number;
  readonly run_name?: string;
}

export interface LogBatchRequest {
  readonly run_id: string;
  readonly metrics?: readonly { key: string; value: unknown; timestamp: unknown; step?: unknown }[];
  readonly params?: readonly MlflowTag[];
  readonly tags?: readonly MlflowTag[];
}

export interface SearchRunsRequest {
  readonly experiment_ids?: readonly string[];
  readonly filter?: string;
  readonly run_view_type?: MlflowViewType;
  readonly max_results?: number;
  readonly order_by?: readonly string[];
  readonly page_token?: string;
}

export interface SearchRunsAnswer {
  readonly runs?: readonly MlflowRun[];
  readonly next_page_token?: string;
}

export interface MetricHistoryAnswer {
  readonly metrics: readonly MlflowMetric[];
  readonly next_page_token?: string;
}

export interface SearchExperimentsAnswer {
  readonly experiments: readonly MlflowExperiment[];
  readonly next_page_token?: string;
}

export interface ListArtifactsAnswer {
  readonly root_uri?: string;
  readonly files: readonly MlflowFileInfo[];
  readonly next_page_token?: string;
}

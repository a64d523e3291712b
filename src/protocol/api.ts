import type { DockerStatus, ImagePullProgress, Job, JobRun, Service } from './containers';
import type { DatasetVersion, OperationProgress } from './datasets';
import type { Experiment } from './experiments';
import type { Model } from './models';
import type { Schedule } from './schedules';
import type { Sweep } from './sweeps';

/**
 * The one contract between the backend, its clients (extension, CLI, Node client) and later the
 * webviews. Every type that crosses a process boundary is declared here.
 */

/** Bumped when a route or payload changes incompatibly; clients refuse a backend of another major. */
export const API_VERSION = 1;

export interface Project {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  /** ISO 8601 timestamps */
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What deleting a project removes, counted per kind of record it owns. */
export interface ProjectContents {
  readonly project: Project;
  /** kind -> number of records (datasets, experiments, ...), only kinds this version stores */
  readonly records: Readonly<Record<string, number>>;
}

export interface CreateProjectRequest {
  readonly name: string;
  readonly description?: string;
}

export interface UpdateProjectRequest {
  readonly name?: string;
  readonly description?: string;
}

export interface ActiveProject {
  /** null when no project is active */
  readonly projectId: string | null;
}

export interface BackendStatus {
  readonly version: string;
  readonly apiVersion: number;
  readonly pid: number;
  readonly home: string;
  readonly startedAt: string;
  readonly uptimeMs: number;
  /** event-stream subscribers right now (one per attached window or CLI follower) */
  readonly clients: number;
  readonly activeProjectId: string | null;
  /** runs recorded but not ingested yet: their project does not exist, or none is active */
  readonly waitingRuns: number;
}

/** Body of every 4xx/5xx answer. */
export interface ApiErrorBody {
  readonly error: {
    /** stable machine-readable code, e.g. "name_taken" */
    readonly code: string;
    /** a sentence a person can act on */
    readonly message: string;
  };
}

/**
 * How a `hello` continues an event stream that was dropped (the client sent `Last-Event-ID`):
 * 'replayed': every event published after that id follows, so nothing was missed;
 * 'reset': some are no longer kept (or the id is of an earlier backend process): reload everything.
 */
export type StreamResume = 'replayed' | 'reset';

/**
 * Events pushed on GET /api/events (server-sent events, `id:` = an opaque id, increasing within one
 * backend process, `event:` = type, `data:` = JSON). A client that reconnects sends the last id it
 * got as `Last-Event-ID`.
 */
export type BackendEvent =
  /** first on every stream; absent `resume`: a new stream, whose state the client loads */
  | { readonly type: 'hello'; readonly status: BackendStatus; readonly resume?: StreamResume }
  | { readonly type: 'datasetVersionAdded'; readonly version: DatasetVersion }
  | {
      readonly type: 'datasetVersionDeleted';
      readonly projectId: string;
      readonly name: string;
      readonly version: number;
    }
  | { readonly type: 'operationProgress'; readonly progress: OperationProgress }
  | { readonly type: 'experimentUpdated'; readonly experiment: Experiment }
  | { readonly type: 'experimentDeleted'; readonly id: string }
  | {
      readonly type: 'metricPoints';
      readonly runId: string;
      readonly key: string;
      readonly steps: readonly number[];
      /** when each point was logged (unix ms) */
      readonly times: readonly number[];
      readonly values: readonly (number | null)[];
    }
  | { readonly type: 'projectCreated'; readonly project: Project }
  | { readonly type: 'projectUpdated'; readonly project: Project }
  | { readonly type: 'projectDeleted'; readonly projectId: string }
  | { readonly type: 'activeProjectChanged'; readonly projectId: string | null }
  /** the number of runs waiting for a project changed (see BackendStatus.waitingRuns) */
  | { readonly type: 'runsWaiting'; readonly count: number }
  /**
   * A backlog of run directories is being ingested (at start, after many runs were copied into the
   * lab home, or when waiting runs get a project): at most every 500 ms while it lasts, and once at
   * the end with `done === total`. `total` may grow while it runs (more runs arrive). During a
   * backlog, finished runs are not announced one by one (no experimentUpdated for them): a client
   * reloads its experiment listing at the end, and may show the progress and reload in between.
   */
  | { readonly type: 'ingestProgress'; readonly done: number; readonly total: number }
  | { readonly type: 'jobChanged'; readonly job: Job }
  | { readonly type: 'jobDeleted'; readonly projectId: string; readonly jobId: string }
  | { readonly type: 'jobRunUpdated'; readonly run: JobRun }
  | {
      readonly type: 'scheduleChanged';
      readonly projectId: string;
      readonly jobId: string;
      /** null once the schedule is deleted */
      readonly schedule: Schedule | null;
    }
  | { readonly type: 'pipelineChanged'; readonly projectId: string }
  | { readonly type: 'serviceUpdated'; readonly service: Service }
  | { readonly type: 'serviceDeleted'; readonly projectId: string; readonly serviceId: string }
  | { readonly type: 'modelChanged'; readonly model: Model }
  | { readonly type: 'modelDeleted'; readonly projectId: string; readonly modelId: string; readonly name: string }
  | { readonly type: 'dockerStatus'; readonly status: DockerStatus }
  | { readonly type: 'imagePullProgress'; readonly progress: ImagePullProgress }
  | { readonly type: 'imageBuildOutput'; readonly tag: string; readonly line: string }
  /** a target was added or removed, or a project's default target changed (src/backend/targets) */
  | { readonly type: 'targetsChanged' }
  /** a sweep's state, counts or best trial changed (src/backend/sweeps) */
  | { readonly type: 'sweepUpdated'; readonly sweep: Sweep }
  | { readonly type: 'shuttingDown'; readonly reason: string };

export type BackendEventType = BackendEvent['type'];

/**
 * The registration file `<home>/run/backend.json` (mode 0600): how a second window or CLI finds the
 * backend that owns a lab home. `port` is 0 while the owner is still starting.
 */
export interface Registration {
  readonly pid: number;
  readonly port: number;
  readonly token: string;
  readonly version: string;
  readonly apiVersion: number;
  readonly startedAt: string;
}

/** Message the forked backend sends its parent over IPC once it answers requests (or failed to). */
export type BackendReadyMessage =
  | { readonly type: 'ready'; readonly port: number; readonly attached: boolean }
  | { readonly type: 'failed'; readonly message: string };

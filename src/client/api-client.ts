import * as http from 'http';
import type { BuildImageRequest, CreateJobRequest, DeployServiceRequest } from '../protocol/containers';
import type { AddDatasetRequest, DatasetVersion } from '../protocol/datasets';
import type { Experiment } from '../protocol/experiments';
import { fromList } from '../protocol/experiment-list';
import type { DeployModelRequest, RegisterModelRequest, UpdateModelRequest } from '../protocol/models';
import type { ScheduleRequest } from '../protocol/schedules';
import type { ApiErrorBody, UpdateProjectRequest } from '../protocol/api';
import { datasetRoutes } from '../protocol/routes/datasets';
import { experimentRoutes } from '../protocol/routes/experiments';
import { jobRoutes } from '../protocol/routes/jobs';
import { modelRoutes } from '../protocol/routes/models';
import { projectRoutes } from '../protocol/routes/projects';
import { runtimeRoutes } from '../protocol/routes/runtime';
import { serviceRoutes } from '../protocol/routes/services';
import { schedulerRoutes } from '../protocol/routes/scheduler';
import { statusRoutes } from '../protocol/routes/status';
import { userRoutes } from '../protocol/routes/users';
import type { CreateTokenRequest, Role } from '../protocol/users';
import {
  urlOf,
  type AnswerOf,
  type ParsedAnswer,
  type Route,
  type RouteInput,
  type Streamed,
} from '../protocol/routes/route';

/** An error answer of the backend, carrying its person-readable message. */
export class BackendError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Typed HTTP client of the backend's REST API (127.0.0.1 + bearer token). */
export class ApiClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  constructor(
    readonly port: number,
    private readonly token: string,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  status = () => this.call(statusRoutes.status, {});
  shutdown = () => this.call(statusRoutes.shutdown, {});

  listProjects = () => this.call(projectRoutes.list, {});
  getProject = (idOrName: string) => this.call(projectRoutes.get, { params: { id: idOrName } });
  projectContents = (idOrName: string) => this.call(projectRoutes.contents, { params: { id: idOrName } });
  createProject = (name: string, description?: string) =>
    this.call(projectRoutes.create, { body: description === undefined ? { name } : { name, description } });
  updateProject = (idOrName: string, changes: UpdateProjectRequest) =>
    this.call(projectRoutes.update, { params: { id: idOrName }, body: changes });
  deleteProject = (idOrName: string) => this.call(projectRoutes.delete, { params: { id: idOrName } });
  activeProject = () => this.call(projectRoutes.active, {});
  setActiveProject = (projectId: string | null) => this.call(projectRoutes.setActive, { body: { projectId } });

  listDatasets = (project?: string) => this.call(datasetRoutes.list, { query: { project: project || undefined } });
  getDatasetVersion = (name: string, version: number | 'latest' = 'latest', project?: string) =>
    this.call(datasetRoutes.getVersion, {
      params: { name, version: String(version) },
      query: { project: project || undefined },
    });
  deleteDatasetVersion = (name: string, version: number, project?: string, force = false) =>
    this.call(datasetRoutes.deleteVersion, {
      params: { name, version: String(version) },
      query: { project, force: force ? 'true' : undefined },
    });
  listExperiments = async (project?: string): Promise<Experiment[]> =>
    fromList(await this.call(experimentRoutes.list, { query: { project: project || undefined } }));
  getExperiment = (id: string) => this.call(experimentRoutes.get, { params: { id } });
  getMetricSeries = (id: string, key: string, o: { maxPoints?: number; from?: number; to?: number } = {}) =>
    this.call(experimentRoutes.series, {
      params: { id, key },
      query: { maxPoints: numberText(o.maxPoints), from: numberText(o.from), to: numberText(o.to) },
    });
  deleteExperiment = (id: string) => this.call(experimentRoutes.delete, { params: { id } });
  dockerStatus = () => this.call(runtimeRoutes.docker, {});
  retryDocker = () => this.call(runtimeRoutes.retryDocker, {});
  orphanContainers = () => this.call(runtimeRoutes.orphans, {});
  removeOrphanContainers = () => this.call(runtimeRoutes.removeOrphans, {});
  getImage = (image: string) => this.call(runtimeRoutes.image, { query: { image } });
  /** the images present locally that have a tag, largest first */
  listImages = () => this.call(runtimeRoutes.localImages, {});
  pullImage = (image: string) => this.call(runtimeRoutes.pull, { body: { image } });
  buildImage = (build: BuildImageRequest) => this.call(runtimeRoutes.build, { body: build });
  listJobs = (project?: string) => this.call(jobRoutes.list, { query: { project } });
  createJob = (job: CreateJobRequest, project?: string) =>
    this.call(jobRoutes.create, { query: { project }, body: job });
  getJob = (name: string, project?: string) => this.call(jobRoutes.get, { params: { name }, query: { project } });
  deleteJob = (name: string, project?: string) => this.call(jobRoutes.delete, { params: { name }, query: { project } });
  runJob = (name: string, project?: string) => this.call(jobRoutes.run, { params: { name }, query: { project } });
  jobRuns = (name: string, project?: string) => this.call(jobRoutes.runs, { params: { name }, query: { project } });
  stopJob = (name: string, project?: string) => this.call(jobRoutes.stop, { params: { name }, query: { project } });
  listSchedules = (project?: string) => this.call(schedulerRoutes.list, { query: { project } });
  previewSchedule = (cron: string, timeZone?: string) =>
    this.call(schedulerRoutes.preview, { body: timeZone === undefined ? { cron } : { cron, timeZone } });
  getSchedule = (job: string, project?: string) =>
    this.call(schedulerRoutes.get, { params: { name: job }, query: { project } });
  /** creates or replaces the job's schedule */
  scheduleJob = (job: string, schedule: ScheduleRequest, project?: string) =>
    this.call(schedulerRoutes.put, { params: { name: job }, query: { project }, body: schedule });
  /** changes some fields (e.g. { enabled: false }) */
  updateSchedule = (job: string, changes: Partial<ScheduleRequest>, project?: string) =>
    this.call(schedulerRoutes.patch, { params: { name: job }, query: { project }, body: changes });
  unscheduleJob = (job: string, project?: string) =>
    this.call(schedulerRoutes.delete, { params: { name: job }, query: { project } });
  /** the jobs that must succeed before `job` runs; [] = none */
  setJobUpstreams = (job: string, upstreams: readonly string[], project?: string) =>
    this.call(schedulerRoutes.setUpstreams, { params: { name: job }, query: { project }, body: { upstreams } });
  rerunFrom = (job: string, project?: string) =>
    this.call(schedulerRoutes.rerunFrom, { params: { name: job }, query: { project } });
  /** runs jobs as one pipeline execution (none given: every job that runs after no other) */
  runPipeline = (jobs: readonly string[] = [], project?: string) =>
    this.call(schedulerRoutes.runPipeline, { query: { project }, body: { jobs } });
  pipeline = (project?: string) => this.call(schedulerRoutes.pipeline, { query: { project } });
  getJobRun = (runId: string) => this.call(jobRoutes.getRun, { params: { runId } });
  stopJobRun = (runId: string) => this.call(jobRoutes.stopRun, { params: { runId } });
  /** The run's output; with `follow` the stream ends when the run does. */
  jobRunLogs = (runId: string, follow = false) =>
    this.stream(jobRoutes.runLogs, { params: { runId }, query: { follow: follow ? 'true' : undefined } });
  exportJobs = async (format: 'yaml' | 'json', project?: string) =>
    readAll(await this.stream(jobRoutes.exportFile, { query: { project, format } }));
  importJobs = (text: string, project?: string) =>
    this.call(jobRoutes.importFile, { query: { project }, body: { text } });
  listServices = (project?: string) => this.call(serviceRoutes.list, { query: { project } });
  deployService = (service: DeployServiceRequest, project?: string) =>
    this.call(serviceRoutes.deploy, { query: { project }, body: service });
  getService = (name: string, project?: string) =>
    this.call(serviceRoutes.get, { params: { name }, query: { project } });
  serviceAction = (name: string, action: 'start' | 'stop' | 'restart', project?: string) =>
    this.call(serviceRoutes[action], { params: { name }, query: { project } });
  deleteService = (name: string, project?: string) =>
    this.call(serviceRoutes.delete, { params: { name }, query: { project } });
  serviceLogs = (name: string, follow = false, project?: string) =>
    this.stream(serviceRoutes.logs, { params: { name }, query: { project, follow: follow ? 'true' : undefined } });
  listModels = (project?: string) => this.call(modelRoutes.list, { query: { project } });
  getModel = (name: string, project?: string) => this.call(modelRoutes.get, { params: { name }, query: { project } });
  updateModel = (name: string, changes: UpdateModelRequest, project?: string) =>
    this.call(modelRoutes.update, { params: { name }, query: { project }, body: changes });
  registerModel = (request: RegisterModelRequest) => this.call(modelRoutes.register, { body: request });
  /** `version`: a number, an alias ("production") or "latest" */
  getModelVersion = (name: string, version: number | string = 'latest', project?: string) =>
    this.call(modelRoutes.getVersion, { params: { name, version: String(version) }, query: { project } });
  deleteModelVersion = (name: string, version: number, project?: string, force = false) =>
    this.call(modelRoutes.deleteVersion, {
      params: { name, version: String(version) },
      query: { project, force: force ? 'true' : undefined },
    });
  setModelAlias = (name: string, alias: string, version: number, project?: string) =>
    this.call(modelRoutes.setAlias, { params: { name, alias }, query: { project }, body: { version } });
  removeModelAlias = (name: string, alias: string, project?: string) =>
    this.call(modelRoutes.removeAlias, { params: { name, alias }, query: { project } });
  deployModel = (name: string, request: DeployModelRequest, project?: string) =>
    this.call(modelRoutes.deploy, { params: { name }, query: { project }, body: request });
  listUsers = () => this.call(userRoutes.list, {});
  addUser = (name: string, role?: Role) => this.call(userRoutes.add, { body: role ? { name, role } : { name } });
  removeUser = (name: string) => this.call(userRoutes.remove, { params: { name } });
  listTokens = () => this.call(userRoutes.tokens, {});
  /** the answer holds the token's secret: the only time it is shown */
  createToken = (request: CreateTokenRequest) => this.call(userRoutes.createToken, { body: request });
  revokeToken = (id: string) => this.call(userRoutes.revokeToken, { params: { id } });
  cancelOperation = (operationId: string) => this.call(datasetRoutes.cancelOperation, { params: { id: operationId } });

  /**
   * Adds a file or folder as a new dataset version. Aborting `signal` closes the request, which
   * cancels the add on the backend (nothing is left behind).
   */
  addDataset(request: AddDatasetRequest, signal?: AbortSignal): Promise<DatasetVersion> {
    return this.call(datasetRoutes.add, { body: request }, signal);
  }

  /**
   * Calls a route of the tables in `protocol/routes`: its URL, body and answer type come from the
   * entry. A `Streamed` route is read with `stream` instead (its input does not type-check here).
   */
  call<R extends Route>(route: R, input: JsonRouteInput<R>, signal?: AbortSignal): Promise<ParsedAnswer<AnswerOf<R>>> {
    const { params, query, body } = input as { params?: Record<string, string>; query?: object; body?: unknown };
    return this.request<ParsedAnswer<AnswerOf<R>>>(route.method, urlOf(route.path, params, query), body, signal);
  }

  /** Opens a `Streamed` route of the tables in `protocol/routes` (a GET): the reply as it comes. */
  stream<R extends Route>(route: R, input: StreamedRouteInput<R>): Promise<http.IncomingMessage> {
    const { params, query } = input as { params?: Record<string, string>; query?: object };
    return this.openStream(urlOf(route.path, params, query));
  }

  /** Sends a request and parses the JSON answer; a 4xx/5xx becomes a BackendError with its message. */
  request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new BackendError(0, 'cancelled', 'Cancelled.'));
        return;
      }
      const req = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.token}`,
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve((text ? JSON.parse(text) : undefined) as T);
              return;
            }
            let error: ApiErrorBody['error'] = { code: 'http_' + status, message: `HTTP ${status}` };
            try {
              error = (JSON.parse(text) as ApiErrorBody).error ?? error;
            } catch {
              // not our JSON: keep the status line
            }
            reject(new BackendError(status, error.code, error.message));
          });
        },
      );
      req.on('error', (e) =>
        reject(new BackendError(0, 'unreachable', `The ML Lab backend does not answer: ${e.message}`)),
      );
      if (signal) {
        // closing the request is how a long operation is cancelled on the backend
        const onAbort = () => {
          req.destroy();
          reject(new BackendError(0, 'cancelled', 'Cancelled.'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        // (a request's own 'close' comes once it is sent, long before a slow answer: wait for the answer)
        const settled = () => signal.removeEventListener('abort', onAbort);
        req.on('response', (res) => res.on('close', settled));
        req.on('error', settled);
      }
      req.end(payload);
    });
  }

  /** A GET whose answer is a stream (logs, files); a 4xx/5xx becomes a BackendError with its message. */
  openStream(path: string): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        { ...this.streamOptions(path), headers: { authorization: `Bearer ${this.token}` } },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(res);
            return;
          }
          void readAll(res).then((text) => {
            let error: ApiErrorBody['error'] = { code: 'http_' + status, message: `HTTP ${status}` };
            try {
              error = (JSON.parse(text) as ApiErrorBody).error ?? error;
            } catch {
              // not our JSON: keep the status line
            }
            reject(new BackendError(status, error.code, error.message));
          });
        },
      );
      req.on('error', (e) =>
        reject(new BackendError(0, 'unreachable', `The ML Lab backend does not answer: ${e.message}`)),
      );
    });
  }

  /** Raw HTTP options for a streaming request (the event stream). */
  streamOptions(path: string): http.RequestOptions {
    return {
      host: '127.0.0.1',
      port: this.port,
      path,
      headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' },
    };
  }

  dispose(): void {
    this.agent.destroy();
  }
}

/** The input of a route answered in JSON; a `Streamed` route has none (see `ApiClient.stream`). */
type JsonRouteInput<R extends Route> = [AnswerOf<R>] extends [Streamed] ? { readonly useStream: never } : RouteInput<R>;
/** The input of a `Streamed` route; any other route has none (see `ApiClient.call`). */
type StreamedRouteInput<R extends Route> = [AnswerOf<R>] extends [Streamed]
  ? RouteInput<R>
  : { readonly useCall: never };

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(Buffer.from(chunk as Buffer));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** a number of a query as text (undefined stays out of the URL) */
function numberText(n: number | undefined): string | undefined {
  return n === undefined ? undefined : String(n);
}

import * as http from 'http';
import * as https from 'https';
import type { BuildImageRequest, CreateJobRequest, DeployServiceRequest } from '../protocol/containers';
import type { AddDatasetRequest, DatasetVersion } from '../protocol/datasets';
import type { Experiment } from '../protocol/experiments';
import { fromList } from '../protocol/experiment-list';
import type { DeployModelRequest, RegisterModelRequest, UpdateModelRequest } from '../protocol/models';
import type { ScheduleRequest } from '../protocol/schedules';
import type { ApiErrorBody, UpdateProjectRequest } from '../protocol/api';
import { blobRoutes, type FinishUploadRequest } from '../protocol/routes/blobs';
import { datasetRoutes, type AddUploadedDatasetRequest } from '../protocol/routes/datasets';
import { experimentRoutes } from '../protocol/routes/experiments';
import { jobRoutes } from '../protocol/routes/jobs';
import { modelRoutes } from '../protocol/routes/models';
import { projectRoutes } from '../protocol/routes/projects';
import { runtimeRoutes } from '../protocol/routes/runtime';
import { serviceRoutes } from '../protocol/routes/services';
import { schedulerRoutes } from '../protocol/routes/scheduler';
import { statusRoutes } from '../protocol/routes/status';
import { userRoutes } from '../protocol/routes/users';
import { memberRoutes } from '../protocol/routes/members';
import type { CreateTokenRequest, ProjectRole, Role } from '../protocol/users';
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

/** Where a lab answers and with which token. */
export interface LabEndpoint {
  /** `http://127.0.0.1:PORT` for a local lab; `https://HOST[:PORT][/PREFIX]` for a lab served to a team */
  readonly url: string;
  readonly token: string;
  /** the PEM certificate(s) of the CA that signed the lab's certificate (a self-signed lab) */
  readonly ca?: string | Buffer;
  /**
   * Where the token of a lab reached by URL came from, which says how to replace a refused one:
   * `MLLAB_TOKEN` or `login` (`mllab login`); absent for a local lab (the registration file's token).
   */
  readonly tokenFrom?: 'MLLAB_TOKEN' | 'login';
  /**
   * How long connecting (with the TLS handshake) may take, in ms, before the request fails; default:
   * 20 s for a lab reached by URL, no limit for a local one
   */
  readonly connectTimeoutMs?: number;
}

/** how long connecting to a lab reached by URL may take */
const REMOTE_CONNECT_TIMEOUT_MS = 20_000;

/** Typed HTTP(S) client of the backend's REST API: a local lab on 127.0.0.1, or a lab served by URL. */
export class ApiClient {
  readonly endpoint: LabEndpoint;
  private readonly target: URL;
  private readonly secure: boolean;
  /** requests answered at once share kept-alive connections */
  private readonly agent: http.Agent;
  /** long answers (the event stream, followed logs) each get a connection of their own */
  private readonly streamAgent: http.Agent;

  /** `new ApiClient(port, token)`: the local backend on 127.0.0.1:port; or a lab's endpoint */
  constructor(endpoint: LabEndpoint | number, token?: string) {
    this.endpoint =
      typeof endpoint === 'number' ? { url: `http://127.0.0.1:${endpoint}`, token: token ?? '' } : endpoint;
    this.target = new URL(this.endpoint.url);
    this.secure = this.target.protocol === 'https:';
    const tls = this.secure && this.endpoint.ca !== undefined ? { ca: this.endpoint.ca } : {};
    this.agent = this.secure
      ? new https.Agent({ keepAlive: true, maxSockets: 16, ...tls })
      : new http.Agent({ keepAlive: true, maxSockets: 16 });
    this.streamAgent = this.secure
      ? new https.Agent({ keepAlive: false, ...tls })
      : new http.Agent({ keepAlive: false });
  }

  /** the lab's URL, without a trailing slash */
  get baseUrl(): string {
    return this.endpoint.url.replace(/\/+$/, '');
  }

  /** the TCP port the lab answers on */
  get port(): number {
    return Number(this.target.port || (this.secure ? 443 : 80));
  }

  /** true for a lab reached by URL (`MLLAB_URL`, `mllab login`), false for the backend of a local lab home */
  get remote(): boolean {
    return this.endpoint.tokenFrom !== undefined;
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
  scaleService = (name: string, replicas: number, project?: string) =>
    this.call(serviceRoutes.scale, { params: { name }, query: { project }, body: { replicas } });
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
  whoami = () => this.call(userRoutes.whoami, {});
  listUsers = () => this.call(userRoutes.list, {});
  addUser = (name: string, role?: Role) => this.call(userRoutes.add, { body: role ? { name, role } : { name } });
  removeUser = (name: string) => this.call(userRoutes.remove, { params: { name } });
  setUserRole = (name: string, role: Role) => this.call(userRoutes.setRole, { params: { name }, body: { role } });
  listTokens = () => this.call(userRoutes.tokens, {});
  /** the answer holds the token's secret: the only time it is shown */
  createToken = (request: CreateTokenRequest) => this.call(userRoutes.createToken, { body: request });
  revokeToken = (id: string) => this.call(userRoutes.revokeToken, { params: { id } });
  /** `project`: an id or a name */
  listMembers = (project: string) => this.call(memberRoutes.list, { params: { id: project } });
  /** adds the user to the project, or changes their role */
  setMember = (project: string, user: string, role: ProjectRole) =>
    this.call(memberRoutes.set, { params: { id: project, user }, body: { role } });
  removeMember = (project: string, user: string) => this.call(memberRoutes.remove, { params: { id: project, user } });
  /** whether the lab holds content by sha256 (a 404 BackendError when not) */
  checkBlob = (sha256: string) => this.call(blobRoutes.check, { params: { sha256 } });
  blobUploadState = (sha256: string) => this.call(blobRoutes.uploadState, { params: { sha256 } });
  idUploadState = (id: string) => this.call(blobRoutes.idUploadState, { params: { id } });
  finishUpload = (id: string, end: FinishUploadRequest) =>
    this.call(blobRoutes.finishUpload, { params: { id }, body: end });
  /** a dataset version made of a blob the lab holds (sent with `uploadBlob` of ./datasets) */
  addUploadedDataset = (request: AddUploadedDatasetRequest) => this.call(datasetRoutes.addUploaded, { body: request });
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
      const req = this.send(
        method,
        path,
        this.agent,
        payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(this.transportError(e)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              try {
                resolve((text ? JSON.parse(text) : undefined) as T);
              } catch {
                reject(this.notMlLab(method, path, res, text));
              }
              return;
            }
            reject(this.errorAnswer(method, path, res, text));
          });
        },
      );
      req.on('error', (e) => reject(this.transportError(e)));
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
      const req = this.send('GET', path, this.streamAgent, {}, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(res);
          return;
        }
        readAll(res).then(
          (text) => reject(this.errorAnswer('GET', path, res, text)),
          (e: Error) => reject(this.transportError(e)),
        );
      });
      req.on('error', (e) => reject(this.transportError(e)));
      req.end();
    });
  }

  /**
   * Opens the event stream (GET /api/events) on a connection of its own, resuming after
   * `lastEventId` when given; `onResponse` gets the reply whatever its status.
   */
  openEvents(lastEventId: string | undefined, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const req = this.send(
      'GET',
      '/api/events',
      this.streamAgent,
      { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      onResponse,
    );
    req.end();
    return req;
  }

  /**
   * A request whose body or answer is raw bytes (content sent or fetched by range), on a connection
   * of its own: the caller writes the body and reads the answer; `transportError` names a failure.
   */
  rawRequest(
    method: string,
    path: string,
    headers: http.OutgoingHttpHeaders,
    onResponse: (res: http.IncomingMessage) => void,
  ): http.ClientRequest {
    return this.send(method, path, this.streamAgent, headers, onResponse);
  }

  /**
   * Why an answer that is not a success failed: the backend's own error, said for a person; a refused
   * token of a lab reached by URL also says how to give a new one.
   */
  errorAnswer(method: string, path: string, res: http.IncomingMessage, text: string): BackendError {
    const status = res.statusCode ?? 0;
    const error = errorOf(text);
    if (!error) {
      if (status === 502 || status === 503 || status === 504) {
        return new BackendError(
          status,
          'unreachable',
          `The lab at ${this.baseUrl} does not answer behind its proxy (HTTP ${status} ${res.statusMessage ?? ''}): it may be stopped or restarting; try again in a moment, or ask its admin.`,
        );
      }
      return this.notMlLab(method, path, res, text);
    }
    if (status === 401 && this.remote) {
      const renew =
        this.endpoint.tokenFrom === 'MLLAB_TOKEN'
          ? 'set MLLAB_TOKEN to a new one'
          : `run "mllab login ${this.baseUrl}" with a new one`;
      return new BackendError(
        status,
        error.code,
        `The lab at ${this.baseUrl} refused the token (expired or revoked?): ${renew}. The lab says: ${error.message}`,
      );
    }
    return new BackendError(status, error.code, error.message);
  }

  /** An answer that is not ML Lab's: the URL points at something else. */
  private notMlLab(method: string, path: string, res: http.IncomingMessage, text: string): BackendError {
    const type = String(res.headers['content-type'] ?? 'no content type').split(';')[0];
    const start = text
      .slice(0, 60)
      .replace(/[^\x20-\x7e]+/g, ' ')
      .trim();
    return new BackendError(
      res.statusCode ?? 0,
      'not_ml_lab',
      `${this.baseUrl} is not an ML Lab (${method} ${path.split('?')[0]} answered HTTP ${res.statusCode} ${res.statusMessage ?? ''}, ${type}${start ? `: "${start}${text.length > 60 ? '...' : ''}"` : ''}): check the URL (and its port and path).`,
    );
  }

  /** A connection that failed, named for a person: TLS problems say what to do about them. */
  transportError(e: NodeJS.ErrnoException): BackendError {
    if (!this.remote) {
      return new BackendError(0, 'unreachable', `The ML Lab backend does not answer: ${e.message}`);
    }
    const url = this.baseUrl;
    const code = e.code ?? '';
    if (UNTRUSTED.has(code)) {
      return new BackendError(
        0,
        'tls_untrusted',
        `The lab's certificate is not trusted (${code}: ${e.message}): if the lab at ${url} uses its own CA or a self-signed certificate, pass that CA's PEM file with MLLAB_CA_FILE=FILE or "mllab login ${url} --ca FILE".`,
      );
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
      return new BackendError(
        0,
        'tls_expired',
        `The lab's certificate at ${url} is out of its validity dates (${code}): its admin must renew it (or check this machine's clock).`,
      );
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new BackendError(
        0,
        'tls_wrong_host',
        `The lab's certificate does not name ${this.target.hostname} (${e.message}): use the host name it was issued for in the URL.`,
      );
    }
    if (code === 'EPROTO' || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
      return new BackendError(
        0,
        'tls_failed',
        `The TLS connection to ${url} failed (${code}: ${e.message}): check that the URL's scheme (https or http) and port are the lab's.`,
      );
    }
    if (code === 'ECONNREFUSED') {
      return new BackendError(
        0,
        'unreachable',
        `Nothing answers at ${url} (connection refused): check the URL, and that the lab is served ("mllab serve --listen").`,
      );
    }
    if (code === 'ECONNECT_TIMEOUT') {
      return new BackendError(
        0,
        'unreachable',
        `The lab at ${url} did not answer in time (${e.message}${this.secure ? ', with the TLS handshake' : ''}): check the URL, the network (a firewall?) and that the lab runs.`,
      );
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      return new BackendError(0, 'unreachable', `The host of ${url} is not known (${code}): check the URL.`);
    }
    return new BackendError(0, 'unreachable', `The lab at ${url} does not answer: ${e.message}`);
  }

  private send(
    method: string,
    path: string,
    agent: http.Agent,
    headers: http.OutgoingHttpHeaders,
    onResponse: (res: http.IncomingMessage) => void,
  ): http.ClientRequest {
    const options: http.RequestOptions = {
      protocol: this.target.protocol,
      // an IPv6 literal comes bracketed in a URL, not in a host name
      hostname: this.target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: this.port,
      method,
      path: this.target.pathname.replace(/\/+$/, '') + path,
      agent,
      headers: { authorization: `Bearer ${this.endpoint.token}`, ...headers },
    };
    const req = (this.secure ? https : http).request(options, onResponse);
    const limit = this.endpoint.connectTimeoutMs ?? (this.remote ? REMOTE_CONNECT_TIMEOUT_MS : undefined);
    if (limit !== undefined) {
      req.once('socket', (socket) => {
        if (req.reusedSocket) {
          return;
        }
        const timer = setTimeout(() => {
          const error: NodeJS.ErrnoException = new Error(`no connection within ${limit} ms`);
          error.code = 'ECONNECT_TIMEOUT';
          req.destroy(error);
        }, limit);
        socket.once(this.secure ? 'secureConnect' : 'connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
    }
    return req;
  }

  dispose(): void {
    this.agent.destroy();
    this.streamAgent.destroy();
  }
}

/** The input of a route answered in JSON; a `Streamed` route has none (see `ApiClient.stream`). */
type JsonRouteInput<R extends Route> = [AnswerOf<R>] extends [Streamed] ? { readonly useStream: never } : RouteInput<R>;
/** The input of a `Streamed` route; any other route has none (see `ApiClient.call`). */
type StreamedRouteInput<R extends Route> = [AnswerOf<R>] extends [Streamed]
  ? RouteInput<R>
  : { readonly useCall: never };

/** the certificate checks that fail when the lab's CA is not among those trusted */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** The `{"error": {code, message}}` of an ML Lab answer, or undefined for anything else. */
function errorOf(text: string): ApiErrorBody['error'] | undefined {
  try {
    const error = (JSON.parse(text) as Partial<ApiErrorBody> | null)?.error;
    return typeof error?.code === 'string' && typeof error.message === 'string' ? error : undefined;
  } catch {
    return undefined;
  }
}

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

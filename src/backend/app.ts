import * as nodeHttp from 'http';
import * as https from 'https';
import * as path from 'path';
import type { FastifyInstance, FastifyServerFactory } from 'fastify';
import { homePaths } from '../common/home';
import { API_VERSION, BackendStatus } from '../protocol/api';
import { LOCAL_TARGET } from '../protocol/targets';
import { EventBus } from './events';
import { registerEventRoutes } from './http/events';
import { AuditLog } from './http/access';
import { createHttpServer } from './http/server';
import { registerStatusRoutes } from './http/status';
import type { Logger } from './log';
import { registerDatasetRoutes } from './datasets/routes';
import { Operations } from './datasets/operations';
import { DatasetRepository } from './datasets/repository';
import { ExperimentRepository } from './experiments/repository';
import { registerExperimentRoutes } from './experiments/routes';
import { registerRunUploadRoutes } from './experiments/upload/routes';
import { ExperimentTracker } from './experiments/tracker';
import { BlobStore } from './files/blob-store';
import { JobRepository } from './jobs/repository';
import { registerJobRoutes } from './jobs/routes';
import { ContainerEngine } from './jobs/engines/container';
import { jobEngineForTarget } from './jobs/engines/for-target';
import { EngineSet } from './jobs/engines/set';
import { RunAccessTokens } from './jobs/run-access';
import { JobRunner } from './jobs/run-lifecycle';
import { modelsFromRuns } from './models/from-runs';
import { ModelRepository } from './models/repository';
import { registerMlflowRoutes } from './mlflow/routes';
import { registerModelRoutes } from './models/routes';
import { ProjectRepository } from './projects/repository';
import { registerSchedulerRoutes } from './scheduler/routes';
import { Scheduler } from './scheduler/service';
import { containerRuntime } from './runtime/setup';
import { Images } from './runtime/images';
import { registerOrphanRoutes } from './runtime/orphans';
import { registerDockerRoutes } from './runtime/routes';
import { ServiceManager } from './services/manager';
import { ServiceRepository } from './services/repository';
import { registerServiceRoutes } from './services/routes';
import { registerProjectRoutes } from './projects/routes';
import { Store } from './store/database';
import { SweepRepository } from './sweeps/repository';
import { registerSweepRoutes } from './sweeps/routes';
import { SweepService } from './sweeps/service';
import { TargetRepository } from './targets/repository';
import { registerTargetRoutes } from './targets/routes';
import { TargetRuntimes } from './targets/runtimes';
import { UserRepository } from './users/repository';
import { registerUserRoutes } from './users/routes';
import { registerMemberRoutes } from './users/member-routes';
import { ProjectAccess } from './users/project-access';

/** How long the start waits for Docker's first answer before serving (it goes on in the background). */
const DOCKER_START_WAIT_MS = 1000;

export interface BackendOptions {
  readonly home: string;
  readonly token: string;
  readonly version: string;
  readonly log: Logger;
  /** 0 = any free port */
  readonly port?: number;
  /** the Docker host (unix://, tcp://, ssh://); default: MLLAB_DOCKER_HOST, then DOCKER_HOST */
  readonly dockerHost?: string;
  /** the lab's URL as the nodes of a cluster reach it (jobs there record through it); default: MLLAB_LAB_URL */
  readonly labUrl?: string;
  /** stop after this long with no event-stream subscriber and no request (0 = never) */
  readonly idleExitMs?: number;
  readonly onShutdown?: (reason: string) => void;
  /**
   * also serve the API to a team on this address (`mllab serve --listen`), over TLS when given; the
   * local clients keep the plain loopback port of the registration file (`port`)
   */
  readonly listen?: ListenOptions;
}

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** PEM certificate (chain) and private key */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** the reverse proxies whose X-Forwarded-* headers are believed (`--trust-proxy`, http/trust-proxy.ts) */
  readonly trustProxy?: readonly string[];
}

/** A running backend: the store, the HTTP API on 127.0.0.1 and the event bus, wired together. */
export class Backend {
  private idleTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private stopping: Promise<void> | undefined;
  private markStopped!: (reason: string) => void;
  /** resolves with the reason once the backend stopped (API request, idle, signal) */
  readonly stopped = new Promise<string>((resolve) => (this.markStopped = resolve));
  readonly startedAt = new Date();

  private constructor(
    private readonly options: BackendOptions,
    readonly store: Store,
    readonly http: FastifyInstance,
    readonly events: EventBus,
    readonly projects: ProjectRepository,
    private readonly operations: Operations,
    readonly experiments: ExperimentTracker,
    private readonly containers: { busy(): boolean; stop(): void },
    private readonly servers: { readonly local?: nodeHttp.Server; readonly audit: AuditLog },
  ) {}

  static async start(options: BackendOptions): Promise<Backend> {
    const checkpointBytes = Number(process.env.MLLAB_STORE_CHECKPOINT_BYTES) || undefined;
    const store = await Store.open(homePaths(options.home).db, options.log, { checkpointBytes });
    const events = new EventBus();
    const blobs = new BlobStore(options.home);
    const datasets = new DatasetRepository(store, blobs, events);
    const experimentRepo = new ExperimentRepository(store, path.join(options.home, 'runs'));
    const jobRepo = new JobRepository(store, options.home, events);
    const serviceRepo = new ServiceRepository(store);
    // the engines jobs and services run on: `local`, remote Docker Engines, Swarm managers
    const targets = new TargetRuntimes({ repo: new TargetRepository(store), localHost: options.dockerHost });
    const models = new ModelRepository(store, blobs, events);
    const scheduler = new Scheduler({
      store,
      jobs: jobRepo,
      events,
      log: options.log,
      start: (job, trigger) => runner.run(job, trigger),
    });
    const users = new UserRepository(store, undefined, events);
    const sweepRepo = new SweepRepository(store);
    const sweeps: SweepService = new SweepService({
      home: options.home,
      repo: sweepRepo,
      events,
      log: options.log,
      // called once the API listens: sweeps start their controllers after that
      lab: () => ({ port: backend.port, token: options.token }),
    });
    const projects = new ProjectRepository(store, events, [
      datasets,
      experimentRepo,
      jobRepo,
      serviceRepo,
      scheduler.repo,
      models,
      users.members,
      sweeps,
    ]);
    const operations = new Operations();
    const leftovers = blobs.cleanTemp();
    const orphans = datasets.collect();
    if (leftovers + orphans > 0) {
      options.log.info(
        `files: removed ${leftovers} unfinished writes and ${orphans} unreferenced blobs left by an earlier crash`,
      );
    }
    const tracker = new ExperimentTracker({
      home: options.home,
      store,
      repo: experimentRepo,
      projects,
      events,
      log: options.log,
      onModel: modelsFromRuns({ blobs, models, log: options.log }),
    });
    const audit = new AuditLog(path.join(homePaths(options.home).logs, 'audit.jsonl'));
    // served to a team: the API answers on the given address (over TLS when given) and, for the clients
    // of this machine that read the registration file, on a plain port of 127.0.0.1 as always
    let local: nodeHttp.Server | undefined;
    const listen = options.listen;
    const serverFactory: FastifyServerFactory | undefined = listen
      ? (handler) => {
          local = nodeHttp.createServer(handler);
          return listen.tls
            ? https.createServer({ cert: listen.tls.cert, key: listen.tls.key }, handler)
            : nodeHttp.createServer(handler);
        }
      : undefined;
    const http = createHttpServer(options.token, options.log, {
      checkToken: (token) => users.check(token),
      projects: new ProjectAccess({ home: options.home, store, projects, members: users.members }),
      audit,
      serverFactory,
      trustProxy: listen?.trustProxy,
    });
    const connection = containerRuntime(options.home, options.dockerHost, events, options.log);
    const images = new Images(connection, events);
    const localJobs = new ContainerEngine({
      home: options.home,
      connection,
      log: options.log,
      datasetBlobs: (projectId) => datasets.list(projectId).flatMap((d) => d.versions),
    });
    const runAccess: RunAccessTokens = new RunAccessTokens({
      url: options.labUrl ?? process.env.MLLAB_LAB_URL ?? null,
      certificate: options.listen?.tls?.cert ?? null,
      users,
      projects,
    });
    const jobEngines: EngineSet = new EngineSet(
      localJobs,
      (job) => {
        const target = targets.resolveTarget(job.projectId, job.spec.target).name;
        return target === LOCAL_TARGET ? null : target;
      },
      jobEngineForTarget({ home: options.home, targets, local: connection, access: runAccess, log: options.log }),
    );
    // a target is not removed while a run of a job is on it
    targets.addUsers((name) =>
      jobRepo
        .activeRuns()
        .filter(({ run }) => run.containerId?.toLowerCase().startsWith(`${name.toLowerCase()}:`))
        .map(({ run }) => `a run of a job (${run.id})`),
    );
    const runner: JobRunner = new JobRunner({
      home: options.home,
      repo: jobRepo,
      engines: jobEngines,
      runAccess,
      events,
      log: options.log,
      // the end of a job may be what the idle countdown waited for
      onSettled: () => backend.armIdleTimer(),
    });
    // after the runner's: runs that ended while nobody watched are recorded before pipelines go on
    connection.listen({
      onAvailable: () => scheduler.resume(),
      onUnavailable: () => undefined,
      onEvent: () => undefined,
    });
    const services = new ServiceManager({
      home: options.home,
      repo: serviceRepo,
      connection,
      events,
      log: options.log,
      targets,
    });
    // Docker is asked while the routes are set up: a client that attaches finds its status known
    const dockerReady = connection.start(DOCKER_START_WAIT_MS);
    const containers = {
      busy: () => runner.busy || sweeps.busy,
      stop: () => {
        scheduler.stop();
        sweeps.close();
        connection.close();
        runner.close();
        services.close();
        targets.close();
      },
    };
    const backend = new Backend(options, store, http, events, projects, operations, tracker, containers, {
      get local() {
        return local;
      },
      audit,
    });
    registerStatusRoutes(
      http,
      () => backend.status(),
      (reason) => void backend.stop(reason),
    );
    registerEventRoutes(
      http,
      events,
      () => backend.status(),
      () => backend.armIdleTimer(),
    );
    registerProjectRoutes(http, projects);
    registerUserRoutes(http, users);
    registerMemberRoutes(http, { projects, users, members: users.members });
    registerDatasetRoutes(http, {
      projects,
      datasets,
      blobs,
      operations,
      events,
      log: options.log,
      usersOf: (projectId, dataset, version) => experimentRepo.usersOfDataset(projectId, dataset, version),
    });
    registerExperimentRoutes(http, { projects, experiments: experimentRepo, tracker });
    registerRunUploadRoutes(http, { home: options.home, log: options.log });
    registerMlflowRoutes(http, {
      home: options.home,
      store,
      projects,
      experiments: experimentRepo,
      tracker,
      models,
      blobs,
      log: options.log,
    });
    registerDockerRoutes(http, connection, images);
    registerOrphanRoutes(http, options.home, connection, (kind, id) =>
      kind === 'job' ? jobRepo.hasRun(id) : kind === 'service' && serviceRepo.byId(id) !== undefined,
    );
    registerJobRoutes(http, {
      home: options.home,
      projects,
      jobs: jobRepo,
      runner,
      startRun: (job) => scheduler.runManually(job),
    });
    registerSchedulerRoutes(http, projects, scheduler);
    registerTargetRoutes(http, { home: options.home, runtimes: targets, projects, events });
    registerServiceRoutes(http, { projects, services: serviceRepo, manager: services });
    registerSweepRoutes(http, projects, sweeps);
    registerModelRoutes(http, {
      projects,
      models,
      experiments: experimentRepo,
      blobs,
      services: serviceRepo,
      manager: services,
      connection,
      images,
      log: options.log,
    });
    // never stop while a request is being answered (a long dataset add), only once all are done
    http.addHook('onRequest', async (_request, reply) => {
      backend.inFlight++;
      backend.armIdleTimer();
      reply.raw.once('close', () => {
        backend.inFlight--;
        backend.armIdleTimer();
      });
    });
    try {
      await dockerReady;
      if (listen) {
        await http.listen({ host: listen.host, port: listen.port });
        await listenLocally(local!, options.port ?? 0);
      } else {
        await http.listen({ host: '127.0.0.1', port: options.port ?? 0 });
      }
    } catch (e) {
      await http.close().catch(() => undefined);
      local?.close();
      store.close();
      throw e;
    }
    tracker.start();
    sweeps.start();
    await scheduler.start().catch((e: Error) => options.log.error(`scheduler: starting failed: ${e.message}`));
    backend.armIdleTimer();
    options.log.info(`backend: listening on http://127.0.0.1:${backend.port} for ${options.home}`);
    if (listen) {
      options.log.info(`backend: serving the lab to a team on ${backend.url}`);
    }
    return backend;
  }

  /** the loopback port of the registration file */
  get port(): number {
    const address = (this.servers.local ?? this.http.server).address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** where the lab is served: the `listen` address (https when it has TLS), else the loopback port */
  get url(): string {
    const listen = this.options.listen;
    if (!listen) {
      return `http://127.0.0.1:${this.port}`;
    }
    const address = this.http.server.address();
    const port = typeof address === 'object' && address ? address.port : listen.port;
    const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
    return `${listen.tls ? 'https' : 'http'}://${host}:${port}`;
  }

  status(): BackendStatus {
    return {
      version: this.options.version,
      apiVersion: API_VERSION,
      pid: process.pid,
      home: this.options.home,
      startedAt: this.startedAt.toISOString(),
      uptimeMs: Date.now() - this.startedAt.getTime(),
      clients: this.events.size,
      activeProjectId: this.projects.activeId(),
      waitingRuns: this.experiments.waitingRuns,
    };
  }

  /** (Re)starts the idle countdown; it only runs while no window or CLI follows the event stream. */
  private armIdleTimer(): void {
    const idle = this.options.idleExitMs ?? 0;
    clearTimeout(this.idleTimer);
    // a running job keeps the backend: its time limit and its end must be recorded
    if (idle > 0 && this.events.size === 0 && this.inFlight === 0 && !this.stopping && !this.containers.busy()) {
      this.idleTimer = setTimeout(() => void this.stop(`idle for ${Math.round(idle / 1000)} s with no client`), idle);
      this.idleTimer.unref();
    }
  }

  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.idleTimer);
      this.options.log.info(`backend: stopping (${reason})`);
      this.events.publish({ type: 'shuttingDown', reason });
      // the ingest stops after its current slice, whatever its backlog (the rest goes on at the next start)
      const tracking = this.experiments.stop();
      this.operations.cancelAll();
      const local = this.servers.local;
      if (local) {
        local.closeAllConnections();
        await new Promise((resolve) => local.close(resolve));
      }
      await this.http.close();
      this.servers.audit.close();
      this.containers.stop();
      await tracking;
      this.store.close({ quick: true });
      this.options.onShutdown?.(reason);
      this.markStopped(reason);
    })();
    return this.stopping;
  }
}

function listenLocally(server: nodeHttp.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

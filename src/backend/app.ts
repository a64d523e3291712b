import type { FastifyInstance } from 'fastify';
import { homePaths } from '../common/home';
import { API_VERSION, BackendStatus } from '../protocol/api';
import { EventBus } from './events';
import { registerEventRoutes } from './http/events';
import { createHttpServer } from './http/server';
import { registerStatusRoutes } from './http/status';
import type { Logger } from './log';
import { registerDatasetRoutes } from './datasets/routes';
import { Operations } from './datasets/operations';
import { DatasetRepository } from './datasets/repository';
import { ExperimentRepository } from './experiments/repository';
import { registerExperimentRoutes } from './experiments/routes';
import { ExperimentTracker } from './experiments/tracker';
import { BlobStore } from './files/blob-store';
import { ProjectRepository } from './projects/repository';
import { registerProjectRoutes } from './projects/routes';
import { Store } from './store/database';

export interface BackendOptions {
  readonly home: string;
  readonly token: string;
  readonly version: string;
  readonly log: Logger;
  /** 0 = any free port */
  readonly port?: number;
  /** stop after this long with no event-stream subscriber and no request (0 = never) */
  readonly idleExitMs?: number;
  readonly onShutdown?: (reason: string) => void;
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
  ) {}

  static async start(options: BackendOptions): Promise<Backend> {
    const checkpointBytes = Number(process.env.MLLAB_STORE_CHECKPOINT_BYTES) || undefined;
    const store = await Store.open(homePaths(options.home).db, options.log, { checkpointBytes });
    const events = new EventBus();
    const blobs = new BlobStore(options.home);
    const datasets = new DatasetRepository(store, blobs);
    const experimentRepo = new ExperimentRepository(store);
    const projects = new ProjectRepository(store, [datasets, experimentRepo]);
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
    });
    const http = createHttpServer(options.token, options.log);
    const backend = new Backend(options, store, http, events, projects, operations, tracker);
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
    registerProjectRoutes(http, projects, events);
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
      await http.listen({ host: '127.0.0.1', port: options.port ?? 0 });
    } catch (e) {
      store.close();
      throw e;
    }
    tracker.start();
    backend.armIdleTimer();
    options.log.info(`backend: listening on http://127.0.0.1:${backend.port} for ${options.home}`);
    return backend;
  }

  get port(): number {
    const address = this.http.server.address();
    return typeof address === 'object' && address ? address.port : 0;
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
    };
  }

  /** (Re)starts the idle countdown; it only runs while no window or CLI follows the event stream. */
  private armIdleTimer(): void {
    const idle = this.options.idleExitMs ?? 0;
    clearTimeout(this.idleTimer);
    if (idle > 0 && this.events.size === 0 && this.inFlight === 0 && !this.stopping) {
      this.idleTimer = setTimeout(() => void this.stop(`idle for ${Math.round(idle / 1000)} s with no client`), idle);
      this.idleTimer.unref();
    }
  }

  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      clearTimeout(this.idleTimer);
      this.options.log.info(`backend: stopping (${reason})`);
      this.events.publish({ type: 'shuttingDown', reason });
      this.operations.cancelAll();
      await this.http.close();
      await this.experiments.stop();
      this.store.close();
      this.options.onShutdown?.(reason);
      this.markStopped(reason);
    })();
    return this.stopping;
  }
}

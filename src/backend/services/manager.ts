import type { Readable } from 'stream';
import type { DeployServiceRequest, Service, ServiceSpec, ServiceStatus } from '../../protocol/containers';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import type { RuntimeConnection } from '../runtime/connection';
import { imageNotFound, RuntimeError } from '../runtime/errors';
import { checkImage, parseEnv, parsePort, parseVolume } from '../runtime/parse';
import { LABELS, type ContainerEvent, type ContainerInfo, type ContainerRuntime } from '../runtime/runtime';
import { checkPortFree, probe, reachableHost } from './health';
import type { ServiceChanges, ServiceRepository } from './repository';
import { pythonClientMount } from '../jobs/run-directory';
import { LOCAL_TARGET, type Target } from '../../protocol/targets';
import type { TargetRuntimes } from '../targets/runtimes';
import { ClusterServices, onCluster } from './cluster';

export interface ServiceManagerDeps {
  readonly home: string;
  readonly repo: ServiceRepository;
  readonly connection: RuntimeConnection;
  readonly events: EventBus;
  readonly log: Logger;
  /** between health probes */
  readonly healthIntervalMs?: number;
  /** how long a service may take to answer its health path the first time */
  readonly startPeriodMs?: number;
  /** the lab's targets: services on a Swarm target run there (absent: only the lab's own engine) */
  readonly targets?: TargetRuntimes;
}

/** Health probing of one running service container. */
interface Watch {
  timer?: NodeJS.Timeout;
  startedAt: number;
  failures: number;
  /** checks made while starting (they come faster at first) */
  startChecks: number;
}

const FAILURES_UNHEALTHY = 3;
const STOP_GRACE_SECONDS = 5;

export function toServiceSpec(r: DeployServiceRequest): ServiceSpec {
  const healthPath = r.healthPath ?? null;
  if (healthPath !== null && !healthPath.startsWith('/')) {
    throw new ApiError(
      400,
      'invalid_health_path',
      `The health path must start with "/", e.g. /health (got "${healthPath}").`,
    );
  }
  const ports = (r.ports ?? []).map(parsePort);
  if (healthPath !== null && ports.length === 0) {
    throw new ApiError(400, 'invalid_health_path', 'A health path needs a published port: add one, e.g. 8080:80.');
  }
  return {
    name: r.name,
    image: checkImage(r.image),
    command: [...(r.command ?? [])],
    env: parseEnv(r.env),
    ports,
    volumes: (r.volumes ?? []).map(parseVolume),
    restart: r.restart ?? 'no',
    healthPath,
    ...(r.user ? { user: r.user } : {}),
    ...(r.target ? { target: r.target } : {}),
    ...(r.replicas !== undefined ? { replicas: r.replicas } : {}),
    ...(r.publishMode ? { publishMode: r.publishMode } : {}),
    ...(r.endpointPort !== undefined ? { endpointPort: r.endpointPort } : {}),
  };
}

/** What only a cluster gives: refused for a service on the lab's own engine, saying what to do. */
function checkLocal(spec: ServiceSpec): void {
  if ((spec.replicas ?? 1) !== 1 || spec.endpointPort !== undefined || spec.publishMode !== undefined) {
    throw new ApiError(
      400,
      'cluster_only',
      `The service "${spec.name}" asks for replicas, a lab endpoint or a publish mode, which need a Swarm target: add one (mllab target add NAME --docker-host URL) and deploy with --target NAME, or leave them out.`,
    );
  }
}

/**
 * Deploys services as containers and keeps their status: running/exited from the engine's events,
 * healthy/unhealthy from HTTP probes of the health path on the first published port. Every change
 * is published (`serviceUpdated`, `serviceDeleted`), whoever asked for it.
 */
export class ServiceManager {
  private readonly watches = new Map<string, Watch>();
  private readonly runtime: ContainerRuntime;
  private readonly intervalMs: number;
  private readonly startPeriodMs: number;
  /** services on Swarm targets */
  private readonly cluster: ClusterServices | undefined;

  constructor(private readonly deps: ServiceManagerDeps) {
    const targets = deps.targets;
    this.cluster = targets
      ? new ClusterServices({
          home: deps.home,
          repo: deps.repo,
          targets,
          localDocker: () => targets.engine(LOCAL_TARGET).docker,
          events: deps.events,
          log: deps.log,
          // as long as a local service may take to answer its health path the first time
          healthStartSeconds: (deps.startPeriodMs ?? Number(process.env.MLLAB_HEALTH_START_PERIOD_MS ?? 60_000)) / 1000,
        })
      : undefined;
    this.runtime = deps.connection.runtime;
    this.intervalMs = deps.healthIntervalMs ?? Number(process.env.MLLAB_HEALTH_INTERVAL_MS ?? 1000);
    this.startPeriodMs = deps.startPeriodMs ?? Number(process.env.MLLAB_HEALTH_START_PERIOD_MS ?? 60_000);
    deps.connection.listen({
      onAvailable: () => this.reconcile(),
      onUnavailable: (reason) => void this.markUnknown(reason),
      // one at a time, in order: a die event reads the container's state, and the start event
      // that follows it must not be overtaken
      onEvent: (e) => {
        this.events = this.events
          .then(() => this.onEvent(e))
          .catch((err: Error) => deps.log.warn(`services: ${err.message}`));
      },
    });
  }

  private events: Promise<void> = Promise.resolve();

  private async set(id: string, changes: ServiceChanges): Promise<Service | undefined> {
    const current = this.deps.repo.byId(id);
    if (!current) {
      return undefined;
    }
    const same = (Object.keys(changes) as (keyof ServiceChanges)[]).every((k) => current[k] === changes[k]);
    if (same) {
      return current;
    }
    const service = await this.deps.repo.update(id, changes);
    if (service) {
      this.deps.events.publish({ type: 'serviceUpdated', service });
    }
    return service;
  }

  async deploy(projectId: string, request: DeployServiceRequest): Promise<Service> {
    const withTarget = toServiceSpec(request);
    const target = this.cluster?.clusterTarget(projectId, withTarget.target);
    if (target) {
      return this.cluster!.deploy(projectId, target, withTarget);
    }
    if (withTarget.target && withTarget.target.toLowerCase() !== LOCAL_TARGET && !this.cluster) {
      throw new ApiError(
        400,
        'unknown_target',
        `There is no target "${withTarget.target}" in this lab: deploy on local.`,
      );
    }
    // a local service keeps no target: it runs where the lab runs
    const spec: ServiceSpec = { ...withTarget };
    delete (spec as { target?: string }).target;
    checkLocal(spec);
    this.deps.connection.requireAvailable();
    await this.ensureImage(spec.image);
    for (const p of spec.ports) {
      await checkPortFree(p);
    }
    const service = await this.deps.repo.insert(projectId, spec);
    try {
      await this.createAndStart(service);
    } catch (e) {
      await this.deps.repo.delete(service.id);
      throw e;
    }
    const deployed = this.deps.repo.byId(service.id)!;
    this.deps.events.publish({ type: 'serviceUpdated', service: deployed });
    return deployed;
  }

  private async ensureImage(image: string): Promise<void> {
    if (await this.runtime.image(image)) {
      return;
    }
    try {
      await this.runtime.pull(image);
    } catch (e) {
      throw e instanceof RuntimeError && e.code === 'docker_unavailable' ? e : imageNotFound(image);
    }
  }

  private async createAndStart(service: Service): Promise<void> {
    // as in jobs: `import mllab` works in any image with Python
    const python = pythonClientMount(service.env);
    const containerId = await this.runtime.create({
      image: service.image,
      command: service.command,
      env: { ...service.env, ...python.env },
      workingDir: null,
      labels: {
        [LABELS.home]: this.deps.home,
        [LABELS.project]: service.projectId,
        [LABELS.kind]: 'service',
        [LABELS.id]: service.id,
      },
      mounts: [...service.volumes, ...python.mounts],
      ports: service.ports,
      cpus: null,
      memoryBytes: null,
      gpus: 0,
      restart: service.restart,
      user: service.user,
    });
    await this.deps.repo.update(service.id, { containerId });
    try {
      await this.runtime.start(containerId);
    } catch (e) {
      await this.runtime.remove(containerId).catch(() => undefined);
      throw e;
    }
    await this.running(service.id);
  }

  /** The container runs: starting until the health path answers, or simply running without one. */
  private async running(id: string): Promise<void> {
    const service = this.deps.repo.byId(id);
    if (!service) {
      return;
    }
    this.unwatch(id);
    await this.set(id, { status: service.healthPath ? 'starting' : 'running', exitCode: null, reason: null });
    if (service.healthPath) {
      const watch: Watch = { startedAt: Date.now(), failures: 0, startChecks: 0 };
      this.watches.set(id, watch);
      this.schedule(id, watch, 0);
    }
  }

  private schedule(id: string, watch: Watch, delay: number): void {
    watch.timer = setTimeout(() => void this.check(id, watch), delay);
  }

  private async check(id: string, watch: Watch): Promise<void> {
    const service = this.deps.repo.byId(id);
    if (!service?.healthPath || this.watches.get(id) !== watch) {
      return;
    }
    const port = service.ports[0];
    const ok = await probe(reachableHost(port), port.hostPort, service.healthPath);
    if (this.watches.get(id) !== watch) {
      return; // stopped or exited meanwhile
    }
    let status: ServiceStatus = service.status;
    let reason: string | null = service.reason;
    const url = `http://${reachableHost(port)}:${port.hostPort}${service.healthPath}`;
    if (ok) {
      watch.failures = 0;
      status = 'healthy';
      reason = null;
    } else {
      watch.failures++;
      const stillStarting = service.status === 'starting' && Date.now() - watch.startedAt < this.startPeriodMs;
      if (!stillStarting && (service.status !== 'healthy' || watch.failures >= FAILURES_UNHEALTHY)) {
        status = 'unhealthy';
        reason = `${url} does not answer with 2xx or 3xx`;
      }
    }
    await this.set(id, { status, reason });
    // while starting, look again soon and then less often (100 ms, 150 ms, ... up to the interval):
    // a service is seen healthy within a fraction of its start-up time, not up to a whole interval late
    const delay = status === 'starting' ? Math.min(this.intervalMs, 100 * 1.5 ** watch.startChecks++) : this.intervalMs;
    this.schedule(id, watch, delay);
  }

  private unwatch(id: string): Watch | undefined {
    const watch = this.watches.get(id);
    clearTimeout(watch?.timer);
    this.watches.delete(id);
    return watch;
  }

  private async onEvent(e: ContainerEvent): Promise<void> {
    const id = e.labels[LABELS.id];
    if (e.labels[LABELS.kind] !== 'service' || !id) {
      return;
    }
    const service = this.deps.repo.byId(id);
    if (!service || service.containerId !== e.containerId) {
      return;
    }
    if (e.action === 'start') {
      await this.running(id);
    } else if (e.action === 'die') {
      if (this.restarting.has(id)) {
        return; // the start event follows
      }
      this.unwatch(id);
      // stopped by a person: the exit code of the stop signal is no failure
      const stopped = service.status === 'stopped';
      if (!stopped && service.restart !== 'no' && (await this.restartedByEngine(service, e))) {
        return;
      }
      await this.set(id, {
        status: stopped ? 'stopped' : 'exited',
        exitCode: e.exitCode,
        reason: stopped ? null : `the container exited with code ${e.exitCode ?? 'unknown'}`,
      });
    } else if (e.action === 'destroy') {
      this.unwatch(id);
      await this.set(id, { status: 'exited', containerId: null, reason: 'the container was removed outside ML Lab' });
    }
  }

  /**
   * After a die event: when the engine restarts the container (its restart policy), the service is
   * `restarting` with the engine's count, not exited. A crash loop reads "restarting (N times)".
   */
  private async restartedByEngine(service: Service, e: ContainerEvent): Promise<boolean> {
    const info = await this.runtime.inspect(e.containerId);
    if (!info || (info.state !== 'restarting' && info.state !== 'running')) {
      return false;
    }
    await this.set(service.id, {
      status: 'restarting',
      exitCode: e.exitCode,
      restartCount: info.restartCount,
      reason: `the container exited with code ${e.exitCode ?? 'unknown'}; Docker restarts it (restart: ${service.restart})`,
    });
    return true;
  }

  /** Services the backend restarts right now (their die event is not an exit). */
  private readonly restarting = new Set<string>();

  /** The Swarm target a new service of the project runs on, or undefined for the lab's own engine. */
  clusterTarget(projectId: string, override?: string): Target | undefined {
    if (!this.cluster) {
      if (override && override.toLowerCase() !== LOCAL_TARGET) {
        throw new ApiError(400, 'unknown_target', `There is no target "${override}" in this lab: deploy on local.`);
      }
      return undefined;
    }
    return this.cluster.clusterTarget(projectId, override);
  }

  list(projectId: string): Service[] {
    return this.deps.repo.list(projectId);
  }

  /** Replicas of a service on a Swarm target. */
  async scale(service: Service, replicas: number): Promise<Service> {
    if (!this.cluster || !onCluster(service)) {
      throw new ApiError(
        400,
        'cluster_only',
        `The service "${service.name}" runs on the lab's own engine, as one container: deploy it on a Swarm target to scale it.`,
      );
    }
    return this.cluster.scale(service, replicas);
  }

  /** Rolls a service on a Swarm target to another image and environment (health-gated, rolled back on failure). */
  async rollout(service: Service, image: string, env: Readonly<Record<string, string>>): Promise<Service> {
    if (!this.cluster || !onCluster(service)) {
      throw new ApiError(409, 'cluster_only', `The service "${service.name}" is not on a Swarm target.`);
    }
    return this.cluster.rollout(service, image, env);
  }

  async stop(service: Service): Promise<Service> {
    if (this.cluster && onCluster(service)) {
      return this.cluster.stop(service);
    }
    this.deps.connection.requireAvailable();
    // recorded first, so that the die event that follows reads as a stop, not a crash
    this.unwatch(service.id);
    const stopped = (await this.set(service.id, { status: 'stopped', reason: null })) ?? service;
    if (service.containerId) {
      await this.runtime.stop(service.containerId, STOP_GRACE_SECONDS);
    }
    return this.deps.repo.byId(service.id) ?? stopped;
  }

  async start(service: Service): Promise<Service> {
    if (this.cluster && onCluster(service)) {
      return this.cluster.start(service);
    }
    this.deps.connection.requireAvailable();
    const info = service.containerId ? await this.runtime.inspect(service.containerId) : undefined;
    if (info?.state === 'running') {
      return service;
    }
    for (const p of service.ports) {
      await checkPortFree(p);
    }
    if (info) {
      await this.runtime.start(info.id);
      await this.running(service.id);
    } else {
      await this.createAndStart(service);
    }
    return this.deps.repo.byId(service.id)!;
  }

  async restart(service: Service): Promise<Service> {
    if (this.cluster && onCluster(service)) {
      return this.cluster.restart(service);
    }
    if (!service.containerId) {
      return this.start(service);
    }
    this.deps.connection.requireAvailable();
    this.restarting.add(service.id);
    try {
      await this.runtime.restart(service.containerId, STOP_GRACE_SECONDS);
    } finally {
      this.restarting.delete(service.id);
    }
    await this.running(service.id);
    return this.deps.repo.byId(service.id)!;
  }

  async remove(service: Service): Promise<void> {
    if (this.cluster && onCluster(service)) {
      return this.cluster.remove(service);
    }
    this.unwatch(service.id);
    if (service.containerId) {
      this.deps.connection.requireAvailable();
    }
    // deleted first, so that the container's die and destroy events find no service to update
    await this.deps.repo.delete(service.id);
    if (service.containerId) {
      await this.runtime.remove(service.containerId);
    }
    this.deps.events.publish({ type: 'serviceDeleted', projectId: service.projectId, serviceId: service.id });
  }

  async logs(service: Service, follow: boolean, signal?: AbortSignal): Promise<Readable> {
    if (this.cluster && onCluster(service)) {
      return this.cluster.logs(service, follow, signal);
    }
    this.deps.connection.requireAvailable();
    if (!service.containerId) {
      throw new ApiError(409, 'no_container', `The service "${service.name}" has no container: start it first.`);
    }
    return this.runtime.logs(service.containerId, follow, signal);
  }

  /** The services on the lab's own engine (the ones on clusters are followed by ClusterServices). */
  private localServices(): Service[] {
    return this.deps.repo.all().filter((s) => !onCluster(s));
  }

  private async markUnknown(reason: string): Promise<void> {
    for (const s of this.localServices()) {
      this.unwatch(s.id);
      if (s.status !== 'stopped') {
        await this.set(s.id, { status: 'unknown', reason });
      }
    }
  }

  /** Status of every service from what the engine reports now (after a restart or an outage). */
  private async reconcile(): Promise<void> {
    const containers = await this.runtime.list({ [LABELS.home]: this.deps.home, [LABELS.kind]: 'service' });
    const byId = new Map<string, ContainerInfo>(containers.map((c) => [c.labels[LABELS.id], c]));
    for (const s of this.localServices()) {
      const c = s.containerId ? byId.get(s.id) : undefined;
      if (!c) {
        if (s.status !== 'stopped' || s.containerId) {
          await this.set(s.id, {
            status: 'exited',
            containerId: null,
            reason: 'the container is gone: start it again',
          });
        }
      } else if (c.state === 'running') {
        await this.set(s.id, { restartCount: c.restartCount });
        if (!this.watches.has(s.id) || s.status === 'unknown' || s.status === 'restarting') {
          await this.running(s.id);
        }
      } else if (c.state === 'restarting') {
        this.unwatch(s.id);
        await this.set(s.id, {
          status: 'restarting',
          restartCount: c.restartCount,
          reason: `the container exited; Docker restarts it (restart: ${s.restart})`,
        });
      } else if (s.status !== 'stopped') {
        this.unwatch(s.id);
        await this.set(s.id, {
          status: 'exited',
          exitCode: c.exitCode,
          reason: `the container exited with code ${c.exitCode ?? 'unknown'}`,
        });
      }
    }
  }

  close(): void {
    this.cluster?.close();
    for (const id of [...this.watches.keys()]) {
      this.unwatch(id);
    }
  }
}

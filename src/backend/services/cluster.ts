import type Docker from 'dockerode';
import type { Readable } from 'stream';
import type { Service, ServiceReplicas, ServiceSpec, ServiceStatus } from '../../protocol/containers';
import { LOCAL_TARGET, type Target } from '../../protocol/targets';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import { healthToolOf, imageForTarget } from '../runtime/cluster-image';
import type { TargetRuntimes } from '../targets/runtimes';
import type { HealthTool, ServiceEngine, ServiceObservation } from './engine';
import { ReplicaEndpoint } from './endpoint';
import { EngineContainersServiceEngine } from './engines/engine-containers';
import { SwarmServiceEngine } from './engines/swarm';
import { checkPortFree, probe } from './health';
import type { ServiceChanges, ServiceRepository } from './repository';

export interface ClusterServicesDeps {
  readonly home: string;
  readonly repo: ServiceRepository;
  readonly targets: TargetRuntimes;
  /** the lab machine's engine: it holds the images built here, and pushes them to a target's registry */
  readonly localDocker: () => Docker;
  readonly events: EventBus;
  readonly log: Logger;
  /** between two looks at a service's replicas (faster while an update runs) */
  readonly pollMs?: number;
  /** seconds a replica may take before its failed health checks count */
  readonly healthStartSeconds?: number;
}

/** One service followed on its cluster. */
interface Follow {
  timer?: NodeJS.Timeout;
  endpoint?: ReplicaEndpoint;
  /** the last replica report published, to publish only changes */
  last?: string;
  closed: boolean;
  /** replicas without an engine health check, probed by the lab: address -> answered */
  probed: Map<string, boolean>;
}

/** Whether a stored service runs on a cluster target (only those keep their target in the spec). */
export function onCluster(s: Pick<ServiceSpec, 'target'>): boolean {
  return s.target !== undefined && s.target.toLowerCase() !== LOCAL_TARGET;
}

/**
 * Services on the targets of other machines, Swarm clusters (SwarmServiceEngine) and plain remote
 * engines (EngineContainersServiceEngine), behind the same port: deployed with their image pushed to
 * the target's registry and pinned by digest (or sent to a plain engine without one), followed by looking at their replicas (twice a
 * second, four times while an update runs), and, when they ask for one, served by the lab at its own
 * endpoint (a ReplicaEndpoint kept to the replicas that are running and healthy). The status says
 * how many replicas run of how many wanted, and what Swarm said when it rolled an update back.
 */
export class ClusterServices {
  private readonly follows = new Map<string, Follow>();
  private readonly engines = new Map<string, ServiceEngine>();
  private readonly pollMs: number;

  constructor(private readonly deps: ClusterServicesDeps) {
    this.pollMs = deps.pollMs ?? 500;
    deps.targets.addUsers((name) =>
      deps.repo
        .all()
        .filter((s) => s.target?.toLowerCase() === name.toLowerCase())
        .map((s) => `service ${s.name}`),
    );
    for (const s of deps.repo.all().filter(onCluster)) {
      void this.follow(s.id).catch((e: Error) => deps.log.warn(`services: ${s.name}: ${e.message}`));
    }
  }

  /**
   * The target of another machine a new service of the project runs on (a Swarm cluster, or a plain
   * remote engine), or undefined for the lab's own engine.
   */
  clusterTarget(projectId: string, override?: string): Target | undefined {
    const target = this.deps.targets.resolveTarget(projectId, override);
    return target.name.toLowerCase() === LOCAL_TARGET ? undefined : target;
  }

  private engine(targetName: string): ServiceEngine {
    const key = targetName.toLowerCase();
    let engine = this.engines.get(key);
    if (!engine) {
      const { target, docker, runtime } = this.deps.targets.engine(targetName);
      const startSeconds = this.deps.healthStartSeconds ?? 30;
      engine =
        target.kind === 'swarm'
          ? new SwarmServiceEngine(docker, this.deps.home, startSeconds)
          : new EngineContainersServiceEngine(target, docker, runtime, this.deps.home, startSeconds);
      this.engines.set(key, engine);
    }
    return engine;
  }

  private handleOf(service: Service): string {
    if (!service.containerId) {
      throw new ApiError(
        409,
        'no_service',
        `The service "${service.name}" has nothing on its cluster: deploy it again.`,
      );
    }
    return service.containerId;
  }

  async deploy(projectId: string, target: Target, spec: ServiceSpec): Promise<Service> {
    if (spec.volumes.length > 0) {
      throw new ApiError(
        400,
        'volumes_on_cluster',
        `A service on the target "${target.name}" cannot mount folders of a machine (${spec.volumes[0].hostPath}): its replicas run on other machines. Put the files into the image, or deploy on the local target.`,
      );
    }
    const engine = this.engine(target.name);
    if (engine instanceof EngineContainersServiceEngine) {
      engine.check({ ...spec, replicas: spec.replicas ?? 1 });
    }
    if (spec.endpointPort !== undefined) {
      await checkPortFree({ hostIp: '127.0.0.1', hostPort: spec.endpointPort, containerPort: 0 });
    }
    const local = this.deps.localDocker();
    const image = await imageForTarget(
      local,
      target,
      spec.image,
      (p) => this.deps.events.publish({ type: 'imagePullProgress', progress: { image: spec.image, ...p } }),
      undefined,
      this.deps.targets.engine(target.name).docker,
    );
    const health: HealthTool = spec.healthPath ? await healthToolOf(local, spec.image) : null;
    const service = await this.deps.repo.insert(projectId, {
      ...spec,
      image,
      target: target.name,
      replicas: spec.replicas ?? 1,
    });
    try {
      const handle = await engine.deploy(service, image, health);
      await this.deps.repo.update(service.id, { containerId: handle });
      await this.follow(service.id);
    } catch (e) {
      await this.remove(service).catch(() => undefined);
      throw e;
    }
    return this.deps.repo.byId(service.id)!;
  }

  async scale(service: Service, replicas: number): Promise<Service> {
    await this.engine(service.target!).scale(this.handleOf(service), replicas);
    await this.deps.repo.updateSpec(service.id, { replicas });
    return this.look(service.id);
  }

  /** Stopped: no replica runs, the service and its scale are kept. */
  async stop(service: Service): Promise<Service> {
    await this.engine(service.target!).scale(this.handleOf(service), 0);
    await this.set(service.id, { status: 'stopped', reason: null });
    return this.look(service.id);
  }

  async start(service: Service): Promise<Service> {
    const replicas = service.replicas ?? 1;
    await this.engine(service.target!).scale(this.handleOf(service), replicas === 0 ? 1 : replicas);
    await this.set(service.id, { status: 'starting', reason: null });
    return this.look(service.id);
  }

  async restart(service: Service): Promise<Service> {
    await this.engine(service.target!).restart(this.handleOf(service));
    return this.look(service.id);
  }

  /**
   * Rolls a service to another image and environment: Swarm replaces one replica at a time, each
   * new one health-gated, and rolls back by itself when one fails (the status then says so).
   */
  async rollout(service: Service, image: string, env: Readonly<Record<string, string>>): Promise<Service> {
    const target = this.deps.targets.target(service.target!);
    const engineDocker = this.deps.targets.engine(target.name).docker;
    const pinned = await imageForTarget(this.deps.localDocker(), target, image, undefined, undefined, engineDocker);
    await this.engine(target.name).update(this.handleOf(service), { image: pinned, env });
    await this.deps.repo.updateSpec(service.id, { image: pinned, env: { ...env } });
    return this.look(service.id);
  }

  async remove(service: Service): Promise<void> {
    await this.unfollow(service.id);
    await this.deps.repo.delete(service.id);
    if (service.containerId) {
      await this.engine(service.target!).remove(service.containerId);
    }
    this.deps.events.publish({ type: 'serviceDeleted', projectId: service.projectId, serviceId: service.id });
  }

  logs(service: Service, follow: boolean, signal?: AbortSignal): Promise<Readable> {
    return this.engine(service.target!).logs(this.handleOf(service), follow, signal);
  }

  /** Starts following a stored service: its endpoint (if it has one) and a look at its replicas now. */
  private async follow(id: string): Promise<void> {
    const service = this.deps.repo.byId(id);
    if (!service || this.follows.has(id)) {
      return;
    }
    const f: Follow = { closed: false, probed: new Map() };
    this.follows.set(id, f);
    if (service.endpointPort !== undefined) {
      f.endpoint = new ReplicaEndpoint(service.name);
      await f.endpoint.listen(service.endpointPort);
    }
    await this.look(id);
  }

  private async unfollow(id: string): Promise<void> {
    const f = this.follows.get(id);
    this.follows.delete(id);
    if (f) {
      f.closed = true;
      clearTimeout(f.timer);
      await f.endpoint?.close();
    }
  }

  /** Looks at the replicas now (and schedules the next look); answers the service as it is then. */
  private async look(id: string): Promise<Service> {
    const f = this.follows.get(id);
    clearTimeout(f?.timer);
    let updating = false;
    try {
      const service = this.deps.repo.byId(id);
      if (service?.containerId && f && !f.closed) {
        const seen = await this.engine(service.target!).observe(service.containerId, service);
        updating = seen.replicas.update?.state.endsWith('updating') ?? false;
        await this.record(service, seen, f);
      }
    } catch (e) {
      await this.set(id, { status: 'unknown', reason: (e as Error).message });
    } finally {
      if (f && !f.closed) {
        f.timer = setTimeout(() => void this.look(id), updating ? this.pollMs / 2 : this.pollMs);
      }
    }
    return this.deps.repo.byId(id)!;
  }

  private async record(service: Service, seen: ServiceObservation, f: Follow): Promise<void> {
    if (seen.missing) {
      f.endpoint?.setReplicas([]);
      await this.set(service.id, {
        status: 'exited',
        reason: `its ${this.deps.targets.target(service.target!).kind === 'swarm' ? 'Swarm service was' : 'containers were'} removed outside ML Lab`,
      });
      return;
    }
    let replicas = seen.replicas;
    if (service.healthPath && !seen.healthChecked) {
      replicas = await this.probeReplicas(service, replicas, f);
    }
    const serving = replicas.replicas.filter((r) => r.state === 'running' && r.address).map((r) => r.address!);
    f.endpoint?.setReplicas(serving);
    const report = JSON.stringify(replicas);
    const replicasChanged = report !== f.last;
    f.last = report;
    this.deps.repo.setReplicaStatus(service.id, replicas);
    let specChanged = false;
    if (seen.image && seen.image !== service.image && !replicas.update?.state.endsWith('updating')) {
      // Swarm rolled back (or was changed outside ML Lab): what runs is what the service is
      await this.deps.repo.updateSpec(service.id, { image: seen.image, env: seen.env });
      specChanged = true;
    }
    const statusChanged = await this.set(service.id, statusOf(service, replicas));
    if ((replicasChanged || specChanged) && !statusChanged) {
      this.publish(service.id);
    }
  }

  /** Replicas of an image without a health tool: the lab asks their health path itself. */
  private async probeReplicas(service: Service, r: ServiceReplicas, f: Follow): Promise<ServiceReplicas> {
    const replicas = await Promise.all(
      r.replicas.map(async (x) => {
        if (x.state !== 'running' || !x.address) {
          return x;
        }
        const colon = x.address.lastIndexOf(':');
        const ok = await probe(x.address.slice(0, colon), Number(x.address.slice(colon + 1)), service.healthPath!);
        f.probed.set(x.address, ok);
        return ok ? x : { ...x, state: 'starting', message: `${service.healthPath} does not answer yet` };
      }),
    );
    return { ...r, replicas, running: replicas.filter((x) => x.state === 'running').length };
  }

  private publish(id: string): void {
    const service = this.deps.repo.byId(id);
    if (service) {
      this.deps.events.publish({ type: 'serviceUpdated', service });
    }
  }

  /** Records changes of status; publishes the service when anything it shows changed. */
  private async set(id: string, changes: ServiceChanges): Promise<boolean> {
    const current = this.deps.repo.byId(id);
    if (!current) {
      return false;
    }
    const same = (Object.keys(changes) as (keyof ServiceChanges)[]).every((k) => current[k] === changes[k]);
    if (!same) {
      await this.deps.repo.update(id, changes);
      this.publish(id);
    }
    return !same;
  }

  close(): void {
    for (const id of [...this.follows.keys()]) {
      void this.unfollow(id);
    }
  }
}

/** A service's status from its replicas: how many run of how many are wanted, and any rollback. */
export function statusOf(service: Service, r: ServiceReplicas): ServiceChanges {
  const update = r.update;
  if (r.desired === 0) {
    return { status: 'stopped', reason: null };
  }
  const counted = `${r.running}/${r.desired} replicas running`;
  if (update && /^rollback/.test(update.state)) {
    // Swarm rolled back a failed update by itself: the old version serves, and the status says why
    const done = update.state === 'rollback_completed';
    return {
      status: done ? (service.healthPath ? 'healthy' : 'running') : 'unhealthy',
      reason: `the update was rolled back${done ? '' : ` (${update.state.replace('_', ' ')})`}: ${update.message}`,
    };
  }
  if (update?.state === 'paused') {
    return { status: 'unhealthy', reason: `the update is paused: ${update.message}` };
  }
  if (r.running >= r.desired) {
    return { status: service.healthPath ? 'healthy' : 'running', reason: null };
  }
  const why = r.replicas.find((x) => x.state !== 'running' && x.message)?.message;
  const status: ServiceStatus =
    update?.state === 'updating' ||
    r.replicas.some((x) => /new|pending|assigned|accepted|preparing|starting/.test(x.state))
      ? 'starting'
      : 'unhealthy';
  return { status, reason: `${counted}${why ? `: ${why}` : ''}` };
}

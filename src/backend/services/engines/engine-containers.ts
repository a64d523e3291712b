import type Docker from 'dockerode';
import { randomBytes } from 'crypto';
import { PassThrough, type Readable } from 'stream';
import type { Service, ServiceReplica } from '../../../protocol/containers';
import type { Target } from '../../../protocol/targets';
import { ApiError } from '../../errors';
import { engineMessage, imageNotFound, RuntimeError, translate } from '../../runtime/errors';
import { LABELS, type ContainerRuntime } from '../../runtime/runtime';
import type { HealthTool, ServiceEngine, ServiceObservation, ServiceRollout } from '../engine';
import { HEALTH, REACH_LABEL, replicaHealthCheck, swarmServiceName } from './swarm';

/** the replica's number in its service (1..replicas), as Swarm's task slots */
const SLOT_LABEL = 'dev.mllab.slot';
/** the names of the variables the service sets (the container's environment also holds the image's) */
const ENV_KEYS_LABEL = 'dev.mllab.env-keys';
const STOP_GRACE_SECONDS = 10;
/** how long the engine's labels are taken as read */
const LABELS_TTL_MS = 30_000;

/** The parts of a container's inspection read here. */
interface ReplicaView {
  readonly Id: string;
  readonly Created: string;
  readonly Config: { readonly Image: string; readonly Env?: string[]; readonly Labels?: Record<string, string> };
  readonly State: {
    readonly Status: string;
    readonly ExitCode: number;
    readonly Error?: string;
    readonly Health?: { readonly Status: string; readonly Log?: { readonly Output?: string }[] };
  };
  readonly HostConfig?: { readonly PortBindings?: Record<string, { HostPort?: string }[] | null> };
  readonly NetworkSettings?: { readonly Ports?: Record<string, { HostPort?: string }[] | null> };
}

/** A rolling replacement in progress or last done, per service (Swarm keeps this in UpdateStatus). */
interface UpdateState {
  state: 'updating' | 'completed' | 'rollback_completed';
  message: string;
}

/**
 * Services on one remote Docker Engine (a target of kind `docker`): each replica is a container of
 * that engine, labelled with the service (its slot among the replicas), with the engine's own
 * restart policy and, when the image has a tool to ask its health path with, a Docker HEALTHCHECK,
 * so that the engine reports a replica healthy as Swarm does. A plain engine has no rolling update
 * of its own: `update` replaces the replicas one at a time (the old one stops first, since it holds
 * the port on the machine), each new one must turn healthy (or, without a health check, keep
 * running for the monitor time), and a failed one is removed and the old one started again, as
 * Swarm's rollback would. The lab reaches a replica at the engine's host and published port, or
 * where the engine's label `dev.mllab.reach.PORT=HOST:PORT` says (a NAT, a tunnel).
 */
export class EngineContainersServiceEngine implements ServiceEngine {
  private readonly updates = new Map<string, UpdateState>();
  /** replicas asked for per service, as last set here (a stopped service is 0) */
  private readonly desired = new Map<string, number>();
  /** the engine's labels (`docker info`), as last read */
  private engineLabels: { at: number; labels: string[] } | undefined;

  constructor(
    private readonly target: Target,
    private readonly docker: Docker,
    private readonly runtime: ContainerRuntime,
    private readonly home: string,
    /** seconds a replica may take before its failed health checks count */
    private readonly healthStartSeconds = 30,
    /** how long a new replica without a health check must keep running to count as good */
    private readonly monitorMs = 5000,
  ) {}

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const error = translate(e, `${what} on the target "${this.target.name}"`);
      if (error.code === 'docker_unavailable') {
        // not the lab machine's Docker: the person is told which machine does not answer
        throw new RuntimeError(
          503,
          'target_unavailable',
          `The target "${this.target.name}" (${this.target.dockerHost}) does not answer: ${engineMessage(e)}.`,
        );
      }
      throw error;
    }
  }

  /** One engine publishes a port once, and has no routing mesh: said before anything is made. */
  check(service: Pick<Service, 'name' | 'replicas' | 'ports' | 'publishMode'>): void {
    if ((service.replicas ?? 1) > 1 && service.ports.length > 0) {
      throw new ApiError(
        400,
        'replicas_on_engine',
        `The target "${this.target.name}" is one machine, which publishes the port ${service.ports[0].hostPort} once: deploy "${service.name}" with one replica there, or on a Swarm target for more.`,
      );
    }
    if (service.publishMode === 'ingress') {
      throw new ApiError(
        400,
        'publish_mode_on_engine',
        `The target "${this.target.name}" is one Docker Engine, without Swarm's routing mesh: leave out the publish mode (its ports are published on that machine).`,
      );
    }
  }

  private labels(service: Service, slot: number): Record<string, string> {
    return {
      [LABELS.home]: this.home,
      [LABELS.project]: service.projectId,
      [LABELS.kind]: 'service',
      [LABELS.id]: service.id,
      [SLOT_LABEL]: String(slot),
      [ENV_KEYS_LABEL]: Object.keys(service.env).join(','),
    };
  }

  /** The container of one replica (created, not started), from the service's spec. */
  private async createReplica(service: Service, image: string, health: HealthTool, slot: number): Promise<string> {
    const first = service.ports[0];
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of service.ports) {
      exposed[`${p.containerPort}/tcp`] = {};
      // the lab reaches the port from another machine: a loopback address of that machine (the
      // default of a port written HOST_PORT:PORT) would shut it out, so it is published on the
      // machine's addresses, as Swarm's host mode does
      const hostIp = /^(127\.|::1$|localhost$)/.test(p.hostIp) ? '' : p.hostIp;
      bindings[`${p.containerPort}/tcp`] = [{ HostIp: hostIp, HostPort: String(p.hostPort) }];
    }
    const options: Docker.ContainerCreateOptions = {
      name: `${swarmServiceName(service)}-${slot}-${randomBytes(3).toString('hex')}`,
      Image: image,
      ...(service.command.length > 0 ? { Cmd: [...service.command] } : {}),
      Env: Object.entries(service.env).map(([k, v]) => `${k}=${v}`),
      Labels: this.labels(service, slot),
      ...(service.user ? { User: service.user } : {}),
      ExposedPorts: exposed,
      ...(service.healthPath && first && health
        ? { Healthcheck: replicaHealthCheck(health, first.containerPort, service.healthPath, this.healthStartSeconds) }
        : {}),
      HostConfig: {
        PortBindings: bindings,
        RestartPolicy: { Name: service.restart === 'no' ? '' : service.restart },
        LogConfig: { Type: 'local', Config: {} },
      },
    };
    const create = () => this.docker.createContainer(options);
    const created = await create().catch(async (e: unknown) => {
      if ((e as { statusCode?: number }).statusCode !== 404) {
        throw e;
      }
      // an image of the target's registry, pinned by digest: the engine pulls it
      await this.runtime.pull(image).catch(() => {
        throw imageNotFound(image);
      });
      return create();
    });
    return created.id;
  }

  private async startReplica(service: Service, image: string, health: HealthTool, slot: number): Promise<string> {
    const id = await this.createReplica(service, image, health, slot);
    try {
      await this.docker.getContainer(id).start();
    } catch (e) {
      await this.runtime.remove(id).catch(() => undefined);
      throw e;
    }
    return id;
  }

  /** The handle of a service on a plain engine is its id: its replicas are found by their labels. */
  async deploy(service: Service, image: string, health: HealthTool): Promise<string> {
    this.check(service);
    const replicas = service.replicas ?? 1;
    const made: string[] = [];
    try {
      for (let slot = 1; slot <= replicas; slot++) {
        made.push(
          await this.call(`start a replica of "${service.name}"`, () =>
            this.startReplica(service, image, health, slot),
          ),
        );
      }
    } catch (e) {
      await Promise.all(made.map((id) => this.runtime.remove(id).catch(() => undefined)));
      throw e;
    }
    this.desired.set(service.id, replicas);
    return service.id;
  }

  /** The replicas' containers, oldest first. */
  private async replicas(handle: string): Promise<ReplicaView[]> {
    const list = await this.call('list the replicas', () =>
      this.docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.home}=${this.home}`, `${LABELS.id}=${handle}`] },
      }),
    );
    const views = await Promise.all(
      list.map((c) =>
        this.docker
          .getContainer(c.Id)
          .inspect()
          .then((i) => i as unknown as ReplicaView)
          .catch(() => undefined),
      ),
    );
    return views.filter((v): v is ReplicaView => v !== undefined).sort((a, b) => a.Created.localeCompare(b.Created));
  }

  /** The engine's labels: where the lab reaches a published port when not at the engine's host. */
  private async reach(port: number): Promise<string | null> {
    // asked again after a while only: a service is looked at twice a second
    if (!this.engineLabels || Date.now() - this.engineLabels.at > LABELS_TTL_MS) {
      const info = (await this.docker.info().catch(() => ({}))) as { Labels?: string[] };
      this.engineLabels = { at: Date.now(), labels: info.Labels ?? [] };
    }
    const label = this.engineLabels.labels.find((l) => l.startsWith(`${REACH_LABEL}${port}=`));
    if (label) {
      return label.slice(label.indexOf('=') + 1);
    }
    const host = hostOf(this.target.dockerHost);
    return host ? `${host}:${port}` : null;
  }

  async observe(handle: string, service?: Service): Promise<ServiceObservation> {
    const containers = await this.replicas(handle);
    const update = this.updates.get(handle) ?? null;
    if (containers.length === 0) {
      return {
        missing: true,
        replicas: { desired: 0, running: 0, replicas: [], update },
        image: '',
        env: {},
        healthChecked: false,
      };
    }
    const desired =
      this.desired.get(handle) ?? (service ? (service.status === 'stopped' ? 0 : (service.replicas ?? 1)) : 1);
    const replicas: ServiceReplica[] = await Promise.all(
      containers.map(async (c) => {
        const state = replicaState(c);
        const published = Object.values(c.NetworkSettings?.Ports ?? {})[0]?.[0]?.HostPort;
        return {
          node: this.target.name,
          state,
          image: c.Config.Image,
          address: state === 'running' && published ? await this.reach(Number(published)) : null,
          message: replicaMessage(c),
        };
      }),
    );
    // what serves: the newest replica that runs (after a rollback, the old image again)
    const current = [...containers].reverse().find((c) => c.State.Status === 'running') ?? containers.at(-1)!;
    const keys = new Set((current.Config.Labels?.[ENV_KEYS_LABEL] ?? '').split(',').filter(Boolean));
    const env = Object.fromEntries(
      (current.Config.Env ?? [])
        .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as const)
        .filter(([k]) => keys.has(k)),
    );
    return {
      missing: false,
      image: current.Config.Image,
      env,
      healthChecked: containers.some((c) => c.State.Health !== undefined),
      replicas: {
        desired,
        running: replicas.filter((r) => r.state === 'running').length,
        replicas,
        update,
      },
    };
  }

  /** 0 stops the replicas (kept, to start again); more starts the stopped ones, then makes new ones like them. */
  async scale(handle: string, replicas: number): Promise<void> {
    const containers = await this.replicas(handle);
    if (containers.length === 0) {
      throw new ApiError(409, 'no_service', 'The service has no replica left on its target: deploy it again.');
    }
    if (replicas > 1 && Object.keys(containers[0].HostConfig?.PortBindings ?? {}).length > 0) {
      throw new ApiError(
        400,
        'replicas_on_engine',
        `The target "${this.target.name}" is one machine, which publishes a port once: a service with published ports runs one replica there.`,
      );
    }
    const what = `scale the service to ${replicas}`;
    for (const [i, c] of containers.entries()) {
      if (i >= Math.max(replicas, 1)) {
        await this.runtime.remove(c.Id); // scaled down: gone (one is kept, stopped, to start again)
      } else if (i >= replicas) {
        await this.call(what, () => this.runtime.stop(c.Id, STOP_GRACE_SECONDS));
      } else if (c.State.Status !== 'running' && c.State.Status !== 'restarting') {
        await this.call(what, () => this.docker.getContainer(c.Id).start());
      }
    }
    for (let slot = containers.length + 1; slot <= replicas; slot++) {
      await this.call(what, () => this.cloneReplica(containers[0], slot));
    }
    this.desired.set(handle, replicas);
  }

  /** A new replica made like an existing one (its configuration, another slot and name). */
  private async cloneReplica(like: ReplicaView, slot: number): Promise<void> {
    const full = await this.docker.getContainer(like.Id).inspect();
    const created = await this.docker.createContainer({
      ...full.Config,
      name: `${full.Name.replace(/^\//, '').replace(/-\d+-[a-f0-9]+$/, '')}-${slot}-${randomBytes(3).toString('hex')}`,
      Labels: { ...full.Config.Labels, [SLOT_LABEL]: String(slot) },
      HostConfig: full.HostConfig,
    } as Docker.ContainerCreateOptions);
    await created.start();
  }

  /**
   * Replaces the replicas one at a time with the new image and environment, in the background
   * (`observe` reports `updating`, then `completed` or `rollback_completed` with why).
   */
  async update(handle: string, rollout: ServiceRollout): Promise<void> {
    if (this.updates.get(handle)?.state === 'updating') {
      throw new ApiError(409, 'update_running', 'An update of this service is running: wait for it to end.');
    }
    const old = await this.replicas(handle);
    if (old.length === 0) {
      throw new ApiError(409, 'no_service', 'The service has no replica left on its target: deploy it again.');
    }
    this.updates.set(handle, { state: 'updating', message: `replacing ${old.length} replicas` });
    void this.replace(old, rollout).then(
      (done) => this.updates.set(handle, done),
      (e: Error) => this.updates.set(handle, { state: 'rollback_completed', message: e.message }),
    );
  }

  private async replace(old: ReplicaView[], rollout: ServiceRollout): Promise<UpdateState> {
    for (const replica of old) {
      const full = await this.docker.getContainer(replica.Id).inspect();
      const slot = Number(full.Config.Labels?.[SLOT_LABEL] ?? 1);
      await this.runtime.stop(replica.Id, STOP_GRACE_SECONDS);
      let fresh: string | undefined;
      let failure: string | undefined;
      try {
        const created = await this.docker.createContainer({
          ...full.Config,
          Image: rollout.image,
          Env: Object.entries(rollout.env).map(([k, v]) => `${k}=${v}`),
          name: `${full.Name.replace(/^\//, '').replace(/-\d+-[a-f0-9]+$/, '')}-${slot}-${randomBytes(3).toString('hex')}`,
          Labels: { ...full.Config.Labels, [ENV_KEYS_LABEL]: Object.keys(rollout.env).join(',') },
          HostConfig: full.HostConfig,
        } as Docker.ContainerCreateOptions);
        fresh = created.id;
        await created.start();
        failure = await this.settles(fresh, full.Config.Healthcheck !== undefined);
      } catch (e) {
        failure = translate(e, 'start the new replica').message;
      }
      if (failure) {
        // as Swarm's rollback: the new replica goes, the old one serves again
        if (fresh) {
          await this.runtime.remove(fresh).catch(() => undefined);
        }
        await this.docker
          .getContainer(replica.Id)
          .start()
          .catch(() => undefined);
        return { state: 'rollback_completed', message: `replica ${slot}: ${failure}` };
      }
      await this.runtime.remove(replica.Id).catch(() => undefined);
    }
    return { state: 'completed', message: 'update completed' };
  }

  /** Waits for a new replica to turn healthy (or to keep running for the monitor time); answers why not. */
  private async settles(id: string, checked: boolean): Promise<string | undefined> {
    const deadline =
      Date.now() +
      (checked
        ? (this.healthStartSeconds + HEALTH.retries * (HEALTH.intervalSeconds + HEALTH.timeoutSeconds)) * 1000
        : this.monitorMs);
    for (;;) {
      const c = (await this.docker.getContainer(id).inspect()) as unknown as ReplicaView;
      const state = replicaState(c);
      if (state === 'failed' || state === 'unhealthy' || state === 'restarting') {
        return replicaMessage(c) || `it ${state === 'failed' ? 'exited' : 'turned unhealthy'}`;
      }
      if (checked && state === 'running') {
        return undefined;
      }
      if (Date.now() > deadline) {
        return checked ? 'it did not turn healthy in time' : undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async restart(handle: string): Promise<void> {
    for (const c of await this.replicas(handle)) {
      await this.call('restart a replica', () => this.runtime.restart(c.Id, STOP_GRACE_SECONDS));
    }
  }

  /** The replicas' output, one after the other (followed: interleaved as it comes). */
  async logs(handle: string, follow: boolean, signal?: AbortSignal): Promise<Readable> {
    const containers = await this.replicas(handle);
    const streams = await Promise.all(containers.map((c) => this.runtime.logs(c.Id, follow, signal)));
    if (streams.length === 1) {
      return streams[0];
    }
    const merged = new PassThrough();
    let open = streams.length;
    if (open === 0) {
      merged.end();
    }
    const pipeNext = (i: number) => {
      if (i >= streams.length) {
        merged.end();
        return;
      }
      streams[i].pipe(merged, { end: false });
      streams[i].once('end', () => pipeNext(i + 1));
    };
    if (follow) {
      for (const s of streams) {
        s.pipe(merged, { end: false });
        s.once('end', () => --open === 0 && merged.end());
      }
    } else {
      pipeNext(0);
    }
    return merged;
  }

  async remove(handle: string): Promise<void> {
    for (const c of await this.replicas(handle)) {
      await this.runtime.remove(c.Id);
    }
    this.desired.delete(handle);
    this.updates.delete(handle);
  }
}

/** A replica's state in Swarm's words: running only once healthy when it has a health check. */
function replicaState(c: ReplicaView): string {
  const s = c.State;
  if (s.Status === 'running') {
    const health = s.Health?.Status;
    return health === 'starting' ? 'starting' : health === 'unhealthy' ? 'unhealthy' : 'running';
  }
  if (s.Status === 'exited' || s.Status === 'dead') {
    return s.ExitCode === 0 ? 'complete' : 'failed';
  }
  return s.Status; // created, restarting, paused, removing
}

function replicaMessage(c: ReplicaView): string {
  const s = c.State;
  if (s.Error) {
    return s.Error;
  }
  if (s.Status === 'exited' || s.Status === 'dead') {
    return `exited with code ${s.ExitCode}`;
  }
  if (s.Health?.Status === 'unhealthy') {
    return (s.Health.Log?.at(-1)?.Output ?? 'the health check fails').trim();
  }
  return '';
}

/** The host of a tcp:// or ssh:// Docker host (where its published ports are), or null. */
function hostOf(dockerHost: string | null): string | null {
  if (!dockerHost || !/^(tcp|ssh|http|https):\/\//.test(dockerHost)) {
    return null;
  }
  try {
    return new URL(dockerHost.replace(/^tcp:/, 'http:')).hostname || null;
  } catch {
    return null;
  }
}

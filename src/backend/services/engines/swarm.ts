import type Docker from 'dockerode';
import type { Readable } from 'stream';
import type { Service, ServiceReplica } from '../../../protocol/containers';
import { demuxed } from '../../runtime/demux';
import { translate } from '../../runtime/errors';
import { LABELS } from '../../runtime/runtime';
import type { HealthTool, ServiceEngine, ServiceObservation, ServiceRollout } from '../engine';

const SECOND_NS = 1_000_000_000;

/** The parts of the Engine API's Swarm objects read here (dockerode types them loosely). */
interface SwarmNode {
  readonly ID: string;
  readonly Spec?: { readonly Labels?: Record<string, string> };
  readonly Description?: { readonly Hostname?: string };
  readonly Status?: { readonly State?: string; readonly Addr?: string };
}
interface ContainerSpecView {
  readonly Image?: string;
  readonly Env?: string[];
  readonly HealthCheck?: { readonly Test?: string[] };
}
interface SwarmTask {
  readonly Slot?: number;
  readonly CreatedAt?: string;
  readonly NodeID?: string;
  readonly DesiredState?: string;
  readonly Spec?: { readonly ContainerSpec?: ContainerSpecView };
  readonly Status?: {
    readonly State?: string;
    readonly Message?: string;
    readonly Err?: string;
    readonly PortStatus?: { readonly Ports?: { readonly PublishedPort?: number }[] };
  };
}
interface SwarmServiceView {
  readonly Version?: { readonly Index?: number };
  readonly Spec?: {
    readonly Mode?: { readonly Replicated?: { readonly Replicas?: number } };
    readonly TaskTemplate?: { readonly ContainerSpec?: ContainerSpecView; ForceUpdate?: number };
  } & Record<string, unknown>;
  readonly UpdateStatus?: { readonly State?: string; readonly Message?: string };
}
type EditableSpec = {
  Mode?: unknown;
  TaskTemplate: { ContainerSpec: { Image?: string; Env?: string[] }; ForceUpdate?: number };
} & Record<string, unknown>;

/**
 * A node label saying where the lab reaches a port published on that node, when not at the node's
 * own address (a NAT, a tunnel, a test cluster behind loopback ports): `dev.mllab.reach.8080=HOST:PORT`.
 */
export const REACH_LABEL = 'dev.mllab.reach.';

/** Health checks of replicas: every second, a replica that has not answered for 3 s is unhealthy after 3 tries. */
export const HEALTH = { intervalSeconds: 1, timeoutSeconds: 3, retries: 3 } as const;

/**
 * The engine's health check of a replica (a Swarm service's `HealthCheck`, a container's `Healthcheck`:
 * the same fields) asking its own health path on its first published port.
 */
export function replicaHealthCheck(
  tool: Exclude<HealthTool, null>,
  port: number,
  path: string,
  startSeconds: number,
): { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number } {
  return {
    Test: healthCommand(tool, port, path),
    Interval: HEALTH.intervalSeconds * SECOND_NS,
    Timeout: HEALTH.timeoutSeconds * SECOND_NS,
    Retries: HEALTH.retries,
    StartPeriod: Math.round(startSeconds * SECOND_NS),
  };
}

/** The command a replica runs to check its own health path (exit 0 = healthy). */
export function healthCommand(tool: Exclude<HealthTool, null>, port: number, path: string): string[] {
  const url = `http://127.0.0.1:${port}${path}`;
  switch (tool) {
    case 'python3':
      // urlopen raises on 4xx and 5xx, and follows redirects
      return ['CMD', 'python3', '-c', `import urllib.request as u; u.urlopen(${JSON.stringify(url)}, timeout=3)`];
    case 'curl':
      return ['CMD', 'curl', '-fsS', '-o', '/dev/null', '--max-time', '3', url];
    case 'wget':
      // no -T: busybox's wget crashes with it in some containers; the check's own timeout bounds it
      return ['CMD', 'wget', '-q', '-O', '/dev/null', url];
  }
}

/**
 * Swarm's restart condition for a service's restart policy. A replica that exits is replaced
 * unless the policy is on-failure and it succeeded: the replicas asked for are what Swarm keeps
 * running (a "no" would leave a failed replica's place empty for good).
 */
function restartCondition(r: Service['restart']): 'on-failure' | 'any' {
  return r === 'on-failure' ? 'on-failure' : 'any';
}

/** A Swarm service name for a stored service: unique on the cluster, stable for the service. */
export function swarmServiceName(service: Service): string {
  return `mllab-${service.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}-${service.id.slice(0, 8)}`.slice(0, 63);
}

/**
 * Services of a Docker Swarm, as Swarm services: `replicas` replicas placed by Swarm, ports
 * published in host mode (one replica per node and port; no routing mesh needed) or through the
 * ingress mesh, a HealthCheck run in each replica that gates start-up and rolling updates, and an
 * update policy of one replica at a time that rolls back by itself when a new replica fails.
 * Start-first (a new replica before the old one stops) where no host port stands in the way;
 * stop-first otherwise, because the old replica holds the port on its node.
 */
export class SwarmServiceEngine implements ServiceEngine {
  constructor(
    private readonly docker: Docker,
    private readonly home: string,
    /** seconds a replica may take before its failed health checks count */
    private readonly healthStartSeconds = 30,
  ) {}

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw translate(e, what);
    }
  }

  /** The Swarm service spec of a stored service. */
  specOf(service: Service, image: string, health: HealthTool): Docker.CreateServiceOptions {
    const hostMode = (service.publishMode ?? 'host') === 'host';
    const order = hostMode && service.ports.length > 0 ? 'stop-first' : 'start-first';
    const first = service.ports[0];
    const update = {
      Parallelism: 1,
      Delay: 0,
      FailureAction: 'rollback',
      // a replica that dies within this time after it became healthy fails the update too
      Monitor: 5 * SECOND_NS,
      MaxFailureRatio: 0,
      Order: order,
    };
    return {
      Name: swarmServiceName(service),
      Labels: this.labels(service),
      TaskTemplate: {
        ContainerSpec: {
          Image: image,
          ...(service.command.length > 0 ? { Command: [...service.command] } : {}),
          Env: Object.entries(service.env).map(([k, v]) => `${k}=${v}`),
          Labels: this.labels(service),
          StopGracePeriod: 10 * SECOND_NS,
          ...(service.healthPath && first && health
            ? {
                HealthCheck: replicaHealthCheck(
                  health,
                  first.containerPort,
                  service.healthPath,
                  this.healthStartSeconds,
                ),
              }
            : {}),
        },
        RestartPolicy: { Condition: restartCondition(service.restart), Delay: SECOND_NS },
      },
      Mode: { Replicated: { Replicas: service.replicas ?? 1 } },
      UpdateConfig: update,
      RollbackConfig: { ...update, FailureAction: 'pause' },
      EndpointSpec: {
        // no VIP: it needs IPVS, which host-mode services do without
        ...(hostMode ? { Mode: 'dnsrr' } : {}),
        Ports: service.ports.map((p) => ({
          Protocol: 'tcp',
          TargetPort: p.containerPort,
          PublishedPort: p.hostPort,
          PublishMode: hostMode ? 'host' : 'ingress',
        })),
      },
    } as Docker.CreateServiceOptions;
  }

  private labels(service: Service): Record<string, string> {
    return {
      [LABELS.home]: this.home,
      [LABELS.project]: service.projectId,
      [LABELS.kind]: 'service',
      [LABELS.id]: service.id,
    };
  }

  async deploy(service: Service, image: string, health: HealthTool): Promise<string> {
    const created = await this.call(`create the Swarm service of "${service.name}"`, () =>
      this.docker.createService(this.specOf(service, image, health)),
    );
    return created.id as string;
  }

  private async inspect(handle: string): Promise<SwarmServiceView | undefined> {
    try {
      return (await this.docker.getService(handle).inspect()) as SwarmServiceView;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) {
        return undefined;
      }
      throw translate(e, 'read the Swarm service');
    }
  }

  /** Changes the spec of a service (at the version read, as Swarm requires). */
  private async change(handle: string, what: string, edit: (spec: EditableSpec) => void): Promise<void> {
    const current = await this.inspect(handle);
    if (!current?.Spec) {
      throw translate({ statusCode: 404, message: 'the Swarm service is gone' }, what);
    }
    const spec = structuredClone(current.Spec) as EditableSpec;
    edit(spec);
    await this.call(what, () =>
      this.docker.getService(handle).update({ ...spec, version: current.Version?.Index ?? 0 } as never),
    );
  }

  async observe(handle: string): Promise<ServiceObservation> {
    const service = await this.inspect(handle);
    if (!service) {
      return {
        missing: true,
        replicas: { desired: 0, running: 0, replicas: [], update: null },
        image: '',
        env: {},
        healthChecked: false,
      };
    }
    const [tasks, nodes] = (await Promise.all([
      this.call('list the tasks of the Swarm service', () => this.docker.listTasks({ filters: { service: [handle] } })),
      this.call('list the Swarm nodes', () => this.docker.listNodes()),
    ])) as [SwarmTask[], SwarmNode[]];
    const byId = new Map(nodes.map((n) => [n.ID, n]));
    const desired = service.Spec?.Mode?.Replicated?.Replicas ?? 0;
    const replicas: ServiceReplica[] = current(tasks, desired)
      .map((t) => {
        const node = t.NodeID ? byId.get(t.NodeID) : undefined;
        const state = t.Status?.State ?? 'unknown';
        const published = t.Status?.PortStatus?.Ports?.[0]?.PublishedPort;
        const nodeReady = node?.Status?.State === 'ready';
        return {
          node: node?.Description?.Hostname ?? '',
          state: state === 'running' && !nodeReady ? 'lost' : state,
          image: t.Spec?.ContainerSpec?.Image ?? '',
          address: state === 'running' && nodeReady && published ? reachAddress(node, published) : null,
          message:
            t.Status?.Err ||
            (state === 'running' && !nodeReady ? `node ${node?.Description?.Hostname} is down` : t.Status?.Message) ||
            '',
        };
      })
      .sort((a, b) => a.node.localeCompare(b.node));
    const status = service.UpdateStatus;
    const container = service.Spec?.TaskTemplate?.ContainerSpec;
    return {
      missing: false,
      image: container?.Image ?? '',
      env: Object.fromEntries(
        (container?.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
      ),
      healthChecked: container?.HealthCheck?.Test !== undefined,
      replicas: {
        desired,
        // with a HealthCheck, Swarm reports a replica running only once it is healthy
        running: replicas.filter((r) => r.state === 'running').length,
        replicas,
        update: status?.State ? { state: status.State, message: status.Message ?? '' } : null,
      },
    };
  }

  async scale(handle: string, replicas: number): Promise<void> {
    await this.change(handle, `scale the Swarm service to ${replicas}`, (spec) => {
      spec.Mode = { Replicated: { Replicas: replicas } };
    });
  }

  async update(handle: string, rollout: ServiceRollout): Promise<void> {
    await this.change(handle, 'update the Swarm service', (spec) => {
      const c = spec.TaskTemplate.ContainerSpec;
      c.Image = rollout.image;
      c.Env = Object.entries(rollout.env).map(([k, v]) => `${k}=${v}`);
    });
  }

  async restart(handle: string): Promise<void> {
    await this.change(handle, 'restart the Swarm service', (spec) => {
      spec.TaskTemplate.ForceUpdate = (spec.TaskTemplate.ForceUpdate ?? 0) + 1;
    });
  }

  async logs(handle: string, follow: boolean, signal?: AbortSignal): Promise<Readable> {
    const options = { stdout: true, stderr: true, follow, abortSignal: signal };
    const service = this.docker.getService(handle) as unknown as {
      logs(o: typeof options): Promise<NodeJS.ReadableStream | Buffer>;
    };
    const raw = await this.call('read the output of the Swarm service', () => service.logs(options));
    return demuxed(raw);
  }

  async remove(handle: string): Promise<void> {
    try {
      await this.docker.getService(handle).remove();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) {
        throw translate(e, 'remove the Swarm service');
      }
    }
  }
}

/**
 * The tasks of the replicas now: those Swarm means to run; for a slot with none (its last task
 * failed and Swarm has not started another yet), its newest task, whose error says why.
 */
function current(tasks: readonly SwarmTask[], desired: number): SwarmTask[] {
  const live = tasks.filter((t) => t.DesiredState === 'running' || t.DesiredState === 'ready');
  const liveSlots = new Set(live.map((t) => t.Slot));
  const newestDead = new Map<number, SwarmTask>();
  for (const t of tasks) {
    // slots above the scale are gone (scaled down), not failed
    if (t.Slot === undefined || t.Slot > desired || liveSlots.has(t.Slot) || t.DesiredState === 'running') {
      continue;
    }
    const seen = newestDead.get(t.Slot);
    if (!seen || (t.CreatedAt ?? '') > (seen.CreatedAt ?? '')) {
      newestDead.set(t.Slot, t);
    }
  }
  return [...live, ...newestDead.values()];
}

/** Where the lab reaches `port` published on a node: the node's reach label, else its address. */
export function reachAddress(node: SwarmNode | undefined, port: number): string | null {
  const label = node?.Spec?.Labels?.[`${REACH_LABEL}${port}`];
  if (label) {
    return label;
  }
  const addr = node?.Status?.Addr;
  return addr && addr !== '0.0.0.0' ? `${addr}:${port}` : null;
}

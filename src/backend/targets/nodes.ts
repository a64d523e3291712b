import type Docker from 'dockerode';
import type { TargetKind, TargetNode, TargetNodeState, TargetWorkload } from '../../protocol/targets';
import { LABELS } from '../runtime/runtime';

/** The subset of a Swarm node (GET /nodes) read here; dockerode's type leaves most of it open. */
interface SwarmNode {
  readonly ID: string;
  readonly Spec?: { readonly Role?: string; readonly Availability?: string; readonly Labels?: Record<string, string> };
  readonly Description?: {
    readonly Hostname?: string;
    readonly Resources?: {
      readonly NanoCPUs?: number;
      readonly MemoryBytes?: number;
      readonly GenericResources?: readonly GenericResource[];
    };
    readonly Engine?: { readonly EngineVersion?: string };
  };
  readonly Status?: { readonly State?: string };
}

/** A generic resource a node announces: a count (`DiscreteResourceSpec`) or one named unit (a GPU's UUID). */
interface GenericResource {
  readonly DiscreteResourceSpec?: { readonly Kind: string; readonly Value: number };
  readonly NamedResourceSpec?: { readonly Kind: string; readonly Value: string };
}

/** kind -> count of a node's generic resources (NVIDIA-GPU: 2), named ones counted one each. */
export function genericResources(resources: readonly GenericResource[] | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources ?? []) {
    if (r.DiscreteResourceSpec) {
      counts[r.DiscreteResourceSpec.Kind] = (counts[r.DiscreteResourceSpec.Kind] ?? 0) + r.DiscreteResourceSpec.Value;
    } else if (r.NamedResourceSpec) {
      counts[r.NamedResourceSpec.Kind] = (counts[r.NamedResourceSpec.Kind] ?? 0) + 1;
    }
  }
  return counts;
}

const NODE_STATES = new Set<TargetNodeState>(['ready', 'down', 'disconnected', 'unknown']);

function workloadOf(labels: Readonly<Record<string, string>> | undefined, name: string): TargetWorkload | undefined {
  const kind = labels?.[LABELS.kind];
  const id = labels?.[LABELS.id];
  if ((kind !== 'job' && kind !== 'service') || !id) {
    return undefined;
  }
  return { kind, id, name, projectId: labels?.[LABELS.project] ?? '' };
}

/** A Swarm node as the Targets view shows it. */
export function toTargetNode(node: SwarmNode, workloads: readonly TargetWorkload[]): TargetNode {
  const state = (node.Status?.State ?? 'unknown') as TargetNodeState;
  return {
    id: node.ID,
    name: node.Description?.Hostname ?? node.ID.slice(0, 12),
    role: node.Spec?.Role === 'manager' ? 'manager' : 'worker',
    state: NODE_STATES.has(state) ? state : 'unknown',
    availability: node.Spec?.Availability ?? 'active',
    cpus: (node.Description?.Resources?.NanoCPUs ?? 0) / 1e9,
    memoryBytes: node.Description?.Resources?.MemoryBytes ?? 0,
    gpus: genericResources(node.Description?.Resources?.GenericResources),
    labels: node.Spec?.Labels ?? {},
    engineVersion: node.Description?.Engine?.EngineVersion ?? '',
    workloads,
  };
}

/**
 * The nodes of a swarm, each with what this lab runs there: the running tasks of the services
 * labelled with the lab's home (a job run or a service replica, by the service's labels).
 */
async function swarmNodes(docker: Docker, home: string): Promise<TargetNode[]> {
  const [nodes, services] = await Promise.all([
    docker.listNodes() as Promise<SwarmNode[]>,
    docker.listServices({ filters: { label: [`${LABELS.home}=${home}`] } }),
  ]);
  const byNode = new Map<string, TargetWorkload[]>();
  if (services.length > 0) {
    const tasks = await docker.listTasks({
      filters: { service: services.map((s) => s.ID), 'desired-state': ['running'] },
    });
    const serviceById = new Map(services.map((s) => [s.ID, s]));
    for (const task of tasks) {
      const service = task.ServiceID ? serviceById.get(task.ServiceID) : undefined;
      const workload = service && workloadOf(service.Spec?.Labels, service.Spec?.Name ?? service.ID);
      if (workload && task.NodeID) {
        byNode.set(task.NodeID, [...(byNode.get(task.NodeID) ?? []), workload]);
      }
    }
  }
  return nodes
    .map((n) => toTargetNode(n, byNode.get(n.ID) ?? []))
    .sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name) : a.role === 'manager' ? -1 : 1));
}

/** The one node of a plain engine, from `docker info`, with the lab's containers running on it. */
async function engineNode(docker: Docker, home: string): Promise<TargetNode> {
  const [info, containers] = await Promise.all([
    docker.info() as Promise<EngineInfo>,
    docker.listContainers({ filters: { label: [`${LABELS.home}=${home}`], status: ['running'] } }),
  ]);
  return {
    id: info.ID ?? '',
    name: info.Name ?? '',
    role: 'manager',
    state: 'ready',
    availability: 'active',
    cpus: info.NCPU ?? 0,
    memoryBytes: info.MemTotal ?? 0,
    gpus: genericResources(info.GenericResources ?? undefined),
    labels: engineLabels(info.Labels),
    engineVersion: info.ServerVersion ?? '',
    workloads: containers.flatMap((c) => workloadOf(c.Labels, (c.Names[0] ?? c.Id).replace(/^\//, '')) ?? []),
  };
}

/** What `docker info` answers, the parts read here. */
export interface EngineInfo {
  readonly ID?: string;
  readonly Name?: string;
  readonly NCPU?: number;
  readonly MemTotal?: number;
  readonly ServerVersion?: string;
  readonly Labels?: readonly string[] | null;
  readonly GenericResources?: readonly GenericResource[] | null;
  readonly Swarm?: { readonly LocalNodeState?: string; readonly ControlAvailable?: boolean };
}

/** An engine's labels ("key=value" strings) as a record. */
function engineLabels(labels: readonly string[] | null | undefined): Record<string, string> {
  return Object.fromEntries(
    (labels ?? []).map((l) => {
      const at = l.indexOf('=');
      return at < 0 ? [l, ''] : [l.slice(0, at), l.slice(at + 1)];
    }),
  );
}

/** The nodes of a target's engine: a swarm's nodes, or the one node of a plain engine. */
export function listNodes(docker: Docker, kind: TargetKind, home: string): Promise<TargetNode[]> {
  return kind === 'swarm' ? swarmNodes(docker, home) : engineNode(docker, home).then((n) => [n]);
}

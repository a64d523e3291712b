/**
 * Targets: the container engines a lab runs jobs, services and model deployments on. `local` is the
 * lab machine's own Docker Engine (built in, always there); others are added by name: a remote
 * Docker Engine (tcp:// with TLS, or ssh://) or a Docker Swarm cluster (its manager's Engine API).
 * The engine does the scheduling, placement, restarts and rolling updates; ML Lab never does.
 */

/** `docker`: one engine (local or remote); `swarm`: a Swarm manager, whose nodes run the work */
export type TargetKind = 'docker' | 'swarm';

/** The built-in target: the lab machine's Docker Engine (DOCKER_HOST / `mllab.docker.host`). */
export const LOCAL_TARGET = 'local';

/** TLS client files for a tcp:// engine, as paths on the lab machine (read by the lab, never sent) */
export interface TargetTls {
  readonly caFile: string | null;
  readonly certFile: string | null;
  readonly keyFile: string | null;
}

export interface Target {
  /** a name (letters, digits, '-', '_', '.'); `local` is the built-in one */
  readonly name: string;
  readonly kind: TargetKind;
  /** unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host; null for `local` (its own setting) */
  readonly dockerHost: string | null;
  readonly tls: TargetTls | null;
  /**
   * Where images are pushed so that every node runs the same bits ("host:port" or "host:port/prefix");
   * null: images stay in the engine's own store (enough for one engine, not for a cluster)
   */
  readonly registry: string | null;
  readonly createdAt: string;
}

export type TargetNodeState = 'ready' | 'down' | 'disconnected' | 'unknown';

/** One machine of a target: a Swarm node, or the single engine of a `docker` target. */
export interface TargetNode {
  readonly id: string;
  readonly name: string;
  readonly role: 'manager' | 'worker';
  readonly state: TargetNodeState;
  /** Swarm's availability: active, pause or drain ('active' for a plain engine) */
  readonly availability: string;
  readonly cpus: number;
  readonly memoryBytes: number;
  /** generic resources announced by the node (e.g. { NVIDIA-GPU: 2 }) */
  readonly gpus: Readonly<Record<string, number>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly engineVersion: string;
  /** what ML Lab runs on this node right now: job runs and service replicas */
  readonly workloads: readonly TargetWorkload[];
}

export interface TargetWorkload {
  readonly kind: 'job' | 'service';
  /** the job run's or service's id */
  readonly id: string;
  readonly name: string;
  readonly projectId: string;
}

/** A target with the state of its engine, as the Targets view shows it. */
export interface TargetStatus {
  readonly target: Target;
  /** whether the engine answers; `message` says why not */
  readonly available: boolean;
  readonly message: string | null;
  readonly nodes: readonly TargetNode[];
}

/** POST /api/targets: the lab asks the engine before it keeps the target (its kind is the engine's answer). */
export interface AddTargetRequest {
  readonly name: string;
  /** tcp://HOST:2376, ssh://USER@HOST, unix:///path */
  readonly dockerHost: string;
  /** TLS client files on the lab's machine, for tcp:// */
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** "host:port" or "host:port/prefix" the nodes pull from */
  readonly registry?: string | null;
}

/** A project's default target (GET/PUT /api/projects/:id/target); `local` when it has none. */
export interface ProjectTarget {
  readonly projectId: string;
  readonly target: string;
}

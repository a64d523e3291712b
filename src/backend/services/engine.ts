import type { Readable } from 'stream';
import type { Service, ServiceReplicas } from '../../protocol/containers';

/**
 * How a health path is checked: by the engine itself (a command run inside each replica, which
 * gates Swarm's rolling updates), or by the lab polling over HTTP when the image has no tool to ask
 * with (`null`).
 */
export type HealthTool = 'python3' | 'curl' | 'wget' | null;

/** What the engine says of a service now. */
export interface ServiceObservation {
  readonly replicas: ServiceReplicas;
  /** gone from the engine (removed outside ML Lab) */
  readonly missing: boolean;
  /** what the service runs now (after a rollback: the old image again) */
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
  /** whether the engine checks the replicas' health itself (else the lab polls them) */
  readonly healthChecked: boolean;
}

/** What a rolling update changes: the image (pinned by digest) and the environment. */
export interface ServiceRollout {
  readonly image: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The narrow port a service's engine implements, as jobs have theirs: run a service's workload,
 * observe its replicas, change its scale or roll it to a new image, read its output, remove it.
 * The engine does the placement, restarts and rolling updates; ML Lab records what it reports.
 * `handle` is what `deploy` answered (a Swarm service id; the service's id on a plain engine, whose
 * replicas are containers found by their labels: engines/engine-containers.ts).
 */
export interface ServiceEngine {
  /** creates the workload of a stored service running `image`; answers its handle */
  deploy(service: Service, image: string, health: HealthTool): Promise<string>;
  /** `service`: the stored service, for an engine that keeps no desired scale of its own after a restart */
  observe(handle: string, service?: Service): Promise<ServiceObservation>;
  scale(handle: string, replicas: number): Promise<void>;
  /** starts a rolling update (health-gated, rolled back by the engine when it fails) */
  update(handle: string, rollout: ServiceRollout): Promise<void>;
  /** replaces every replica with a fresh one of the same spec */
  restart(handle: string): Promise<void>;
  logs(handle: string, follow: boolean, signal?: AbortSignal): Promise<Readable>;
  remove(handle: string): Promise<void>;
}

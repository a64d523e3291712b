import type { Readable } from 'stream';
import type { ImageInfo, PortMapping, RestartPolicy, VolumeMapping } from '../../protocol/containers';

export type { ImageInfo };

/** Labels on every container the backend creates, so that it finds them again after a restart. */
export const LABELS = {
  home: 'dev.mllab.home',
  project: 'dev.mllab.project',
  kind: 'dev.mllab.kind',
  id: 'dev.mllab.id',
} as const;

export type ContainerKind = 'job' | 'service';

export interface ContainerSpec {
  readonly name?: string;
  /** default: the engine's (a prefix of the container id) */
  readonly hostname?: string;
  readonly image: string;
  /** empty = the image's command */
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly mounts: readonly VolumeMapping[];
  readonly ports: readonly PortMapping[];
  readonly cpus: number | null;
  readonly memoryBytes: number | null;
  readonly gpus: number;
  readonly restart: RestartPolicy;
  /** "uid:gid" to run as; absent = the image's user */
  readonly user?: string;
  /** the network: absent = the engine's default bridge; `host` = the machine's own (a job elsewhere reaching the lab) */
  readonly network?: 'host';
}

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'exited' | 'dead' | 'removing';

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly state: ContainerState;
  readonly exitCode: number | null;
  /** Docker's own error (e.g. the command was not found), '' if none */
  readonly error: string;
  readonly oomKilled: boolean;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** restarts made by the engine for the restart policy */
  readonly restartCount: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** A state change of a container, from the engine's event stream. */
export interface ContainerEvent {
  readonly containerId: string;
  readonly action: 'create' | 'start' | 'die' | 'stop' | 'kill' | 'oom' | 'destroy' | 'restart' | 'other';
  readonly exitCode: number | null;
  readonly labels: Readonly<Record<string, string>>;
}

export interface PullProgress {
  readonly layers: number;
  readonly currentBytes: number;
  readonly totalBytes: number;
  readonly status: string;
}

export interface EventSubscription {
  /** resolves when the stream ends (daemon gone, or `close`) */
  readonly ended: Promise<void>;
  close(): void;
}

/**
 * The one way the backend talks to a container engine. Errors are RuntimeErrors whose message a
 * person can act on; every call has a time limit. The long ones (logs, pull, build) also take an
 * AbortSignal: when it aborts (the request that asked for it was closed, e.g. with its window),
 * the engine's request is closed at once, which ends a log stream and stops a pull or a build, and
 * the call fails with a `cancelled` RuntimeError.
 */
export interface ContainerRuntime {
  /** the engine's version, or a RuntimeError saying why it does not answer */
  ping(): Promise<string>;
  create(spec: ContainerSpec): Promise<string>;
  start(id: string): Promise<void>;
  /** stops with SIGTERM, then SIGKILL after `graceSeconds` */
  stop(id: string, graceSeconds: number): Promise<void>;
  restart(id: string, graceSeconds: number): Promise<void>;
  remove(id: string): Promise<void>;
  /** undefined when no such container exists */
  inspect(id: string): Promise<ContainerInfo | undefined>;
  list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]>;
  /** the output kept by the engine (stdout and stderr in order); with `follow`, until the container stops */
  logs(id: string, follow: boolean, signal?: AbortSignal): Promise<Readable>;
  /**
   * The live output of a container that is not started yet, until it stops. Faster than following
   * the logs (the engine does not read its log file back), and nothing is missed.
   */
  attach(id: string): Promise<Readable>;
  /** container events of containers carrying `labels`, from now on */
  events(labels: Readonly<Record<string, string>>, onEvent: (e: ContainerEvent) => void): Promise<EventSubscription>;
  /** undefined when the image is not present locally */
  image(name: string): Promise<ImageInfo | undefined>;
  /** the images present locally that have a tag, largest first */
  images(): Promise<ImageInfo[]>;
  pull(name: string, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void>;
  removeImage(name: string): Promise<void>;
  /** builds `contextDir` (its .dockerignore honoured) into `tag`, streaming the output lines */
  build(
    contextDir: string,
    tag: string,
    dockerfile: string,
    onOutput?: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}

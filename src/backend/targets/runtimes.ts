import type Docker from 'dockerode';
import type { Target } from '../../protocol/targets';
import { LOCAL_TARGET } from '../../protocol/targets';
import { DockerRuntime } from '../runtime/docker';
import type { ContainerRuntime } from '../runtime/runtime';
import type { TargetRepository } from './repository';

/** One target's engine as the lab speaks to it. */
export interface TargetEngine {
  readonly target: Target;
  /** the engine's dockerode client: Swarm services, tasks and nodes, registries, `info()` */
  readonly docker: Docker;
  /** containers on that engine (a plain engine, or the manager of a swarm), as for `local` */
  readonly runtime: ContainerRuntime;
}

/**
 * What uses a target right now, in words ("job train (project churn)"): the jobs and services
 * register one each, so that a target is never removed from under them.
 */
export type TargetUsers = (targetName: string) => string[];

export interface TargetRuntimesOptions {
  readonly repo: TargetRepository;
  /** the lab machine's engine (DOCKER_HOST / `mllab.docker.host`), the `local` target's */
  readonly localHost?: string;
  /** time limit of one API call of a target's engine */
  readonly callTimeoutMs?: number;
}

/**
 * The engines of a lab's targets by name: a dockerode client and a ContainerRuntime each, made on
 * first use and kept (a client holds no connection between calls), forgotten when the target is
 * removed. `resolveTarget` says where a project's job or service runs: its own override, else the
 * project's default target, else `local`.
 */
export class TargetRuntimes {
  private readonly engines = new Map<string, TargetEngine>();
  private readonly users: TargetUsers[] = [];

  constructor(private readonly options: TargetRuntimesOptions) {}

  get repo(): TargetRepository {
    return this.options.repo;
  }

  /** Every target, `local` first. */
  list(): Target[] {
    return this.options.repo.list();
  }

  /** A target by name (case-insensitive); 404 naming how to list them. */
  target(name: string): Target {
    return this.options.repo.get(name);
  }

  /** Where a job or service of the project runs: `override` (its own target), else the project's default, else `local`. */
  resolveTarget(projectId: string, override?: string | null): Target {
    return this.target(override || this.options.repo.projectTarget(projectId));
  }

  /** The engine of `resolveTarget(projectId, override)`. */
  resolve(projectId: string, override?: string | null): TargetEngine {
    return this.engine(this.resolveTarget(projectId, override).name);
  }

  /** The engine of a target, made once and kept until the target is removed. */
  engine(name: string): TargetEngine {
    const target = this.target(name);
    const key = target.name.toLowerCase();
    let engine = this.engines.get(key);
    if (!engine) {
      engine = TargetRuntimes.connect(target, {
        localHost: this.options.localHost,
        callTimeoutMs: this.options.callTimeoutMs,
      });
      this.engines.set(key, engine);
    }
    return engine;
  }

  /**
   * An engine for a target that is not stored (yet): what adding a target asks before it keeps it.
   * Throws a 400 RuntimeError when the host or a TLS file is wrong.
   */
  static connect(target: Target, options: { localHost?: string; callTimeoutMs?: number } = {}): TargetEngine {
    const runtime =
      target.name === LOCAL_TARGET
        ? new DockerRuntime({ host: options.localHost, callTimeoutMs: options.callTimeoutMs })
        : new DockerRuntime({
            host: target.dockerHost ?? undefined,
            tls: target.tls,
            callTimeoutMs: options.callTimeoutMs,
          });
    return { target, docker: runtime.client, runtime };
  }

  /** Registers what tells which jobs or services use a target (removing it is refused while any do). */
  addUsers(users: TargetUsers): void {
    this.users.push(users);
  }

  /** What uses the target now, in words; empty when nothing does. */
  usersOf(name: string): string[] {
    return this.users.flatMap((users) => users(name));
  }

  /** Drops the engine of a removed target (its next use, if the name comes back, connects anew). */
  forget(name: string): void {
    this.engines.delete(name.toLowerCase());
  }

  close(): void {
    this.engines.clear();
  }
}

import type { Readable } from 'stream';
import type { JobRow } from './repository';

/**
 * The narrow port between a job run's lifecycle (run-lifecycle.ts) and the engine that runs it: the
 * local Docker Engine (engines/container.ts), a remote one (engines/remote.ts) or a Swarm cluster
 * (engines/swarm.ts). An engine knows how to start, follow, stop and find again the work of one run;
 * it never writes the run's record: the lifecycle does, once per transition.
 */
export interface JobEngine {
  /** the target's name (`local` for the lab machine's engine) */
  readonly target: string;
  /**
   * Whether the output handed to `SubmitHooks.output` (or read with `logs(ref, true)`) ends by itself
   * when the run ends. When not (Swarm's service logs go on following), the lifecycle reads the kept
   * output again once the run ended.
   */
  readonly outputEndsWithRun: boolean;
  /**
   * Whether the job writes the run directory of the lab machine (mounted into a local container).
   * When not, the lab makes none: a job elsewhere records its experiment through the lab's URL.
   */
  readonly sharesRunDirectory: boolean;
  /** resolves once the engine was asked whether it answers (an engine made on first use) */
  ready?(): Promise<void>;
  /** throws a RuntimeError saying what to do when the engine does not answer right now */
  requireAvailable(): void;
  /** the engine's reference `ref` belongs to this engine */
  owns(ref: string): boolean;
  /**
   * Starts `run`. Resolves once the engine accepted it: `running` says whether it runs already (a
   * local container) or the engine reports that later through `observe` (a Swarm task being
   * scheduled). Nothing is left behind when it throws; a RuntimeError `image_not_found` means the
   * definition names an image that exists nowhere.
   */
  submit(run: EngineRun, hooks: SubmitHooks): Promise<{ ref: string; running: boolean }>;
  /** follows the engine: run state changes, and the engine's availability */
  observe(observer: EngineObserver): void;
  /** the output kept by the engine; with `follow`, until the run ends (see `outputEndsWithRun`) */
  logs(ref: string, follow: boolean): Promise<Readable>;
  /** stops the run (SIGTERM, then SIGKILL after `graceSeconds`); its end comes through `observe` */
  stop(ref: string, graceSeconds: number): Promise<void>;
  /** how a run ended, as the engine saw it; undefined when the engine has nothing left of it */
  ended(ref: string): Promise<EngineEnd | undefined>;
  /** removes what the engine keeps of an ended run */
  release(ref: string): Promise<void>;
  /** what this engine runs (or ran, not yet released) for this lab home */
  list(): Promise<EngineRunInfo[]>;
  /** stops following the engine (the runs go on; the next backend follows them again) */
  close?(): void;
}

/** What a run needs from the lifecycle to start. */
export interface EngineRun {
  readonly runId: string;
  readonly job: JobRow;
  /** the run directory on the lab machine (experiment tracking); '' when the engine shares none */
  readonly runDir: string;
  /** the job's workspace folder on the lab machine, or null */
  readonly workspace: string | null;
}

export interface SubmitHooks {
  /** the engine created the run's work under `ref` (before it starts: its end may come at once) */
  created(ref: string): void;
  /** the live output, handed over before the run starts so that the first line is not missed */
  output(stream: Readable): void;
}

export interface EngineObserver {
  /** the engine answers (again): reconcile what happened while it did not */
  available(): Promise<void>;
  /** the engine stopped answering */
  unavailable(reason: string): void;
  /** a run the engine had accepted runs now */
  running(runId: string, ref: string): void;
  /** a run ended; `exitCode` when the engine said it with the end */
  ended(runId: string, ref: string, exitCode: number | null): void;
}

export interface EngineEnd {
  readonly exitCode: number | null;
  /** the engine's reason for a failure the exit code does not tell (out of memory, node lost...) */
  readonly failure: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** the engine lost the run (its node left): the lifecycle may run it again when the job allows */
  readonly lost?: boolean;
}

/** A run as the engine lists it, for reconciling. */
export interface EngineRunInfo extends Partial<EngineEnd> {
  readonly runId: string;
  readonly ref: string;
  /** a name a person recognises (the container's or service's) */
  readonly name: string;
  /** created, not started yet | running | ended (or on its way out) */
  readonly phase: 'starting' | 'running' | 'ended';
}

/** An end as the lifecycle records it, from what an engine knows of it (absent fields as null). */
export function toEnd(w: Partial<EngineEnd>): EngineEnd {
  return {
    exitCode: w.exitCode ?? null,
    failure: w.failure ?? null,
    startedAt: w.startedAt ?? null,
    finishedAt: w.finishedAt ?? null,
    lost: w.lost,
  };
}

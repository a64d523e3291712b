import * as fs from 'fs';
import type { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import { JOB_LIMITS, type JobRun, type JobRunState, type RunJobRequest } from '../../protocol/containers';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import { RuntimeError } from '../runtime/errors';
import { toEnd, type EngineEnd, type EngineObserver, type JobEngine } from './engine';
import type { JobRepository, JobRow, RunChanges, RunTrigger } from './repository';
import { MANUAL_TRIGGER, runLogFile } from './repository';
import { createRunDirectory, finishRunDirectory, jobBlobsDir } from './run-directory';

/** The engines jobs run on: the lab machine's, and those of the targets. */
export interface JobEngines {
  /** the engine a run of `job` goes to (its target, else its project's); throws when it is unknown */
  forJob(job: JobRow): JobEngine;
  /** the engine a recorded reference belongs to; undefined when its target is gone */
  forRef(ref: string): JobEngine | undefined;
  /** the lab machine's engine: runs without a reference yet are reconciled there */
  readonly local: JobEngine;
  /** calls `f` with each engine, now and as targets are added */
  each(f: (engine: JobEngine) => void): void;
}

export interface RunLifecycleDeps {
  readonly home: string;
  readonly repo: JobRepository;
  readonly engines: JobEngines;
  readonly events: EventBus;
  readonly log: Logger;
  /** called when the backend follows no run any more */
  readonly onSettled?: () => void;
  /** what a run on another machine needs from the lab (a token); released when the run ends */
  readonly runAccess?: RunAccess;
}

/** Credentials made for one run, revoked when it ends (runs on another machine reach the lab with them). */
export interface RunAccess {
  revoke(runId: string): Promise<void>;
}

/** A run whose work the backend follows right now. */
interface ActiveRun {
  readonly engine: JobEngine;
  /** the engine's reference, once it created the run's work */
  ref?: string;
  /** set when the backend ends the run (stop, timeout): the state and reason to record */
  ending?: { state: JobRunState; reason: string };
  timer?: NodeJS.Timeout;
  /** the output stream into the log file, done when the output ends */
  output?: Promise<void>;
  /** the stream behind `output`, ended by the lifecycle when the engine's does not end by itself */
  stream?: Readable;
  finishing?: Promise<JobRun>;
  /** times the run was submitted again after its engine lost it (`retries`) */
  retried: number;
  readonly done: Promise<JobRun>;
  resolveDone(run: JobRun): void;
}

/** SIGTERM first, so that a job can save its work; SIGKILL after this many seconds */
const STOP_GRACE_SECONDS = 5;
/** a job past its time limit had its chance: a short grace */
const TIMEOUT_GRACE_SECONDS = 2;
/** the longest wait setTimeout takes (2^31-1 ms) */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A job run's one state machine: queued (recorded, its work being created), starting (the engine
 * accepted it; stored as `queued` until it runs), running, ended (succeeded, failed, stopped) and
 * lost (the engine stopped answering: `unknown`, until it answers again). Each transition is recorded
 * here, once: the store, the event bus and the run directory. The engine behind `JobEngine` only
 * starts, follows, stops and finds again the work; output goes into the run's log file; time limits
 * are kept here, and what an engine reports after a backend restart or an outage is reconciled here.
 */
export class JobRunner {
  private readonly active = new Map<string, ActiveRun>();

  constructor(private readonly deps: RunLifecycleDeps) {
    deps.engines.each((engine) => engine.observe(this.observerOf(engine)));
    // the engines of targets that runs are on (made on first use): followed again from the start
    for (const { run } of deps.repo.activeRuns()) {
      if (run.containerId) {
        deps.engines.forRef(run.containerId);
      }
    }
  }

  private observerOf(engine: JobEngine): EngineObserver {
    const warn = (runId: string) => (err: Error) =>
      this.deps.log.error(`jobs: recording the end of run ${runId} failed: ${err.message}`);
    return {
      available: () => this.reconcile(engine),
      unavailable: (reason) => void this.markUnknown(engine, reason),
      running: (runId) => void this.running(runId).catch(warn(runId)),
      ended: (runId, ref, exitCode) => {
        const entry = this.active.get(runId);
        if (entry && (entry.ref === undefined || entry.ref === ref)) {
          void this.finish(runId, exitCode).catch(warn(runId));
        }
      },
    };
  }

  private publish(run: JobRun): JobRun {
    this.deps.events.publish({ type: 'jobRunUpdated', run });
    return run;
  }

  /** One transition: stored, then published. */
  private async record(runId: string, changes: RunChanges): Promise<JobRun> {
    return this.publish(await this.deps.repo.updateRun(runId, changes));
  }

  /**
   * Starts a run of `job` now; answers once it runs on the lab machine, or once its engine accepted
   * it elsewhere (it runs when the engine says so), or once it failed to start. `given` params and
   * tags go into the run's experiment (a sweep's trial).
   */
  async run(job: JobRow, trigger: RunTrigger = MANUAL_TRIGGER, given: RunJobRequest = {}): Promise<JobRun> {
    const engine = this.deps.engines.forJob(job);
    const spec = job.spec;
    if (
      !engine.sharesRunDirectory &&
      (Object.keys(given.params ?? {}).length || Object.keys(given.tags ?? {}).length)
    ) {
      // such a job makes its experiment itself through the lab's URL: there is no run.json to give them in
      throw new ApiError(
        400,
        'params_need_local_target',
        `The job "${spec.name}" runs on the target "${engine.target}", where its code records its own experiment: params and tags of a job run are given on the lab machine's Docker Engine only for now. Run it on the target "local", or give the params in the job's env.`,
      );
    }
    await engine.ready?.();
    engine.requireAvailable();
    const workspace = job.workspace && fs.existsSync(job.workspace) ? job.workspace : null;
    const runDir = engine.sharesRunDirectory
      ? createRunDirectory(this.deps.home, spec.name, job.projectId, spec.command, workspace ?? this.deps.home, given)
      : '';
    const queued = await this.deps.repo.insertRun(job, runDir, trigger);
    const entry = this.track(queued.id, engine);
    const deadline =
      spec.timeoutSeconds === null
        ? null
        : // a definition stored before limits were checked may hold 1e308: capped, never an invalid date
          new Date(Date.now() + Math.min(spec.timeoutSeconds, JOB_LIMITS.maxTimeoutSeconds) * 1000).toISOString();
    let submitted: { ref: string; running: boolean };
    try {
      submitted = await this.submit(entry, job, queued.id, runDir, workspace);
    } catch (e) {
      this.active.delete(queued.id);
      if (e instanceof RuntimeError && e.code === 'image_not_found') {
        // a mistake in the definition, not a run: nothing is kept
        await this.forget(queued.id, runDir);
        throw e;
      }
      if (entry.ref === undefined) {
        this.publish(queued);
      }
      return this.failToStart(queued, e);
    }
    if (entry.ref === undefined) {
      this.publish(queued);
    }
    this.armTimeout(queued.id, spec.timeoutSeconds, deadline);
    // one durable write once it runs (or its engine has it); reconciling finds the work by its
    // labels, not by this reference. A command that ends at once may have been recorded by its end.
    const current = this.deps.repo.run(queued.id);
    const changes =
      current.state === 'queued' && submitted.running
        ? { state: 'running' as const, startedAt: new Date().toISOString() }
        : {};
    return this.record(queued.id, { ...changes, containerId: submitted.ref, deadline });
  }

  private async submit(
    entry: ActiveRun,
    job: JobRow,
    runId: string,
    runDir: string,
    workspace: string | null,
  ): Promise<{ ref: string; running: boolean }> {
    return entry.engine.submit(
      { runId, job, runDir, workspace },
      {
        created: (ref) => {
          if (entry.ref === undefined && entry.retried === 0) {
            this.publish(this.deps.repo.run(runId));
          }
          entry.ref = ref;
        },
        output: (stream) => {
          entry.stream = stream;
          entry.output = this.writeOutput(runId, stream);
        },
      },
    );
  }

  /** A run whose image exists nowhere is no part of the history (nor is a token made for it). */
  private async forget(runId: string, runDir: string): Promise<void> {
    await this.deps.runAccess?.revoke(runId).catch(() => undefined);
    await this.deps.repo.deleteRun(runId);
    if (runDir) {
      fs.rmSync(runDir, { recursive: true, force: true });
    }
    fs.rmSync(jobBlobsDir(this.deps.home, runId), { recursive: true, force: true });
  }

  /** starting -> running, when the engine says so (a run it accepted and scheduled since) */
  private async running(runId: string): Promise<void> {
    const entry = this.active.get(runId);
    const run = this.deps.repo.run(runId);
    if (!entry || entry.finishing || run.state !== 'queued') {
      return;
    }
    await this.record(runId, { state: 'running', startedAt: new Date().toISOString() });
  }

  private async failToStart(run: JobRun, e: unknown): Promise<JobRun> {
    const reason = e instanceof Error ? e.message : String(e);
    this.deps.log.warn(`jobs: run ${run.id} could not start: ${reason}`);
    await this.deps.runAccess?.revoke(run.id).catch(() => undefined);
    this.finishRunDirectory(run.id, run.runDir, 'failed', null);
    return this.record(run.id, { state: 'failed', reason, endedAt: new Date().toISOString() });
  }

  /** Records the end in the run directory; the blobs gathered for the run go. */
  private finishRunDirectory(runId: string, runDir: string, status: 'completed' | 'failed', code: number | null): void {
    fs.rmSync(jobBlobsDir(this.deps.home, runId), { recursive: true, force: true });
    if (!runDir) {
      return; // the job ran elsewhere and recorded through the lab's URL
    }
    const warning = finishRunDirectory(runDir, status, code);
    if (warning) {
      this.deps.log.warn(`jobs: run ${runId}: ${warning}`);
    }
  }

  private track(runId: string, engine: JobEngine, ref?: string): ActiveRun {
    let resolveDone!: (run: JobRun) => void;
    const done = new Promise<JobRun>((resolve) => (resolveDone = resolve));
    const entry: ActiveRun = { engine, ref, done, resolveDone, retried: 0 };
    this.active.set(runId, entry);
    return entry;
  }

  /** Streams the engine's whole output of a run into its log file (rewritten: the engine keeps it all). */
  private async captureOutput(runId: string, engine: JobEngine, ref: string, follow: boolean): Promise<void> {
    let output;
    try {
      output = await engine.logs(ref, follow);
    } catch (e) {
      this.deps.log.warn(`jobs: the output of run ${runId} cannot be read: ${(e as Error).message}`);
      return;
    }
    const entry = this.active.get(runId);
    if (entry && follow) {
      entry.stream = output;
    }
    await this.writeOutput(runId, output);
  }

  private async writeOutput(runId: string, output: NodeJS.ReadableStream): Promise<void> {
    try {
      await pipeline(output, fs.createWriteStream(runLogFile(this.deps.home, runId), { flags: 'w' }));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        this.deps.log.warn(`jobs: the output of run ${runId} was cut: ${(e as Error).message}`);
      }
    }
  }

  private armTimeout(runId: string, seconds: number | null, deadline: string | null): void {
    const entry = this.active.get(runId);
    if (!entry || seconds === null || deadline === null) {
      return;
    }
    clearTimeout(entry.timer);
    // setTimeout cannot wait more than 2^31-1 ms (24.8 days; longer fires at once): re-armed in steps
    const arm = () => {
      const left = Date.parse(deadline) - Date.now();
      entry.timer =
        left > MAX_TIMER_MS
          ? setTimeout(arm, MAX_TIMER_MS)
          : setTimeout(
              () =>
                void this.end(
                  runId,
                  { state: 'failed', reason: `timed out after ${seconds} s` },
                  TIMEOUT_GRACE_SECONDS,
                ).catch((e: Error) =>
                  this.deps.log.warn(`jobs: stopping run ${runId} at its time limit failed: ${e.message}`),
                ),
              Math.max(0, left),
            );
    };
    arm();
  }

  /** Stops a running run (SIGTERM, then SIGKILL); resolves once its end is recorded. */
  async stop(runId: string): Promise<JobRun> {
    const run = this.deps.repo.run(runId);
    if (!this.active.has(runId)) {
      if (run.state === 'queued' || run.state === 'running' || run.state === 'unknown') {
        ((run.containerId && this.deps.engines.forRef(run.containerId)) || this.deps.engines.local).requireAvailable();
      }
      return run;
    }
    return this.end(runId, { state: 'stopped', reason: 'stopped by a person' }, STOP_GRACE_SECONDS);
  }

  private async end(runId: string, ending: { state: JobRunState; reason: string }, grace: number): Promise<JobRun> {
    const entry = this.active.get(runId);
    if (!entry) {
      return this.deps.repo.run(runId);
    }
    entry.ending ??= ending;
    const ref = entry.ref ?? this.deps.repo.run(runId).containerId;
    if (ref) {
      await entry.engine.stop(ref, grace);
    }
    return entry.done;
  }

  /** running -> ended: output drained, state from the exit code (or the engine's reason), work released. */
  private finish(runId: string, exitCode: number | null, known?: EngineEnd): Promise<JobRun> {
    const entry = this.active.get(runId);
    if (entry?.finishing) {
      return entry.finishing;
    }
    const work = (async () => {
      const run = this.deps.repo.run(runId);
      const ref = entry?.ref ?? run.containerId;
      const engine = entry?.engine ?? (ref ? this.deps.engines.forRef(ref) : undefined);
      clearTimeout(entry?.timer);
      // the end's details (out of memory? node lost? end time) are asked for while the output drains
      const details = known ?? (ref && engine ? await engine.ended(ref).catch(() => undefined) : undefined);
      if (details?.lost && entry && !entry.ending && entry.retried < (this.jobOf(run)?.spec.retries ?? 0)) {
        return this.retry(runId, entry, run, details);
      }
      await this.drain(runId, entry, engine, ref);
      const code = exitCode ?? details?.exitCode ?? null;
      const ending = entry?.ending;
      const state: JobRunState = ending ? ending.state : code === 0 && !details?.failure ? 'succeeded' : 'failed';
      const reason =
        ending?.reason ?? details?.failure ?? (state === 'succeeded' ? null : `exited with code ${code ?? 'unknown'}`);
      this.finishRunDirectory(runId, run.runDir, state === 'succeeded' ? 'completed' : 'failed', code);
      await this.deps.runAccess?.revoke(runId).catch(() => undefined);
      const ended = await this.record(runId, {
        state,
        exitCode: code,
        reason,
        startedAt: run.startedAt ?? details?.startedAt ?? null,
        endedAt: details?.finishedAt ?? new Date().toISOString(),
      });
      this.active.delete(runId);
      entry?.resolveDone(ended);
      if (this.active.size === 0) {
        this.deps.onSettled?.();
      }
      if (ref && engine) {
        // after the end is known: work left by a crash here is released by the next reconcile
        await engine.release(ref);
      }
      return ended;
    })();
    if (entry) {
      entry.finishing = work;
    }
    return work;
  }

  /** The output until the end: the live stream, or the engine's kept output read again. */
  private async drain(
    runId: string,
    entry: ActiveRun | undefined,
    engine: JobEngine | undefined,
    ref: string | null | undefined,
  ): Promise<void> {
    if (engine && !engine.outputEndsWithRun) {
      entry?.stream?.destroy();
      await entry?.output;
      if (ref) {
        await this.captureOutput(runId, engine, ref, false);
      }
      return;
    }
    await (entry?.output ?? (ref && engine ? this.captureOutput(runId, engine, ref, false) : undefined));
  }

  private jobOf(run: JobRun): JobRow | undefined {
    try {
      return this.deps.repo.definition(run.projectId, run.jobId);
    } catch {
      return undefined; // deleted since
    }
  }

  /** lost -> starting again: the job allows `retries`; the lost work is released first. */
  private async retry(runId: string, entry: ActiveRun, run: JobRun, lost: EngineEnd): Promise<JobRun> {
    const job = this.jobOf(run)!;
    entry.retried++;
    entry.finishing = undefined;
    const why = lost.failure ?? 'the engine lost the run';
    this.deps.log.warn(`jobs: run ${runId}: ${why}; running it again (retry ${entry.retried})`);
    if (entry.ref) {
      await entry.engine.release(entry.ref);
    }
    entry.stream?.destroy();
    entry.ref = undefined;
    const workspace = job.workspace && fs.existsSync(job.workspace) ? job.workspace : null;
    try {
      const submitted = await this.submit(entry, job, runId, run.runDir, workspace);
      return await this.record(runId, {
        state: submitted.running ? 'running' : 'queued',
        reason: `${why}: running it again (retry ${entry.retried})`,
        containerId: submitted.ref,
      });
    } catch (e) {
      this.active.delete(runId);
      entry.resolveDone(await this.failToStart(run, e));
      return entry.done;
    }
  }

  /** running -> lost: the engine stopped answering; its runs' state is unknown until it answers again. */
  private async markUnknown(engine: JobEngine, reason: string): Promise<void> {
    for (const { run } of this.deps.repo.activeRuns()) {
      const mine = run.containerId
        ? engine.owns(run.containerId)
        : (this.active.get(run.id)?.engine ?? this.deps.engines.local) === engine;
      if (mine && (run.state === 'running' || run.state === 'queued')) {
        await this.record(run.id, { state: 'unknown', reason });
      }
    }
  }

  /**
   * Brings the store in line with an engine: re-follows work that still runs, records the end of
   * runs that ended while nobody watched, and fails runs whose work is gone.
   */
  async reconcile(engine: JobEngine = this.deps.engines.local): Promise<void> {
    const listed = await engine.list();
    const byRun = new Map(listed.map((w) => [w.runId, w]));
    const active = this.deps.repo
      .activeRuns()
      .filter(({ run }) =>
        run.containerId
          ? engine.owns(run.containerId)
          : (this.active.get(run.id)?.engine ?? this.deps.engines.local) === engine,
      );
    const known = new Set(active.map((a) => a.run.id));
    for (const { run, deadline } of active) {
      const w = byRun.get(run.id);
      const entry = this.active.get(run.id);
      if (!w) {
        if (run.state === 'queued' && entry && !entry.finishing && (!run.containerId || entry.ref === undefined)) {
          continue; // being created right now
        }
        this.finishRunDirectory(run.id, run.runDir, 'failed', null);
        this.active.delete(run.id);
        await this.deps.runAccess?.revoke(run.id).catch(() => undefined);
        await this.record(run.id, {
          state: 'failed',
          reason:
            engine.target === this.deps.engines.local.target
              ? 'the container disappeared (removed outside ML Lab, or Docker lost it)'
              : `the run's work disappeared from the target "${engine.target}" (removed outside ML Lab)`,
          endedAt: run.endedAt ?? new Date().toISOString(),
        });
        continue;
      }
      if (w.phase === 'starting' || w.phase === 'running') {
        if (w.phase === 'starting' && entry) {
          continue;
        }
        const followed = entry ?? this.track(run.id, engine, w.ref);
        followed.ref ??= w.ref;
        // the output stream broke with the connection (or never existed in this process): read it again
        followed.output = this.captureOutput(run.id, engine, w.ref, true);
        // the limit as set at the start, for the reason (the deadline is what counts)
        const limit = deadline ? Math.round((Date.parse(deadline) - Date.parse(run.createdAt)) / 1000) : null;
        this.armTimeout(run.id, limit, deadline);
        const state = w.phase === 'running' ? 'running' : 'queued';
        if (run.state !== state) {
          await this.record(run.id, { state, reason: null });
        }
        continue;
      }
      // ended while the backend or the engine was away: the output is still in the engine
      if (entry && !entry.finishing) {
        entry.output = undefined;
      }
      await this.finish(run.id, w.exitCode ?? null, toEnd(w));
    }
    const orphans = listed.filter((w) => !known.has(w.runId));
    for (const w of orphans.filter((o) => o.phase === 'ended')) {
      // a finished run whose work was left by a crash between recording and releasing it
      await engine.release(w.ref);
    }
    const running = orphans.filter((o) => o.phase === 'running' && !this.active.has(o.runId));
    if (running.length > 0) {
      this.deps.log.warn(
        `jobs: ${running.length} running jobs of this lab home on "${engine.target}" belong to no known run: ${running.map((w) => w.name).join(', ')}`,
      );
    }
  }

  /** Whether a run is being followed right now. */
  get busy(): boolean {
    return this.active.size > 0;
  }

  /** Stops following runs (they keep running; the next backend follows them again). */
  close(): void {
    this.deps.engines.each((engine) => engine.close?.());
    for (const entry of this.active.values()) {
      clearTimeout(entry.timer);
      if (!entry.engine.outputEndsWithRun) {
        entry.stream?.destroy();
      }
    }
  }
}

import * as fs from 'fs';
import { pipeline } from 'stream/promises';
import { JOB_LIMITS, type JobRun, type JobRunState } from '../../protocol/containers';
import type { EventBus } from '../events';
import type { Logger } from '../log';
import type { RuntimeConnection } from '../runtime/connection';
import { imageNotFound, RuntimeError } from '../runtime/errors';
import { LABELS, type ContainerEvent, type ContainerInfo, type ContainerRuntime } from '../runtime/runtime';
import type { JobRepository, JobRow, RunTrigger } from './repository';
import { MANUAL_TRIGGER, runLogFile } from './repository';
import {
  CONTAINER_HOME,
  CONTAINER_RUN_DIR,
  CONTAINER_WORKSPACE,
  containerHostname,
  createRunDirectory,
  type DatasetBlob,
  finishRunDirectory,
  gatherJobBlobs,
  JOB_DATASETS_ENV,
  jobBlobsDir,
  pythonClientMount,
} from './run-directory';

const isMissingImage = (e: unknown) => e instanceof RuntimeError && e.code === 'image_missing';

export interface JobRunnerDeps {
  readonly home: string;
  readonly repo: JobRepository;
  readonly connection: RuntimeConnection;
  readonly events: EventBus;
  readonly log: Logger;
  /** called when the backend follows no run any more */
  readonly onSettled?: () => void;
  /** the dataset versions of a project, which its jobs may read (none when absent) */
  readonly datasetBlobs?: (projectId: string) => readonly DatasetBlob[];
}

/** A run whose container the backend follows right now. */
interface ActiveRun {
  containerId: string;
  /** set when the backend ends the run (stop, timeout): the state and reason to record */
  ending?: { state: JobRunState; reason: string };
  timer?: NodeJS.Timeout;
  /** the output stream into the log file, done when the container's output ends */
  output?: Promise<void>;
  finishing?: Promise<JobRun>;
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
 * Runs jobs as containers and follows them: state from the engine's events (die), output into the
 * run's log file, time limits, and reconciliation with what the engine reports after a backend
 * restart or an engine outage.
 */
export class JobRunner {
  private readonly active = new Map<string, ActiveRun>();
  private readonly runtime: ContainerRuntime;

  constructor(private readonly deps: JobRunnerDeps) {
    this.runtime = deps.connection.runtime;
    deps.connection.listen({
      onAvailable: () => this.reconcile(),
      onUnavailable: (reason) => void this.markUnknown(reason),
      onEvent: (e) => this.onEvent(e),
    });
  }

  private get labels() {
    return { [LABELS.home]: this.deps.home, [LABELS.kind]: 'job' };
  }

  private publish(run: JobRun): JobRun {
    this.deps.events.publish({ type: 'jobRunUpdated', run });
    return run;
  }

  /** Starts a run of `job` now; answers once the container runs (or the run failed to start). */
  async run(job: JobRow, trigger: RunTrigger = MANUAL_TRIGGER): Promise<JobRun> {
    this.deps.connection.requireAvailable();
    const spec = job.spec;
    const workspace = job.workspace && fs.existsSync(job.workspace) ? job.workspace : null;
    const runDir = createRunDirectory(
      this.deps.home,
      spec.name,
      job.projectId,
      spec.command,
      workspace ?? this.deps.home,
    );
    const run = await this.deps.repo.insertRun(job, runDir, trigger);
    let containerId: string;
    try {
      // created straight away (no image lookup first): the engine says when the image is missing
      containerId = await this.create(job, run.id, runDir, workspace).catch(async (e: unknown) => {
        if (!isMissingImage(e)) {
          throw e;
        }
        await this.runtime.pull(spec.image);
        return this.create(job, run.id, runDir, workspace);
      });
    } catch (e) {
      if (isMissingImage(e) || (e instanceof RuntimeError && e.code === 'image_not_found')) {
        // a mistake in the definition, not a run: nothing is kept
        await this.deps.repo.deleteRun(run.id);
        fs.rmSync(runDir, { recursive: true, force: true });
        fs.rmSync(jobBlobsDir(this.deps.home, run.id), { recursive: true, force: true });
        throw imageNotFound(spec.image);
      }
      this.publish(run);
      return this.failToStart(run, null, e);
    }
    this.publish(run);
    const entry = this.track(run.id, containerId);
    const deadline =
      spec.timeoutSeconds === null
        ? null
        : // a definition stored before limits were checked may hold 1e308: capped, never an invalid date
          new Date(Date.now() + Math.min(spec.timeoutSeconds, JOB_LIMITS.maxTimeoutSeconds) * 1000).toISOString();
    try {
      // attached before the start, so that the first line is not missed
      const output = await this.runtime.attach(containerId);
      entry.output = this.writeOutput(run.id, output);
      await this.runtime.start(containerId);
    } catch (e) {
      this.active.delete(run.id);
      return this.failToStart(run, containerId, e);
    }
    this.armTimeout(run.id, spec.timeoutSeconds, deadline);
    // one durable write once it runs; reconciling finds the container by its labels, not by this id.
    // A command that ends at once may have been recorded already by its die event: keep that.
    const current = this.deps.repo.run(run.id);
    const changes =
      current.state === 'queued' ? { state: 'running' as const, startedAt: new Date().toISOString() } : {};
    return this.publish(await this.deps.repo.updateRun(run.id, { ...changes, containerId, deadline }));
  }

  private create(job: JobRow, runId: string, runDir: string, workspace: string | null): Promise<string> {
    const spec = job.spec;
    // only the blobs of the datasets the job may read, not the whole store (other projects, models)
    const blobs = gatherJobBlobs(
      this.deps.home,
      runId,
      this.deps.datasetBlobs?.(job.projectId) ?? [],
      spec.env[JOB_DATASETS_ENV],
    );
    if (blobs.missing.length > 0) {
      this.deps.log.warn(
        `jobs: run ${runId}: ${JOB_DATASETS_ENV} names ${blobs.missing.map((m) => `"${m}"`).join(', ')}, which the project has no version of`,
      );
    }
    const python = pythonClientMount(spec.env);
    return this.runtime.create({
      hostname: containerHostname(runDir),
      image: spec.image,
      command: spec.command,
      env: {
        ...spec.env,
        ...python.env,
        MLLAB_HOME: CONTAINER_HOME,
        MLLAB_RUN_DIR: CONTAINER_RUN_DIR,
        MLLAB_JOB: spec.name,
        MLLAB_JOB_RUN_ID: runId,
      },
      workingDir: spec.workingDir ?? (workspace ? CONTAINER_WORKSPACE : null),
      labels: { ...this.labels, [LABELS.project]: job.projectId, [LABELS.id]: runId },
      mounts: [
        ...(workspace ? [{ hostPath: workspace, containerPath: CONTAINER_WORKSPACE, readOnly: true }] : []),
        { hostPath: blobs.dir, containerPath: `${CONTAINER_HOME}/blobs`, readOnly: true },
        ...blobs.unlinked.map((b) => ({ ...b, readOnly: true })),
        ...python.mounts,
        { hostPath: runDir, containerPath: CONTAINER_RUN_DIR, readOnly: false },
      ],
      ports: [],
      cpus: spec.cpus,
      memoryBytes: spec.memoryBytes,
      gpus: spec.gpus,
      restart: 'no',
    });
  }

  private async failToStart(run: JobRun, containerId: string | null, e: unknown): Promise<JobRun> {
    const reason = e instanceof Error ? e.message : String(e);
    this.deps.log.warn(`jobs: run ${run.id} could not start: ${reason}`);
    if (containerId) {
      await this.runtime.remove(containerId).catch(() => undefined);
    }
    this.finishRunDirectory(run.id, run.runDir, 'failed', null);
    return this.publish(
      await this.deps.repo.updateRun(run.id, { state: 'failed', reason, endedAt: new Date().toISOString() }),
    );
  }

  /** Records the end in the run directory; the blobs gathered for the run go. */
  private finishRunDirectory(runId: string, runDir: string, status: 'completed' | 'failed', code: number | null): void {
    fs.rmSync(jobBlobsDir(this.deps.home, runId), { recursive: true, force: true });
    const warning = finishRunDirectory(runDir, status, code);
    if (warning) {
      this.deps.log.warn(`jobs: run ${runId}: ${warning}`);
    }
  }

  private track(runId: string, containerId: string): ActiveRun {
    let resolveDone!: (run: JobRun) => void;
    const done = new Promise<JobRun>((resolve) => (resolveDone = resolve));
    const entry: ActiveRun = { containerId, done, resolveDone };
    this.active.set(runId, entry);
    return entry;
  }

  /** Streams the container's whole output into the run's log file (rewritten: the engine keeps it all). */
  private async captureOutput(runId: string, containerId: string, follow: boolean): Promise<void> {
    let output;
    try {
      output = await this.runtime.logs(containerId, follow);
    } catch (e) {
      this.deps.log.warn(`jobs: the output of run ${runId} cannot be read: ${(e as Error).message}`);
      return;
    }
    await this.writeOutput(runId, output);
  }

  private async writeOutput(runId: string, output: NodeJS.ReadableStream): Promise<void> {
    try {
      await pipeline(output, fs.createWriteStream(runLogFile(this.deps.home, runId), { flags: 'w' }));
    } catch (e) {
      this.deps.log.warn(`jobs: the output of run ${runId} was cut: ${(e as Error).message}`);
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
        this.deps.connection.requireAvailable();
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
    await this.runtime.stop(entry.containerId, grace);
    return entry.done;
  }

  private onEvent(e: ContainerEvent): void {
    const runId = e.labels[LABELS.id];
    if (e.action !== 'die' || e.labels[LABELS.kind] !== 'job' || !runId || !this.active.has(runId)) {
      return;
    }
    void this.finish(runId, e.exitCode).catch((err: Error) =>
      this.deps.log.error(`jobs: recording the end of run ${runId} failed: ${err.message}`),
    );
  }

  /** Records the end of a run: output drained, state from the exit code, container removed. */
  private finish(runId: string, exitCode: number | null, info?: ContainerInfo): Promise<JobRun> {
    const entry = this.active.get(runId);
    if (entry?.finishing) {
      return entry.finishing;
    }
    const work = (async () => {
      const run = this.deps.repo.run(runId);
      const containerId = entry?.containerId ?? run.containerId;
      clearTimeout(entry?.timer);
      const drained =
        entry?.output ?? (containerId ? this.captureOutput(runId, containerId, false) : Promise.resolve());
      // the exit details (out of memory? end time) are asked for while the output drains
      const [details] = await Promise.all([
        info ?? (containerId ? this.runtime.inspect(containerId).catch(() => undefined) : undefined),
        drained,
      ]);
      const code = exitCode ?? details?.exitCode ?? null;
      const ending = entry?.ending;
      const state: JobRunState = ending ? ending.state : code === 0 ? 'succeeded' : 'failed';
      const reason =
        ending?.reason ??
        (details?.oomKilled
          ? 'killed: out of memory (raise the memory limit)'
          : code === 0
            ? null
            : `exited with code ${code ?? 'unknown'}`);
      this.finishRunDirectory(runId, run.runDir, state === 'succeeded' ? 'completed' : 'failed', code);
      const ended = await this.deps.repo.updateRun(runId, {
        state,
        exitCode: code,
        reason,
        startedAt: run.startedAt ?? details?.startedAt ?? null,
        endedAt: details?.finishedAt ?? new Date().toISOString(),
      });
      this.active.delete(runId);
      this.publish(ended);
      entry?.resolveDone(ended);
      if (this.active.size === 0) {
        this.deps.onSettled?.();
      }
      if (containerId) {
        // after the end is known: a container left by a crash here is removed by the next reconcile
        await this.runtime.remove(containerId).catch(() => undefined);
      }
      return ended;
    })();
    if (entry) {
      entry.finishing = work;
    }
    return work;
  }

  private async markUnknown(reason: string): Promise<void> {
    for (const { run } of this.deps.repo.activeRuns()) {
      if (run.state === 'running' || run.state === 'queued') {
        this.publish(await this.deps.repo.updateRun(run.id, { state: 'unknown', reason }));
      }
    }
  }

  /**
   * Brings the store in line with the engine: re-attaches to containers that still run, records
   * the exit of those that ended while nobody watched, and fails runs whose container is gone.
   */
  async reconcile(): Promise<void> {
    const containers = await this.runtime.list(this.labels);
    const byRun = new Map(containers.map((c) => [c.labels[LABELS.id], c]));
    const active = this.deps.repo.activeRuns();
    const known = new Set(active.map((a) => a.run.id));
    for (const { run, deadline } of active) {
      const c = byRun.get(run.id);
      if (!c) {
        if (run.state === 'queued' && !run.containerId && this.active.has(run.id)) {
          continue; // being created right now
        }
        this.finishRunDirectory(run.id, run.runDir, 'failed', null);
        this.active.delete(run.id);
        this.publish(
          await this.deps.repo.updateRun(run.id, {
            state: 'failed',
            reason: 'the container disappeared (removed outside ML Lab, or Docker lost it)',
            endedAt: run.endedAt ?? new Date().toISOString(),
          }),
        );
        continue;
      }
      if (c.state === 'running' || c.state === 'restarting' || c.state === 'paused' || c.state === 'created') {
        if (c.state === 'created' && this.active.has(run.id)) {
          continue;
        }
        const entry = this.active.get(run.id) ?? this.track(run.id, c.id);
        // the output stream broke with the connection (or never existed in this process): read it again
        entry.output = this.captureOutput(run.id, c.id, true);
        // the limit as set at the start, for the reason (the deadline is what counts)
        const limit = deadline ? Math.round((Date.parse(deadline) - Date.parse(run.createdAt)) / 1000) : null;
        this.armTimeout(run.id, limit, deadline);
        if (run.state !== 'running') {
          this.publish(await this.deps.repo.updateRun(run.id, { state: 'running', reason: null }));
        }
        continue;
      }
      // ended while the backend or the engine was away: the output is still in the engine
      const entry = this.active.get(run.id);
      if (entry && !entry.finishing) {
        entry.output = undefined;
      }
      await this.finish(run.id, c.exitCode, c);
    }
    const orphans = containers.filter((c) => !known.has(c.labels[LABELS.id]));
    for (const c of orphans.filter((o) => o.state === 'exited' || o.state === 'dead')) {
      // a finished run whose container was left by a crash between recording and removing it
      await this.runtime.remove(c.id).catch(() => undefined);
    }
    const running = orphans.filter((o) => o.state === 'running');
    if (running.length > 0) {
      this.deps.log.warn(
        `jobs: ${running.length} running containers of this lab home belong to no known run: ${running.map((c) => c.name).join(', ')}`,
      );
    }
  }

  /** Whether a run is being followed right now. */
  get busy(): boolean {
    return this.active.size > 0;
  }

  /** Stops following containers (they keep running; the next backend re-attaches). */
  close(): void {
    for (const entry of this.active.values()) {
      clearTimeout(entry.timer);
    }
  }
}

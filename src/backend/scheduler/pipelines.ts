import type { JobRun, JobRunState } from '../../protocol/containers';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { JobRepository, JobRow, RunTrigger } from '../jobs/repository';
import { ACTIVE_STATES } from '../jobs/repository';
import type { Logger } from '../log';
import type { Execution, SchedulerRepository } from './repository';

export interface PipelineDeps {
  readonly repo: SchedulerRepository;
  readonly jobs: JobRepository;
  readonly events: EventBus;
  readonly log: Logger;
  /** starts a run of a job (the job runner's `run`) */
  readonly start: (job: JobRow, trigger: RunTrigger) => Promise<JobRun>;
  /** a run of this job ended (the cron scheduler starts a fire its overlap policy held back) */
  readonly onRunEnded?: (run: JobRun) => void;
}

/** A run to start at the head of an execution. */
export interface Root {
  readonly job: JobRow;
  readonly trigger: Omit<RunTrigger, 'executionId'>;
}

export interface RootResult {
  readonly jobId: string;
  readonly run: JobRun | null;
  readonly error: string | null;
}

const isActive = (state: string) => ACTIVE_STATES.includes(state as JobRunState);
const dockerDown = (e: unknown) => e instanceof ApiError && e.code === 'docker_unavailable';
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function ended(state: string): string {
  return state === 'failed' ? 'failed' : `was ${state}`;
}

/**
 * Pipeline executions: a run started by a person, a schedule or "re-run from here" opens one when
 * jobs depend on it; its plan is the started jobs and everything downstream of them. A job of the
 * plan starts once every upstream in the plan has succeeded in this execution, and is recorded as
 * `skipped` (with the reason) once one of them did not. Executions are in the store and every step
 * reads the runs from the store, so a restarted backend goes on where the last one stopped, and a
 * job never gets two runs in one execution.
 */
export class Pipelines {
  /** evaluations run one at a time: two at once could both start the same job */
  private queue: Promise<void> = Promise.resolve();
  /** `${execution}:${job}` being started right now (its run row may not be written yet) */
  private readonly starting = new Set<string>();
  private readonly launches = new Set<Promise<void>>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(private readonly deps: PipelineDeps) {
    this.unsubscribe = deps.events.observe((e) => {
      if (e.type === 'jobRunUpdated' && !isActive(e.run.state)) {
        if (e.run.executionId) {
          this.evaluate(e.run.executionId);
        }
        deps.onRunEnded?.(e.run);
      }
    });
  }

  /** Goes on with every unfinished execution (at start, and when Docker is back). */
  resume(): Promise<void> {
    for (const e of this.deps.repo.activeExecutions()) {
      this.evaluate(e.id);
    }
    return this.queue;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
  }

  /** Waits until no evaluation is queued and no start is under way (tests). */
  async settled(): Promise<void> {
    for (;;) {
      const queue = this.queue;
      await queue;
      await Promise.all([...this.launches]);
      if (queue === this.queue && this.launches.size === 0) {
        return;
      }
    }
  }

  /** A manual run: errors reach the caller as they would without dependencies. */
  async runManually(job: JobRow, detail: string | null = null, withDescendants = false): Promise<JobRun> {
    const graph = this.deps.repo.graph(job.projectId);
    if (graph.downstreams(job.id).length === 0 && !withDescendants) {
      return this.deps.start(job, { trigger: 'manual', detail, executionId: null });
    }
    const execution = await this.open(job.projectId, [job.id]);
    try {
      return await this.deps.start(job, { trigger: 'manual', detail, executionId: execution.id });
    } catch (e) {
      if (!this.deps.repo.latestRunsIn(execution.id).has(job.id)) {
        await this.deps.repo.endExecution(execution.id);
      }
      throw e;
    } finally {
      this.evaluate(execution.id);
    }
  }

  /** Re-runs a job and everything downstream of it, in a new execution. */
  rerunFrom(job: JobRow): Promise<JobRun> {
    const last = this.deps.jobs.runs(job.id)[0];
    if (last && isActive(last.state)) {
      throw new ApiError(
        409,
        'job_running',
        `The job "${job.spec.name}" is running: wait for its end or stop it ("mllab job stop ${job.spec.name}") first.`,
      );
    }
    return this.runManually(job, `re-run from here${last ? ` after run ${last.id} (${last.state})` : ''}`, true);
  }

  /**
   * Starts runs together (schedules due at the same time): one execution for the roots of a project
   * when any job depends on them. A start that fails is recorded as a failed run with the reason.
   */
  async startRoots(projectId: string, roots: readonly Root[]): Promise<RootResult[]> {
    const graph = this.deps.repo.graph(projectId);
    const rootIds = new Set(roots.map((r) => r.job.id));
    const plan = new Set(rootIds);
    for (const id of rootIds) {
      graph.descendants(id).forEach((d) => plan.add(d));
    }
    const execution =
      plan.size > rootIds.size || [...rootIds].some((id) => graph.upstreams(id).some((u) => rootIds.has(u)))
        ? await this.open(projectId, [...rootIds])
        : null;
    const results: RootResult[] = [];
    for (const root of roots) {
      // a root downstream of another root waits for it, as any job of the plan
      if (execution && graph.upstreams(root.job.id).some((u) => plan.has(u))) {
        continue;
      }
      const trigger = { ...root.trigger, executionId: execution?.id ?? null };
      try {
        const run = await this.deps.start(root.job, trigger);
        results.push({ jobId: root.job.id, run, error: run.state === 'failed' ? run.reason : null });
      } catch (e) {
        const reason = `could not start: ${message(e)}`;
        this.deps.log.warn(`scheduler: the run of job "${root.job.spec.name}" ${reason}`);
        const run = await this.deps.jobs.insertEndedRun(root.job, 'failed', reason, trigger);
        this.deps.events.publish({ type: 'jobRunUpdated', run });
        results.push({ jobId: root.job.id, run, error: message(e) });
      }
    }
    if (execution) {
      this.evaluate(execution.id);
    }
    return results;
  }

  private async open(projectId: string, roots: readonly string[]): Promise<Execution> {
    const graph = this.deps.repo.graph(projectId);
    const plan = new Set(roots);
    for (const r of roots) {
      graph.descendants(r).forEach((d) => plan.add(d));
    }
    return this.deps.repo.createExecution(projectId, [...plan], roots);
  }

  private evaluate(executionId: string): void {
    this.queue = this.queue
      .then(() => (this.closed ? undefined : this.step(executionId)))
      .catch((e: Error) => this.deps.log.error(`scheduler: pipeline execution ${executionId}: ${e.message}`));
  }

  /** One look at an execution: start what is ready, skip what cannot run, close it when all is decided. */
  private async step(executionId: string): Promise<void> {
    const execution = this.deps.repo.execution(executionId);
    if (!execution) {
      return;
    }
    const { repo, jobs } = this.deps;
    const graph = repo.graph(execution.projectId);
    const names = new Map(jobs.list(execution.projectId).map((j) => [j.id, j.name]));
    const plan = new Set(execution.plan.filter((id) => names.has(id)));
    const runs = repo.latestRunsIn(executionId);
    const waiting = new Set<string>();
    let open = false;
    for (const jobId of graph.order(plan)) {
      const run = runs.get(jobId);
      if (run || this.starting.has(`${executionId}:${jobId}`)) {
        open ||= !run || isActive(run.state);
        continue;
      }
      const upstreams = graph.upstreams(jobId).filter((u) => plan.has(u));
      if (upstreams.length === 0) {
        continue; // a root that never started (its start failed): nothing to wait for
      }
      let blocked: { name: string; run?: { id: string; state: string } } | undefined;
      let pending = false;
      let latest: { id: string; endedAt: string | null } | undefined;
      for (const u of upstreams) {
        const r = runs.get(u);
        if (!r) {
          if (this.starting.has(`${executionId}:${u}`) || waiting.has(u)) {
            pending = true;
          } else {
            blocked ??= { name: names.get(u) ?? u };
          }
        } else if (isActive(r.state)) {
          pending = true;
        } else if (r.state !== 'succeeded') {
          blocked ??= { name: names.get(u) ?? u, run: r };
        } else if (!latest || (r.endedAt ?? '') > (latest.endedAt ?? '')) {
          latest = r;
        }
      }
      const definition = jobs.definition(execution.projectId, jobId);
      if (blocked) {
        const reason = blocked.run
          ? `skipped: the upstream job "${blocked.name}" ${ended(blocked.run.state)} (run ${blocked.run.id})`
          : `skipped: the upstream job "${blocked.name}" did not start`;
        const skipped = await jobs.insertEndedRun(definition, 'skipped', reason, {
          trigger: 'dependency',
          detail: blocked.run?.id ?? null,
          executionId,
        });
        this.deps.log.info(`scheduler: job "${definition.spec.name}" ${reason}`);
        runs.set(jobId, { id: skipped.id, state: 'skipped', endedAt: skipped.endedAt });
        this.deps.events.publish({ type: 'jobRunUpdated', run: skipped });
        continue;
      }
      open = true;
      if (pending) {
        waiting.add(jobId);
        continue;
      }
      this.launch(definition, { trigger: 'dependency', detail: latest?.id ?? null, executionId });
    }
    if (!open) {
      await repo.endExecution(executionId);
      this.deps.log.info(`scheduler: pipeline execution ${executionId} is done`);
    }
  }

  /** Starts a job whose upstreams succeeded, outside the queue (a container start takes a while). */
  private launch(job: JobRow, trigger: RunTrigger): void {
    const key = `${trigger.executionId}:${job.id}`;
    this.starting.add(key);
    const launch = (async () => {
      try {
        await this.deps.start(job, trigger);
      } catch (e) {
        if (dockerDown(e)) {
          // not a failure of the job: it starts when Docker is back (resume)
          this.deps.log.warn(`scheduler: job "${job.spec.name}" waits for Docker: ${message(e)}`);
        } else {
          const run = await this.deps.jobs.insertEndedRun(job, 'failed', `could not start: ${message(e)}`, trigger);
          this.deps.events.publish({ type: 'jobRunUpdated', run });
        }
      } finally {
        this.starting.delete(key);
      }
      if (trigger.executionId) {
        this.evaluate(trigger.executionId);
      }
    })()
      .catch((e: Error) => this.deps.log.error(`scheduler: starting job "${job.spec.name}": ${e.message}`))
      .finally(() => this.launches.delete(launch));
    this.launches.add(launch);
  }
}

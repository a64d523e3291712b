import type { JobRun } from '../../protocol/containers';
import type { Pipeline, Schedule, SchedulePreview, ScheduleRequest } from '../../protocol/schedules';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { JobRepository, JobRow, RunTrigger } from '../jobs/repository';
import type { Logger } from '../log';
import type { Store } from '../store/database';
import { realClock, type Clock } from './clock';
import { checkTimeZone, CronExpression, localTimeZone } from './cron';
import { CronScheduler, type Fire } from './cron-scheduler';
import { Pipelines } from './pipelines';
import { SchedulerRepository, toSchedule } from './repository';

export interface SchedulerDeps {
  readonly store: Store;
  readonly jobs: JobRepository;
  readonly events: EventBus;
  readonly log: Logger;
  /** starts a run (the job runner's `run`) */
  readonly start: (job: JobRow, trigger: RunTrigger) => Promise<JobRun>;
  readonly clock?: Clock;
}

/** Cron schedules and job dependencies of the backend (see cron-scheduler.ts and pipelines.ts). */
export class Scheduler {
  readonly repo: SchedulerRepository;
  readonly cron: CronScheduler;
  readonly pipelines: Pipelines;
  private readonly clock: Clock;
  private readonly unsubscribe: () => void;

  constructor(private readonly deps: SchedulerDeps) {
    this.clock = deps.clock ?? realClock;
    this.repo = new SchedulerRepository(deps.store, () => this.clock.now());
    this.cron = new CronScheduler({
      repo: this.repo,
      clock: this.clock,
      log: deps.log,
      isActive: (jobId) => this.repo.jobActive(jobId),
      fire: (fires) => this.fire(fires),
      onChanged: (row) => this.publishSchedule(row.projectId, row.jobId),
    });
    this.pipelines = new Pipelines({
      repo: this.repo,
      jobs: deps.jobs,
      events: deps.events,
      log: deps.log,
      start: deps.start,
      onRunEnded: (run) => this.cron.jobEnded(run.jobId),
    });
    this.unsubscribe = deps.events.observe((e) => {
      if (e.type === 'jobDeleted') {
        void this.forgetJob(e.projectId, e.jobId);
      }
    });
  }

  /** Loads schedules (deciding about missed fires) and goes on with unfinished pipeline executions. */
  async start(): Promise<void> {
    const dangling = await this.repo.removeDangling();
    if (dangling > 0) {
      this.deps.log.info(`scheduler: removed ${dangling} schedules and dependencies of jobs deleted earlier`);
    }
    await this.cron.start();
    await this.pipelines.resume();
  }

  /** Docker answers (again): runs that waited for it start. */
  resume(): Promise<void> {
    return this.pipelines.resume();
  }

  stop(): void {
    this.cron.stop();
    this.pipelines.close();
    this.unsubscribe();
  }

  private async fire(fires: readonly Fire[]): Promise<ReadonlyMap<string, string | null>> {
    const errors = new Map<string, string | null>();
    const byProject = new Map<string, Fire[]>();
    for (const f of fires) {
      byProject.set(f.schedule.projectId, [...(byProject.get(f.schedule.projectId) ?? []), f]);
    }
    for (const [projectId, group] of byProject) {
      const roots = group.map((f) => ({
        job: this.deps.jobs.definition(projectId, f.schedule.jobId),
        trigger: {
          trigger: 'cron' as const,
          detail: `${f.schedule.cron} (${f.schedule.timeZone})${f.note ? `; ${f.note}` : ''}`,
        },
      }));
      for (const r of await this.pipelines.startRoots(projectId, roots)) {
        const f = group.find((g) => g.schedule.jobId === r.jobId);
        if (f) {
          errors.set(f.schedule.id, r.error);
        }
      }
    }
    return errors;
  }

  // ---- schedules

  schedules(projectId: string): Schedule[] {
    const now = this.clock.now();
    return this.repo.schedules(projectId).map((r) => toSchedule(r, now));
  }

  /** What an expression means while a person edits it: words and next fires (400 when it is wrong or never fires). */
  preview(cron: string, timeZone = localTimeZone()): SchedulePreview {
    const now = this.clock.now();
    const expression = new CronExpression(cron, timeZone, now);
    const nextRuns = expression.nextRuns(now);
    return { cron: cron.trim(), timeZone, description: expression.describe(), nextRuns, nextRun: nextRuns[0] ?? null };
  }

  schedule(projectId: string, jobName: string): Schedule {
    const job = this.deps.jobs.definition(projectId, jobName);
    const row = this.repo.scheduleOfJob(job.id);
    if (!row) {
      throw new ApiError(
        404,
        'no_schedule',
        `The job "${job.spec.name}" has no schedule: add one with "mllab job schedule ${job.spec.name} CRON".`,
      );
    }
    return toSchedule(row, this.clock.now());
  }

  /** Creates or replaces (`patch` = false), or changes some fields of, a job's schedule. */
  async saveSchedule(
    projectId: string,
    jobName: string,
    request: Partial<ScheduleRequest>,
    patch: boolean,
  ): Promise<Schedule> {
    const job = this.deps.jobs.definition(projectId, jobName);
    const current = this.repo.scheduleOfJob(job.id);
    if (patch && !current) {
      this.schedule(projectId, jobName); // says there is none
    }
    const base = patch ? current : undefined;
    const cron = request.cron ?? base?.cron;
    if (cron === undefined) {
      throw new ApiError(400, 'invalid_cron', 'A schedule needs a cron expression, such as "0 2 * * *" or "@daily".');
    }
    const fields = {
      cron: cron.trim(),
      timeZone: checkTimeZone(request.timeZone ?? base?.timeZone ?? localTimeZone()),
      overlap: request.overlap ?? base?.overlap ?? 'skip',
      missed: request.missed ?? base?.missed ?? 'skip',
      enabled: request.enabled ?? base?.enabled ?? true,
    };
    // every check before anything is saved: fields, zone, and that the expression ever fires
    new CronExpression(fields.cron, fields.timeZone, this.clock.now());
    const row = await this.repo.saveSchedule(projectId, job.id, fields);
    this.cron.reload(job.id);
    this.deps.log.info(
      `scheduler: job "${job.spec.name}" ${current ? 'rescheduled' : 'scheduled'}: ${fields.cron} (${fields.timeZone})${fields.enabled ? '' : ', disabled'}`,
    );
    return this.publishSchedule(projectId, job.id) ?? toSchedule(row, this.clock.now());
  }

  async deleteSchedule(projectId: string, jobName: string): Promise<void> {
    const job = this.deps.jobs.definition(projectId, jobName);
    if (!(await this.repo.deleteSchedule(job.id))) {
      this.schedule(projectId, jobName); // says there is none
    }
    this.cron.reload(job.id);
    this.deps.log.info(`scheduler: job "${job.spec.name}" unscheduled`);
    this.deps.events.publish({ type: 'scheduleChanged', projectId, jobId: job.id, schedule: null });
  }

  private publishSchedule(projectId: string, jobId: string): Schedule | undefined {
    const row = this.repo.scheduleOfJob(jobId);
    const schedule = row ? toSchedule(row, this.clock.now()) : null;
    this.deps.events.publish({ type: 'scheduleChanged', projectId, jobId, schedule });
    return schedule ?? undefined;
  }

  // ---- dependencies

  /** Makes a job run after `upstreams` (names or ids; [] = after none), refusing unknown jobs and cycles. */
  async setUpstreams(projectId: string, jobName: string, upstreams: readonly string[]): Promise<Pipeline> {
    const job = this.deps.jobs.definition(projectId, jobName);
    const ids: string[] = [];
    for (const name of upstreams) {
      let upstream: JobRow;
      try {
        upstream = this.deps.jobs.definition(projectId, name);
      } catch {
        throw new ApiError(
          404,
          'not_found',
          `The upstream job "${name}" does not exist in this project (deleted?): list the jobs with "mllab job list".`,
        );
      }
      if (!ids.includes(upstream.id)) {
        ids.push(upstream.id);
      }
    }
    const names = new Map(this.deps.jobs.list(projectId).map((j) => [j.id, j.name]));
    const graph = this.repo.graph(projectId).without(job.id);
    for (const u of ids) {
      const cycle = graph.cycleIfAdded(job.id, u);
      if (cycle) {
        throw new ApiError(
          409,
          'cycle',
          `"${job.spec.name}" cannot run after "${names.get(u)}": that makes a cycle ${cycle.map((id) => names.get(id) ?? id).join(' -> ')}.`,
        );
      }
      graph.link(u, job.id);
    }
    await this.repo.setUpstreams(projectId, job.id, ids);
    this.deps.log.info(
      `scheduler: job "${job.spec.name}" runs after ${ids.length === 0 ? 'no other job' : ids.map((id) => `"${names.get(id)}"`).join(', ')}`,
    );
    this.deps.events.publish({ type: 'pipelineChanged', projectId });
    return this.pipeline(projectId);
  }

  private async forgetJob(projectId: string, jobId: string): Promise<void> {
    const orphaned = await this.repo.forgetJob(jobId);
    this.cron.reload(jobId);
    if (orphaned.length > 0) {
      this.deps.log.info(
        `scheduler: a deleted job was an upstream of ${orphaned.map((n) => `"${n}"`).join(', ')}: that dependency is removed`,
      );
    }
    this.deps.events.publish({ type: 'pipelineChanged', projectId });
  }

  pipeline(projectId: string): Pipeline {
    const jobs = this.deps.jobs.list(projectId);
    const names = new Map(jobs.map((j) => [j.id, j.name]));
    const graph = this.repo.graph(projectId);
    const now = this.clock.now();
    const schedules = new Map(this.repo.schedules(projectId).map((s) => [s.jobId, toSchedule(s, now)]));
    const nameOf = (id: string) => names.get(id) ?? id;
    return {
      projectId,
      jobs: jobs.map((j) => ({
        id: j.id,
        name: j.name,
        upstreams: graph.upstreams(j.id).map(nameOf),
        downstreams: graph.downstreams(j.id).map(nameOf),
        lastRun: j.lastRun,
        schedule: schedules.get(j.id) ?? null,
      })),
      edges: jobs.flatMap((j) => graph.downstreams(j.id).map((d) => ({ from: j.name, to: nameOf(d) }))),
    };
  }

  rerunFrom(projectId: string, jobName: string): Promise<JobRun> {
    return this.pipelines.rerunFrom(this.deps.jobs.definition(projectId, jobName));
  }

  /** Runs jobs as one pipeline execution (default: every job that runs after no other); their dependants follow. */
  async runPipeline(projectId: string, jobNames: readonly string[]): Promise<JobRun[]> {
    const graph = this.repo.graph(projectId);
    const jobs =
      jobNames.length > 0
        ? jobNames.map((n) => this.deps.jobs.definition(projectId, n))
        : this.deps.jobs
            .list(projectId)
            .filter((j) => graph.upstreams(j.id).length === 0)
            .map((j) => this.deps.jobs.definition(projectId, j.id));
    if (jobs.length === 0) {
      throw new ApiError(404, 'not_found', 'No jobs in this project: create one with "mllab job create".');
    }
    const results = await this.pipelines.startRoots(
      projectId,
      jobs.map((job) => ({ job, trigger: { trigger: 'manual' as const, detail: 'pipeline run' } })),
    );
    return results.flatMap((r) => (r.run ? [r.run] : []));
  }

  runManually(job: JobRow): Promise<JobRun> {
    return this.pipelines.runManually(job);
  }
}

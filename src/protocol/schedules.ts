/**
 * Cron schedules of jobs and pipelines (jobs that run after other jobs): DTOs of /api/schedules,
 * /api/jobs/:name/schedule, /api/jobs/:name/upstreams and /api/pipeline.
 */
import type { JobRun } from './containers';

/** A fire while the previous run still runs: dropped, or held until it ends (at most one held). */
export type OverlapPolicy = 'skip' | 'queue';
/** Fires missed while the backend was not running: forgotten, or made up for by one run at start. */
export type MissedPolicy = 'skip' | 'runOnce';

export interface Schedule {
  readonly id: string;
  readonly projectId: string;
  readonly jobId: string;
  readonly jobName: string;
  /** as given: five fields, six (seconds first) or a shortcut such as @daily */
  readonly cron: string;
  /** IANA zone the expression is read in */
  readonly timeZone: string;
  /** the expression in words ("At 02:30, only on Monday") */
  readonly description: string;
  readonly enabled: boolean;
  readonly overlap: OverlapPolicy;
  readonly missed: MissedPolicy;
  /**
   * the next five fire times, ISO with the zone's offset; empty while disabled. A rare expression
   * (`0 0 29 2 *`) lists fires years apart: the search covers a whole 400-year calendar cycle.
   */
  readonly nextRuns: readonly string[];
  /** when it fires next (the first of nextRuns); null while disabled or when it cannot fire. Optional: older backends omit it */
  readonly nextRun?: string | null;
  /**
   * why this schedule cannot fire (its stored expression or zone cannot be read any more): it is
   * listed, with its expression as description, and does not fire; null when it is fine. Optional:
   * older backends omit it
   */
  readonly error?: string | null;
  /** the scheduled time of the last fire, null before the first */
  readonly lastFiredAt: string | null;
  /** why the last fire could not start a run (missing image, Docker down), null when it could */
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** PUT /api/jobs/:name/schedule (create or replace); PATCH takes any subset. */
export interface ScheduleRequest {
  readonly cron: string;
  /** default: the backend machine's zone */
  readonly timeZone?: string;
  readonly overlap?: OverlapPolicy;
  readonly missed?: MissedPolicy;
  readonly enabled?: boolean;
}

/** POST /api/schedules/preview: what an expression means, while a person edits it. */
export interface SchedulePreview {
  readonly cron: string;
  readonly timeZone: string;
  readonly description: string;
  /** up to five next fire times (see Schedule.nextRuns) */
  readonly nextRuns: readonly string[];
  /** the next fire time. Optional: older backends omit it */
  readonly nextRun?: string | null;
}

/** PUT /api/jobs/:name/upstreams: the jobs (names or ids) that must succeed first; [] = none. */
export interface SetUpstreamsRequest {
  readonly upstreams: readonly string[];
}

export interface PipelineJob {
  readonly id: string;
  readonly name: string;
  /** names of the jobs this one runs after */
  readonly upstreams: readonly string[];
  /** names of the jobs that run after this one */
  readonly downstreams: readonly string[];
  readonly lastRun: JobRun | null;
  readonly schedule: Schedule | null;
}

/** GET /api/pipeline: the project's jobs as a graph. */
export interface Pipeline {
  readonly projectId: string;
  readonly jobs: readonly PipelineJob[];
  /** upstream name -> downstream name */
  readonly edges: readonly { readonly from: string; readonly to: string }[];
}

import type { ApiClient } from '../client/api-client';
import type { JobRun } from '../protocol/containers';
import type { MissedPolicy, OverlapPolicy, Schedule } from '../protocol/schedules';
import { expectArgs, Output, table } from './output';
import { SCHEDULE_USAGE } from './usage';

/** The `mllab job` subcommands of schedules and pipelines. */

export interface ScheduleFlags {
  readonly project?: string;
  readonly tz?: string;
  readonly overlap?: string;
  readonly missed?: string;
  readonly enable?: boolean;
  readonly disable?: boolean;
  readonly upstream?: string[];
  readonly none?: boolean;
}

function overlapFlag(value: string | undefined): OverlapPolicy | undefined {
  if (value === undefined || value === 'skip' || value === 'queue') {
    return value;
  }
  throw new Error(`--overlap takes skip or queue, not "${value}".`);
}

function missedFlag(value: string | undefined): MissedPolicy | undefined {
  if (value === undefined || value === 'skip') {
    return value;
  }
  if (value === 'run-once' || value === 'runOnce') {
    return 'runOnce';
  }
  throw new Error(`--missed takes skip or run-once, not "${value}".`);
}

/** "0 2 * * * (Europe/Berlin): At 02:00; next: ..." */
export function describeSchedule(s: Schedule, next = 5): string {
  const state = s.enabled ? '' : ' [disabled]';
  const runs = s.nextRuns.slice(0, next);
  return [
    `${s.cron} (${s.timeZone})${state}: ${s.description}; overlap ${s.overlap}, missed fires ${s.missed === 'runOnce' ? 'run once' : 'skipped'}`,
    ...(runs.length > 0 ? [`next: ${runs.join(', ')}`] : []),
    ...(s.error ? [`cannot fire: ${s.error}`] : []),
    ...(s.lastError ? [`last fire could not start: ${s.lastError}`] : []),
  ].join('\n');
}

function trigger(r: JobRun): string {
  return r.triggerDetail ? `${r.trigger}: ${r.triggerDetail}` : r.trigger;
}

export async function scheduleCommand(
  client: ApiClient,
  out: Output,
  args: string[],
  flags: ScheduleFlags,
): Promise<number> {
  const [sub, ...rest] = args;
  const need = (n: number) => expectArgs(`job ${sub}`, rest, n, SCHEDULE_USAGE);
  const p = flags.project;
  switch (sub) {
    case 'schedule': {
      if (flags.enable || flags.disable) {
        need(1);
        if (flags.enable && flags.disable) {
          throw new Error('--enable and --disable exclude each other.');
        }
        const s = await client.updateSchedule(rest[0], { enabled: !!flags.enable }, p);
        out.result(
          s,
          () => `${s.enabled ? 'Enabled' : 'Disabled'} the schedule of ${s.jobName}: ${describeSchedule(s)}`,
        );
        return 0;
      }
      need(2);
      const s = await client.scheduleJob(
        rest[0],
        { cron: rest[1], timeZone: flags.tz, overlap: overlapFlag(flags.overlap), missed: missedFlag(flags.missed) },
        p,
      );
      out.result(s, () => `Scheduled ${s.jobName}: ${describeSchedule(s)}`);
      return 0;
    }
    case 'unschedule': {
      need(1);
      await client.unscheduleJob(rest[0], p);
      out.result({ unscheduled: true, name: rest[0] }, () => `Removed the schedule of ${rest[0]}.`);
      return 0;
    }
    case 'after': {
      need(1);
      const upstreams = flags.upstream ?? [];
      if (upstreams.length === 0 && !flags.none) {
        throw new Error(`"mllab job after" needs --upstream JOB (one or more) or --none. Usage:\n${SCHEDULE_USAGE}`);
      }
      if (upstreams.length > 0 && flags.none) {
        throw new Error('--none and --upstream exclude each other.');
      }
      const pipeline = await client.setJobUpstreams(rest[0], upstreams, p);
      const job = pipeline.jobs.find((j) => j.name.toLowerCase() === rest[0].toLowerCase());
      out.result(pipeline, () =>
        job && job.upstreams.length > 0
          ? `${job.name} now runs after ${job.upstreams.join(', ')} succeeded.`
          : `${rest[0]} now runs after no other job.`,
      );
      return 0;
    }
    case 'history': {
      need(1);
      const runs = await client.jobRuns(rest[0], p);
      out.result(runs, () =>
        runs.length === 0
          ? `The job "${rest[0]}" has not run yet.`
          : table(
              ['RUN', 'TRIGGER', 'STATE', 'EXIT', 'STARTED', 'ENDED', 'REASON'],
              runs.map((r) => [
                r.id,
                trigger(r),
                r.state,
                r.exitCode === null ? '' : String(r.exitCode),
                r.startedAt ?? '',
                r.endedAt ?? '',
                r.reason ?? '',
              ]),
            ),
      );
      return 0;
    }
    case 'rerun-from': {
      need(1);
      const run = await client.rerunFrom(rest[0], p);
      out.result(
        run,
        () => `Re-running ${rest[0]} (run ${run.id}, ${run.state}); the jobs after it follow when it succeeds.`,
      );
      return run.state === 'failed' ? 1 : 0;
    }
    default:
      throw new Error(`Unknown command "mllab job ${sub ?? ''}". Usage:\n${SCHEDULE_USAGE}`);
  }
}

import * as vscode from 'vscode';
import type { OverlapPolicy } from '../../protocol/schedules';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { JobView } from './jobs-model';
import { scheduleTime } from './schedule-time';
import type { JobNode } from './tree';

export interface ScheduleCommandDeps {
  readonly backend: BackendService;
  readonly ui: Ui;
  readonly jobs: () => readonly JobView[];
  /** picks the job of a view node, or asks for one */
  readonly pickJob: (node: JobNode | undefined, placeHolder: string) => Promise<JobView | undefined>;
}

/** The time zone of this machine, the default of a new schedule. */
const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** Cron schedules and dependencies of jobs: schedule, pause/resume, unschedule, run after, re-run from here. */
export function registerScheduleCommands(deps: ScheduleCommandDeps): vscode.Disposable[] {
  const { backend, ui, pickJob } = deps;

  /** Validates an expression as it is typed: the backend's error names the wrong field; else it says what it means. */
  const preview = async (cron: string, timeZone: string): Promise<vscode.InputBoxValidationMessage | undefined> => {
    if (!cron.trim()) {
      return {
        message: 'A cron expression: "30 2 * * *", "0 */6 * * 1-5", "*/10 * * * * *" or @daily',
        severity: vscode.InputBoxValidationSeverity.Info,
      };
    }
    try {
      const p = await (await backend.ready()).previewSchedule(cron.trim(), timeZone);
      const next = p.nextRuns
        .slice(0, 5)
        .map((t) => scheduleTime(t, timeZone))
        .join(', ');
      return { message: `${p.description}. Next: ${next}`, severity: vscode.InputBoxValidationSeverity.Info };
    } catch (e) {
      return { message: (e as Error).message, severity: vscode.InputBoxValidationSeverity.Error };
    }
  };

  return [
    registerCommand(Commands.scheduleJob, ui, async (node?: JobNode) => {
      const job = await pickJob(node, 'Job to schedule');
      if (!job) {
        return undefined;
      }
      const zone = job.schedule?.timeZone ?? localZone();
      const cron = await ui.input({
        title: `Schedule ${job.name} (1/2): when`,
        prompt: `Cron, read in ${zone}: minute hour day month weekday (a sixth field first = seconds), or @hourly, @daily, @weekly`,
        value: job.schedule?.cron ?? '0 2 * * *',
        validateInput: (v) => preview(v, zone),
      });
      if (!cron) {
        return undefined;
      }
      const overlap = await ui.pick(
        [
          {
            label: 'Skip',
            description: 'a fire while the previous run still runs is dropped',
            policy: 'skip' as OverlapPolicy,
          },
          { label: 'Queue one', description: 'it runs once the previous run ends', policy: 'queue' as OverlapPolicy },
        ],
        { title: `Schedule ${job.name} (2/2): when the previous run is still running` },
      );
      if (!overlap) {
        return undefined;
      }
      const schedule = await (
        await backend.ready()
      ).scheduleJob(
        job.name,
        { cron: cron.trim(), timeZone: zone, overlap: overlap.policy, enabled: true },
        job.projectId,
      );
      void ui.info(`ML Lab: ${job.name} runs ${schedule.description.toLowerCase()} (${schedule.timeZone}).`);
      return schedule;
    }),
    registerCommand(Commands.unscheduleJob, ui, async (node?: JobNode) => {
      const job = await pickJob(node, 'Job whose schedule to remove');
      if (!job) {
        return undefined;
      }
      if (!job.schedule) {
        throw new Error(`The job "${job.name}" has no schedule.`);
      }
      await (await backend.ready()).unscheduleJob(job.name, job.projectId);
      return true;
    }),
    registerCommand(Commands.toggleJobSchedule, ui, async (node?: JobNode) => {
      const job = await pickJob(node, 'Job whose schedule to pause or resume');
      if (!job?.schedule) {
        throw new Error(`The job "${job?.name ?? ''}" has no schedule: add one with "Schedule Job...".`);
      }
      return (await backend.ready()).updateSchedule(job.name, { enabled: !job.schedule.enabled }, job.projectId);
    }),
    registerCommand(Commands.setJobUpstreams, ui, async (node?: JobNode) => {
      const job = await pickJob(node, 'Job that runs after others');
      if (!job) {
        return undefined;
      }
      const others = deps.jobs().filter((j) => j.id !== job.id);
      if (others.length === 0) {
        throw new Error('There is no other job to run after: create one first.');
      }
      const picked = await ui.pickMany(
        others.map((j) => ({ label: j.name, description: j.image, picked: job.upstreams.includes(j.name) })),
        { title: `${job.name} runs after these jobs succeed (none selected = after no job)` },
      );
      if (!picked) {
        return undefined;
      }
      // a cycle is refused by the backend with a message naming it
      return (await backend.ready()).setJobUpstreams(
        job.name,
        picked.map((p) => p.label),
        job.projectId,
      );
    }),
    registerCommand(Commands.rerunJobFrom, ui, async (node?: JobNode) => {
      const job = await pickJob(node, 'Job to re-run with everything after it');
      return job ? (await backend.ready()).rerunFrom(job.name, job.projectId) : undefined;
    }),
    registerCommand(Commands.runPipeline, ui, async () => {
      const runs = await (await backend.ready()).runPipeline();
      void ui.info(
        `ML Lab: the pipeline started with ${runs.map((r) => deps.jobs().find((j) => j.id === r.jobId)?.name ?? r.jobId).join(', ')}.`,
      );
      return runs;
    }),
  ];
}

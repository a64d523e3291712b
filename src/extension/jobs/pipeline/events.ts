import type { BackendEvent } from '../../../protocol/api';
import type { Pipeline } from '../../../protocol/schedules';

/** Events after which the graph may have changed (run updates are judged by `affectsGraph`). */
const RELOADING = new Set<BackendEvent['type']>([
  'pipelineChanged',
  'scheduleChanged',
  'jobChanged',
  'jobDeleted',
  'activeProjectChanged',
  'projectDeleted',
  'hello',
]);

/** What the graph shows of each job's last run: "runId:state" by job id ('' before the first run). */
export type RunStates = ReadonlyMap<string, string>;

export function runStatesOf(pipeline: Pipeline): RunStates {
  return new Map(pipeline.jobs.map((j) => [j.id, j.lastRun ? `${j.lastRun.id}:${j.lastRun.state}` : '']));
}

/**
 * Whether an event may change the graph of `projectId` (undefined: none shown yet). A run's log
 * grows often and each growth is an event: only a new run or a change of state matters here.
 */
export function affectsGraph(event: BackendEvent, projectId: string | undefined, runs: RunStates): boolean {
  const ofOtherProject = (id: string) => projectId !== undefined && id !== projectId;
  if (event.type === 'jobRunUpdated') {
    const { run } = event;
    return !ofOtherProject(run.projectId) && runs.get(run.jobId) !== `${run.id}:${run.state}`;
  }
  if (!RELOADING.has(event.type)) {
    return false;
  }
  const eventProject =
    event.type === 'jobChanged'
      ? event.job.projectId
      : event.type === 'jobDeleted' || event.type === 'scheduleChanged' || event.type === 'pipelineChanged'
        ? event.projectId
        : undefined;
  return eventProject === undefined || !ofOtherProject(eventProject);
}

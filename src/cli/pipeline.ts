import type { ApiClient } from '../client/api-client';
import type { Pipeline } from '../protocol/schedules';
import { expectArgs, Output, table } from './output';
import { describeSchedule } from './schedules';
import { PIPELINE_USAGE } from './usage';

function render(p: Pipeline): string {
  if (p.jobs.length === 0) {
    return 'No jobs in this project yet: create one with "mllab job create NAME --image IMG -- CMD".';
  }
  const jobs = table(
    ['JOB', 'AFTER', 'LAST STATE', 'LAST TRIGGER', 'SCHEDULE'],
    p.jobs.map((j) => [
      j.name,
      j.upstreams.join(', '),
      j.lastRun ? `${j.lastRun.state}${j.lastRun.exitCode === null ? '' : ` (${j.lastRun.exitCode})`}` : 'never run',
      j.lastRun?.trigger ?? '',
      j.schedule ? `${j.schedule.cron}${j.schedule.enabled ? '' : ' [disabled]'}` : '',
    ]),
  );
  const edges =
    p.edges.length === 0 ? 'No dependencies.' : `Edges:\n${p.edges.map((e) => `  ${e.from} -> ${e.to}`).join('\n')}`;
  const schedules = p.jobs
    .filter((j) => j.schedule)
    .map((j) => `  ${j.name}: ${describeSchedule(j.schedule!).split('\n').join('\n    ')}`);
  return [jobs, edges, ...(schedules.length > 0 ? [['Schedules:', ...schedules].join('\n')] : [])].join('\n\n');
}

export async function pipelineCommand(
  client: ApiClient,
  out: Output,
  args: string[],
  flags: { project?: string },
): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'run') {
    const runs = await client.runPipeline(rest, flags.project);
    const names = new Map((await client.listJobs(flags.project)).map((j) => [j.id, j.name]));
    out.result(runs, () =>
      [
        ...runs.map(
          (r) =>
            `Started run ${r.id} of job ${names.get(r.jobId) ?? r.jobId}: ${r.state}${r.reason ? ` (${r.reason})` : ''}.`,
        ),
        'The jobs that depend on them follow; see "mllab pipeline show".',
      ].join('\n'),
    );
    return runs.some((r) => r.state === 'failed') ? 1 : 0;
  }
  if (sub !== 'show') {
    throw new Error(`Unknown command "mllab pipeline ${sub ?? ''}". Usage:\n${PIPELINE_USAGE}`);
  }
  expectArgs('pipeline show', rest, 0, PIPELINE_USAGE);
  const p = await client.pipeline(flags.project);
  out.result(p, () => render(p));
  return 0;
}

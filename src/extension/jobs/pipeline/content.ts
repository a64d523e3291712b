import type { JobRun } from '../../../protocol/containers';
import type { Pipeline, PipelineJob } from '../../../protocol/schedules';
import type { GraphMessage, PipelineGraphNode } from '../../../protocol/webviews/pipeline-graph';
import { layoutPipeline } from './layout';

const pad = (n: number) => String(n).padStart(2, '0');

/** "2026-11-26 20:14" in the editor machine's zone. */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A time for a narrow box: "today 10:02", "tomorrow 02:00", "26 Nov 10:02", or "2025-11-26" in another year. */
export function formatShortTime(iso: string, now: Date): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return iso;
  }
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const day = (x: Date) => `${x.getFullYear()}-${x.getMonth()}-${x.getDate()}`;
  const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  if (day(d) === day(now)) {
    return `today ${hm}`;
  }
  if (day(d) === day(tomorrow)) {
    return `tomorrow ${hm}`;
  }
  if (d.getFullYear() === now.getFullYear()) {
    return `${d.getDate()} ${MONTHS[d.getMonth()]} ${hm}`;
  }
  return formatTime(iso).slice(0, 10);
}

/** "12.3 s", "4 min 5 s", "1.5 h" between two ISO times (or until `now` while running); '' without a start. */
export function formatDuration(startedAt: string | null, endedAt: string | null, now: Date): string {
  if (!startedAt) {
    return '';
  }
  const s = Math.max(0, ((endedAt ? Date.parse(endedAt) : now.getTime()) - Date.parse(startedAt)) / 1000);
  if (!Number.isFinite(s)) {
    return '';
  }
  return s < 60
    ? `${s.toFixed(1)} s`
    : s < 3600
      ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
      : `${(s / 3600).toFixed(1)} h`;
}

/** Why a run happened, in words; a dependency names the upstream job when its run is the one shown. */
function triggerLabel(run: JobRun, jobOfRun: ReadonlyMap<string, string>): string {
  switch (run.trigger) {
    case 'cron':
      return run.triggerDetail ? `cron ${run.triggerDetail}` : 'cron';
    case 'dependency': {
      const upstream = run.triggerDetail ? jobOfRun.get(run.triggerDetail) : undefined;
      return upstream ? `after ${upstream}` : 'after an upstream job';
    }
    default:
      return run.triggerDetail ? `manual (${run.triggerDetail})` : 'manual';
  }
}

function runLine(run: JobRun | null, now: Date): string {
  if (!run) {
    return 'never run';
  }
  const when = run.endedAt ?? run.startedAt ?? run.createdAt;
  return [run.state, run.exitCode !== null ? `exit ${run.exitCode}` : '', formatShortTime(when, now)]
    .filter((s) => s.length > 0)
    .join(' · ');
}

/** What the box says under the run line when the job has no schedule: why the run ended so, or what started it. */
function noteOf(run: JobRun | null, trigger: string): string {
  if (!run) {
    return '';
  }
  if (run.reason) {
    return run.reason;
  }
  return run.trigger === 'manual'
    ? 'started manually'
    : run.trigger === 'cron'
      ? `started by ${trigger}`
      : `started ${trigger}`;
}

function scheduleOf(job: PipelineJob, now: Date): PipelineGraphNode['schedule'] {
  const s = job.schedule;
  if (!s) {
    return null;
  }
  const nextRun = s.enabled && s.nextRuns.length > 0 ? formatTime(s.nextRuns[0]) : null;
  const line = !s.enabled
    ? `⟳ disabled: ${s.description}`
    : s.nextRuns.length > 0
      ? `⟳ ${s.description} · next ${formatShortTime(s.nextRuns[0], now)}`
      : `⟳ ${s.description}`;
  return { description: s.description, cron: s.cron, timeZone: s.timeZone, enabled: s.enabled, nextRun, line };
}

function nodeOf(
  job: PipelineJob,
  jobOfRun: ReadonlyMap<string, string>,
  now: Date,
): Omit<PipelineGraphNode, 'layer' | 'order'> {
  const run = job.lastRun;
  const trigger = run ? triggerLabel(run, jobOfRun) : '';
  return {
    id: job.id,
    name: job.name,
    state: run ? run.state : 'never',
    stateLabel: run ? (run.exitCode !== null ? `${run.state} · exit ${run.exitCode}` : run.state) : 'never run',
    exitCode: run?.exitCode ?? null,
    trigger: run?.trigger ?? null,
    triggerLabel: trigger,
    started: run?.startedAt ? formatTime(run.startedAt) : null,
    ended: run?.endedAt ? formatTime(run.endedAt) : null,
    duration: run ? formatDuration(run.startedAt, run.endedAt, now) : '',
    reason: run?.reason ?? null,
    runLine: runLine(run, now),
    note: noteOf(run, trigger),
    schedule: scheduleOf(job, now),
    upstreams: job.upstreams,
    downstreams: job.downstreams,
  };
}

/** The `graph` message of a pipeline: every job laid out, with its last run and schedule in words. */
export function buildGraph(pipeline: Pipeline, now = new Date()): GraphMessage {
  const jobOfRun = new Map(pipeline.jobs.filter((j) => j.lastRun).map((j) => [j.lastRun!.id, j.name]));
  const layout = layoutPipeline(
    pipeline.jobs.map((j) => j.name),
    pipeline.edges,
  );
  const nodes = pipeline.jobs
    .filter((j) => layout.slots.has(j.name))
    .map((j) => ({ ...nodeOf(j, jobOfRun, now), ...layout.slots.get(j.name)! }));
  return {
    type: 'graph',
    projectId: pipeline.projectId,
    nodes,
    edges: layout.edges.map((e) => (e.back ? { ...e } : { from: e.from, to: e.to, via: e.via })),
    layerSizes: layout.layers.map((l) => l.length),
    updated: `Updated ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`,
  };
}

import type { JobRun } from '../containers';
import type { Pipeline, Schedule, SchedulePreview, ScheduleRequest, SetUpstreamsRequest } from '../schedules';
import { route } from './route';
import { nameParams, projectQuery, type InProject } from './schema';

const scheduleProperties = {
  cron: { type: 'string', minLength: 1, maxLength: 200 },
  timeZone: { type: 'string', minLength: 1, maxLength: 100 },
  overlap: { type: 'string', enum: ['skip', 'queue'] },
  missed: { type: 'string', enum: ['skip', 'runOnce'] },
  enabled: { type: 'boolean' },
} as const;

const jobNames = { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 200 } } as const;

/** A job's schedule (`:name` is the job) and its upstream jobs, and the project's pipeline. */
export const schedulerRoutes = {
  list: route<Schedule[], undefined, InProject>()({ method: 'GET', path: '/api/schedules', query: projectQuery }),
  preview: route<SchedulePreview, { cron: string; timeZone?: string }>()({
    method: 'POST',
    path: '/api/schedules/preview',
    body: {
      type: 'object',
      required: ['cron'],
      additionalProperties: false,
      properties: { cron: scheduleProperties.cron, timeZone: scheduleProperties.timeZone },
    },
  }),
  get: route<Schedule, undefined, InProject>()({
    method: 'GET',
    path: '/api/jobs/:name/schedule',
    params: nameParams,
    query: projectQuery,
  }),
  /** creates or replaces the job's schedule */
  put: route<Schedule, ScheduleRequest, InProject>()({
    method: 'PUT',
    path: '/api/jobs/:name/schedule',
    params: nameParams,
    query: projectQuery,
    body: { type: 'object', required: ['cron'], additionalProperties: false, properties: scheduleProperties },
  }),
  /** changes some fields (e.g. { enabled: false }) */
  patch: route<Schedule, Partial<ScheduleRequest>, InProject>()({
    method: 'PATCH',
    path: '/api/jobs/:name/schedule',
    params: nameParams,
    query: projectQuery,
    body: { type: 'object', additionalProperties: false, properties: scheduleProperties },
  }),
  delete: route<void, undefined, InProject>()({
    method: 'DELETE',
    path: '/api/jobs/:name/schedule',
    status: 204,
    params: nameParams,
    query: projectQuery,
  }),
  setUpstreams: route<Pipeline, SetUpstreamsRequest, InProject>()({
    method: 'PUT',
    path: '/api/jobs/:name/upstreams',
    params: nameParams,
    query: projectQuery,
    body: { type: 'object', required: ['upstreams'], additionalProperties: false, properties: { upstreams: jobNames } },
  }),
  rerunFrom: route<JobRun, undefined, InProject>()({
    method: 'POST',
    path: '/api/jobs/:name/rerun-from',
    status: 201,
    params: nameParams,
    query: projectQuery,
  }),
  /** runs jobs as one pipeline execution (none given: every job that runs after no other) */
  runPipeline: route<JobRun[], { jobs?: readonly string[] } | undefined, InProject>()({
    method: 'POST',
    path: '/api/pipeline/runs',
    status: 201,
    query: projectQuery,
    body: { type: 'object', additionalProperties: false, properties: { jobs: jobNames } },
  }),
  pipeline: route<Pipeline, undefined, InProject>()({ method: 'GET', path: '/api/pipeline', query: projectQuery }),
} as const;

import type { FastifyInstance } from 'fastify';
import type { JobRun } from '../../protocol/containers';
import type {
  Pipeline,
  Schedule,
  SchedulePreview,
  ScheduleRequest,
  SetUpstreamsRequest,
} from '../../protocol/schedules';
import { nameParams, projectQuery } from '../http/schemas';
import type { ProjectRepository } from '../projects/repository';
import type { Scheduler } from './service';

const scheduleProperties = {
  cron: { type: 'string', minLength: 1, maxLength: 200 },
  timeZone: { type: 'string', minLength: 1, maxLength: 100 },
  overlap: { type: 'string', enum: ['skip', 'queue'] },
  missed: { type: 'string', enum: ['skip', 'runOnce'] },
  enabled: { type: 'boolean' },
} as const;

type NameRequest = { Params: { name: string }; Querystring: { project?: string } };

export function registerSchedulerRoutes(app: FastifyInstance, projects: ProjectRepository, scheduler: Scheduler): void {
  const projectOf = (q: { project?: string }) => projects.resolveOrActive(q.project).id;

  app.get<{ Querystring: { project?: string } }>(
    '/api/schedules',
    { schema: { querystring: projectQuery } },
    async (request): Promise<Schedule[]> => scheduler.schedules(projectOf(request.query)),
  );

  app.post<{ Body: { cron: string; timeZone?: string } }>(
    '/api/schedules/preview',
    {
      schema: {
        body: {
          type: 'object',
          required: ['cron'],
          additionalProperties: false,
          properties: { cron: scheduleProperties.cron, timeZone: scheduleProperties.timeZone },
        },
      },
    },
    async (request): Promise<SchedulePreview> => scheduler.preview(request.body.cron, request.body.timeZone),
  );

  app.get<NameRequest>(
    '/api/jobs/:name/schedule',
    { schema: { params: nameParams, querystring: projectQuery } },
    async (request): Promise<Schedule> => scheduler.schedule(projectOf(request.query), request.params.name),
  );

  app.put<NameRequest & { Body: ScheduleRequest }>(
    '/api/jobs/:name/schedule',
    {
      schema: {
        params: nameParams,
        querystring: projectQuery,
        body: { type: 'object', required: ['cron'], additionalProperties: false, properties: scheduleProperties },
      },
    },
    async (request): Promise<Schedule> =>
      scheduler.saveSchedule(projectOf(request.query), request.params.name, request.body, false),
  );

  app.patch<NameRequest & { Body: Partial<ScheduleRequest> }>(
    '/api/jobs/:name/schedule',
    {
      schema: {
        params: nameParams,
        querystring: projectQuery,
        body: { type: 'object', additionalProperties: false, properties: scheduleProperties },
      },
    },
    async (request): Promise<Schedule> =>
      scheduler.saveSchedule(projectOf(request.query), request.params.name, request.body, true),
  );

  app.delete<NameRequest>(
    '/api/jobs/:name/schedule',
    { schema: { params: nameParams, querystring: projectQuery } },
    async (request, reply): Promise<void> => {
      await scheduler.deleteSchedule(projectOf(request.query), request.params.name);
      void reply.code(204);
    },
  );

  app.put<NameRequest & { Body: SetUpstreamsRequest }>(
    '/api/jobs/:name/upstreams',
    {
      schema: {
        params: nameParams,
        querystring: projectQuery,
        body: {
          type: 'object',
          required: ['upstreams'],
          additionalProperties: false,
          properties: {
            upstreams: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 200 } },
          },
        },
      },
    },
    async (request): Promise<Pipeline> =>
      scheduler.setUpstreams(projectOf(request.query), request.params.name, request.body.upstreams),
  );

  app.post<NameRequest>(
    '/api/jobs/:name/rerun-from',
    { schema: { params: nameParams, querystring: projectQuery } },
    async (request, reply): Promise<JobRun> => {
      const run = await scheduler.rerunFrom(projectOf(request.query), request.params.name);
      void reply.code(201);
      return run;
    },
  );

  app.post<{ Body: { jobs?: string[] }; Querystring: { project?: string } }>(
    '/api/pipeline/runs',
    {
      schema: {
        querystring: projectQuery,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            jobs: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 200 } },
          },
        },
      },
    },
    async (request, reply): Promise<JobRun[]> => {
      const runs = await scheduler.runPipeline(projectOf(request.query), request.body?.jobs ?? []);
      void reply.code(201);
      return runs;
    },
  );

  app.get<{ Querystring: { project?: string } }>(
    '/api/pipeline',
    { schema: { querystring: projectQuery } },
    async (request): Promise<Pipeline> => scheduler.pipeline(projectOf(request.query)),
  );
}

import type { FastifyInstance } from 'fastify';
import { schedulerRoutes as routes } from '../../protocol/routes/scheduler';
import { register } from '../http/register';
import type { ProjectRepository } from '../projects/repository';
import type { Scheduler } from './service';

/** The scheduler publishes its own events (scheduleChanged, pipelineChanged, jobRunUpdated). */
export function registerSchedulerRoutes(app: FastifyInstance, projects: ProjectRepository, scheduler: Scheduler): void {
  const projectOf = (q: { project?: string }) => projects.resolveOrActive(q.project).id;

  register(app, routes.list, async (request) => scheduler.schedules(projectOf(request.query)));

  register(app, routes.preview, async (request) => scheduler.preview(request.body.cron, request.body.timeZone));

  register(app, routes.get, async (request) => scheduler.schedule(projectOf(request.query), request.params.name));

  register(app, routes.put, async (request) =>
    scheduler.saveSchedule(projectOf(request.query), request.params.name, request.body, false),
  );

  register(app, routes.patch, async (request) =>
    scheduler.saveSchedule(projectOf(request.query), request.params.name, request.body, true),
  );

  register(app, routes.delete, async (request) => {
    await scheduler.deleteSchedule(projectOf(request.query), request.params.name);
  });

  register(app, routes.setUpstreams, async (request) =>
    scheduler.setUpstreams(projectOf(request.query), request.params.name, request.body.upstreams),
  );

  register(app, routes.rerunFrom, async (request) =>
    scheduler.rerunFrom(projectOf(request.query), request.params.name),
  );

  register(app, routes.runPipeline, async (request) =>
    scheduler.runPipeline(projectOf(request.query), request.body?.jobs ?? []),
  );

  register(app, routes.pipeline, async (request) => scheduler.pipeline(projectOf(request.query)));
}

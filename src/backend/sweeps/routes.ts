import type { FastifyInstance } from 'fastify';
import { sweepRoutes as routes } from '../../protocol/routes/sweeps';
import { register } from '../http/register';
import { requireMachineAccess } from '../http/machine-access';
import type { ProjectRepository } from '../projects/repository';
import type { SweepService } from './service';

export function registerSweepRoutes(app: FastifyInstance, projects: ProjectRepository, sweeps: SweepService): void {
  const projectOf = (q: { project?: string }) => projects.resolveOrActive(q.project).id;

  register(app, routes.list, async (request) => sweeps.list(projectOf(request.query)));
  register(app, routes.create, async (request) => {
    // the trials run a command in a folder of the lab's machine
    requireMachineAccess(
      request,
      "Running a sweep's command on the lab's machine",
      'run the sweep on your own machine',
    );
    return sweeps.create(projectOf(request.query), request.body);
  });
  register(app, routes.get, async (request) => sweeps.get(projectOf(request.query), request.params.id));
  register(app, routes.pause, async (request) => sweeps.pause(projectOf(request.query), request.params.id));
  register(app, routes.resume, async (request) => sweeps.resume(projectOf(request.query), request.params.id));
  register(app, routes.stop, async (request) => sweeps.stop(projectOf(request.query), request.params.id));
  register(app, routes.addTrials, async (request) =>
    sweeps.addTrials(projectOf(request.query), request.params.id, request.body.add),
  );
}

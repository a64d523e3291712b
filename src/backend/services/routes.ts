import type { FastifyInstance } from 'fastify';
import { serviceRoutes as routes } from '../../protocol/routes/services';
import { sendTextStream } from '../runtime/stream-reply';
import type { ProjectRepository } from '../projects/repository';
import type { ServiceManager } from './manager';
import type { ServiceRepository } from './repository';
import { checkName } from '../../protocol/names';
import { register } from '../http/register';
import { ApiError } from '../errors';
import { requestClosedSignal } from '../runtime/request-signal';

export interface ServiceRouteDeps {
  readonly projects: ProjectRepository;
  readonly services: ServiceRepository;
  readonly manager: ServiceManager;
}

export function registerServiceRoutes(app: FastifyInstance, deps: ServiceRouteDeps): void {
  const { projects, services, manager } = deps;
  const projectOf = (q: { project?: string }) => projects.resolveOrActive(q.project).id;
  const find = (r: { params: { name: string }; query: { project?: string } }) =>
    services.get(projectOf(r.query), r.params.name);

  register(app, routes.list, async (request) => services.list(projectOf(request.query)));

  register(app, routes.deploy, async (request) => {
    // checked before Docker is asked: a wrong name is the same mistake with or without Docker
    const problem = checkName('service', request.body.name);
    if (problem) {
      throw new ApiError(400, 'invalid_name', problem);
    }
    return manager.deploy(projectOf(request.query), request.body);
  });

  register(app, routes.get, async (request) => find(request));
  register(app, routes.stop, async (request) => manager.stop(find(request)));
  register(app, routes.start, async (request) => manager.start(find(request)));
  register(app, routes.restart, async (request) => manager.restart(find(request)));

  register(app, routes.delete, async (request) => manager.remove(find(request)));

  register(app, routes.logs, async (request, reply) => {
    sendTextStream(
      reply,
      await manager.logs(find(request), request.query.follow === 'true', requestClosedSignal(reply)),
    );
  });
}

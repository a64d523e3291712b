import type { FastifyInstance } from 'fastify';
import { serviceRoutes as routes } from '../../protocol/routes/services';
import { sendTextStream } from '../runtime/stream-reply';
import type { ProjectRepository } from '../projects/repository';
import type { ServiceRepository } from './repository';
import { checkName } from '../../protocol/names';
import { register } from '../http/register';
import { ApiError } from '../errors';
import { requireMachineAccess } from '../http/machine-access';
import { portWarnings } from '../../protocol/container-warnings';
import type { DeployServiceRequest } from '../../protocol/containers';
import { toServiceSpec, type ServiceManager } from './manager';

/** What a service asks of the lab's machine (folders mounted, ports on all interfaces), for requireMachineAccess. */
function machineUseOf(request: DeployServiceRequest): string | undefined {
  const spec = toServiceSpec(request);
  if (spec.volumes.length > 0) {
    return `Mounting folders of the lab's machine (${spec.volumes.map((v) => v.hostPath.slice(0, 100)).join(', ')}) into a service`;
  }
  return portWarnings(spec.ports).length > 0 ? "Publishing a port on all interfaces of the lab's machine" : undefined;
}
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
    requireMachineAccess(request, machineUseOf(request.body), 'publish ports on 127.0.0.1 and leave out volumes');
    return manager.deploy(projectOf(request.query), request.body);
  });

  register(app, routes.get, async (request) => find(request));
  register(app, routes.stop, async (request) => manager.stop(find(request)));
  register(app, routes.start, async (request) => manager.start(find(request)));
  register(app, routes.restart, async (request) => manager.restart(find(request)));
  register(app, routes.scale, async (request) => manager.scale(find(request), request.body.replicas));

  register(app, routes.delete, async (request) => manager.remove(find(request)));

  register(app, routes.logs, async (request, reply) => {
    sendTextStream(
      reply,
      await manager.logs(find(request), request.query.follow === 'true', requestClosedSignal(reply)),
    );
  });
}

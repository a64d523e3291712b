import type { FastifyInstance, FastifyRequest } from 'fastify';
import { targetRoutes as routes } from '../../protocol/routes/targets';
import type { AddTargetRequest, Target, TargetStatus } from '../../protocol/targets';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import { register } from '../http/register';
import { identityOf } from '../http/server';
import type { ProjectRepository } from '../projects/repository';
import { checkTargetName, type NewTarget } from './repository';
import { probeEngine, targetStatus } from './probe';
import { TargetRuntimes } from './runtimes';

export interface TargetRouteDeps {
  readonly home: string;
  readonly runtimes: TargetRuntimes;
  readonly projects: ProjectRepository;
  readonly events: EventBus;
}

/** "host:port" or "host:port/prefix", as an image name begins: what the nodes pull from. */
const REGISTRY = /^[A-Za-z0-9.-]+(:\d{1,5})?(\/[a-z0-9._/-]+)?$/;

/**
 * A target decides where the lab's containers run and which machine the lab reaches with its own
 * credentials (TLS files on its disk, its ssh agent): only an admin of a lab served to a team may
 * add or remove one. A local lab's owner is its admin.
 */
function requireLabAdmin(request: FastifyRequest, what: string): void {
  const identity = identityOf(request);
  if (identity && identity.role !== 'admin') {
    throw new ApiError(
      403,
      'admin_only',
      `${what} needs the lab's admin role (you are a ${identity.role}, "${identity.name}"): ask an admin of the lab.`,
    );
  }
}

/** The target a request describes, checked for what can be checked without asking the engine. */
function newTarget(body: AddTargetRequest): NewTarget {
  const problem = checkTargetName(body.name);
  if (problem) {
    throw new ApiError(400, 'invalid_name', problem);
  }
  const registry = body.registry?.trim() || null;
  if (registry !== null && !REGISTRY.test(registry)) {
    throw new ApiError(
      400,
      'invalid_registry',
      `The registry "${registry}" is not understood: give HOST:PORT (e.g. registry.example.com:5000), optionally followed by /PREFIX.`,
    );
  }
  const tls = body.tls
    ? { caFile: body.tls.caFile ?? null, certFile: body.tls.certFile ?? null, keyFile: body.tls.keyFile ?? null }
    : null;
  return {
    name: body.name,
    kind: 'docker',
    dockerHost: body.dockerHost.trim(),
    tls: tls && (tls.caFile || tls.certFile || tls.keyFile) ? tls : null,
    registry,
  };
}

export function registerTargetRoutes(app: FastifyInstance, deps: TargetRouteDeps): void {
  const { home, runtimes, projects, events } = deps;
  const statusOf = (target: Target): Promise<TargetStatus> => targetStatus(runtimes.engine(target.name), home);

  // every target is asked at once: one that does not answer costs its time limit, not the sum
  register(app, routes.list, async () => Promise.all(runtimes.list().map(statusOf)));

  register(app, routes.get, async (request) => statusOf(runtimes.target(request.params.name)));

  register(app, routes.add, async (request) => {
    requireLabAdmin(request, 'Adding a target');
    const wanted = newTarget(request.body);
    if (runtimes.repo.find(wanted.name)) {
      throw new ApiError(
        409,
        'target_exists',
        `A target called "${wanted.name}" exists already: remove it first ("mllab target rm ${wanted.name}") or pick another name.`,
      );
    }
    // asked before anything is stored: a target that does not answer is never kept
    const engine = TargetRuntimes.connect({ ...wanted, createdAt: '' });
    const info = await probeEngine(engine);
    const target = await runtimes.repo.insert({ ...wanted, kind: info.Swarm?.ControlAvailable ? 'swarm' : 'docker' });
    events.publish({ type: 'targetsChanged' });
    return statusOf(target);
  });

  register(app, routes.remove, async (request) => {
    requireLabAdmin(request, 'Removing a target');
    const target = await runtimes.repo.remove(request.params.name, () => runtimes.usersOf(request.params.name));
    runtimes.forget(target.name);
    events.publish({ type: 'targetsChanged' });
  });

  register(app, routes.projectTarget, async (request) => {
    const project = projects.resolve(request.params.id);
    return { projectId: project.id, target: runtimes.repo.projectTarget(project.id) };
  });

  register(app, routes.setProjectTarget, async (request) => {
    const project = projects.resolve(request.params.id);
    const target = await runtimes.repo.setProjectTarget(project.id, request.body.target);
    events.publish({ type: 'targetsChanged' });
    return { projectId: project.id, target: target.name };
  });
}

import type { FastifyInstance } from 'fastify';
import { memberRoutes as routes } from '../../protocol/routes/members';
import { register } from '../http/register';
import type { ProjectRepository } from '../projects/repository';
import type { MemberRepository } from './members';
import type { UserRepository } from './repository';

/**
 * The members of a project: its readers list them, its owners (and the lab's admins) add, change and
 * remove them. Who may do which is the routes' project rule (http/project-scopes.ts), checked before
 * these handlers run.
 */
export function registerMemberRoutes(
  app: FastifyInstance,
  deps: { readonly projects: ProjectRepository; readonly users: UserRepository; readonly members: MemberRepository },
): void {
  const { projects, users, members } = deps;
  register(app, routes.list, async (request) => members.list(projects.resolve(request.params.id).id));
  register(app, routes.set, async (request) => {
    const project = projects.resolve(request.params.id);
    return members.set(project, users.get(request.params.user), request.body.role);
  });
  register(app, routes.remove, async (request) => {
    await members.remove(projects.resolve(request.params.id), request.params.user);
  });
}

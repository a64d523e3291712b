import type { FastifyInstance } from 'fastify';
import { projectRoutes as routes } from '../../protocol/routes/projects';
import { register } from '../http/register';
import type { ProjectRepository } from './repository';

export function registerProjectRoutes(app: FastifyInstance, projects: ProjectRepository): void {
  register(app, routes.list, async () => projects.list());

  register(app, routes.create, async (request) => {
    const { project } = await projects.create(request.body.name, request.body.description);
    return project;
  });

  register(app, routes.get, async (request) => projects.resolve(request.params.id));

  register(app, routes.contents, async (request) => projects.contents(projects.resolve(request.params.id).id));

  register(app, routes.update, async (request) =>
    projects.update(projects.resolve(request.params.id).id, request.body),
  );

  register(app, routes.delete, async (request) => {
    await projects.delete(projects.resolve(request.params.id).id);
  });

  register(app, routes.active, async () => ({ projectId: projects.activeId() }));

  register(app, routes.setActive, async (request) => {
    const projectId = request.body.projectId === null ? null : projects.resolve(request.body.projectId).id;
    await projects.setActive(projectId);
    return { projectId };
  });
}

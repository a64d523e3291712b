import type { FastifyInstance } from 'fastify';
import { projectRoutes as routes } from '../../protocol/routes/projects';
import type { EventBus } from '../events';
import { register } from '../http/register';
import type { ProjectRepository } from './repository';

export function registerProjectRoutes(app: FastifyInstance, projects: ProjectRepository, events: EventBus): void {
  register(app, routes.list, async () => projects.list());

  register(app, routes.create, async (request) => {
    const { project, becameActive } = await projects.create(request.body.name, request.body.description);
    events.publish({ type: 'projectCreated', project });
    if (becameActive) {
      events.publish({ type: 'activeProjectChanged', projectId: project.id });
    }
    return project;
  });

  register(app, routes.get, async (request) => projects.resolve(request.params.id));

  register(app, routes.contents, async (request) => projects.contents(projects.resolve(request.params.id).id));

  register(app, routes.update, async (request) => {
    const project = await projects.update(projects.resolve(request.params.id).id, request.body);
    events.publish({ type: 'projectUpdated', project });
    return project;
  });

  register(app, routes.delete, async (request) => {
    const id = projects.resolve(request.params.id).id;
    const wasActive = await projects.delete(id);
    events.publish({ type: 'projectDeleted', projectId: id });
    if (wasActive) {
      events.publish({ type: 'activeProjectChanged', projectId: null });
    }
  });

  register(app, routes.active, async () => ({ projectId: projects.activeId() }));

  register(app, routes.setActive, async (request) => {
    const projectId = request.body.projectId === null ? null : projects.resolve(request.body.projectId).id;
    await projects.setActive(projectId);
    events.publish({ type: 'activeProjectChanged', projectId });
    return { projectId };
  });
}

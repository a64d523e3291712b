import type { FastifyInstance } from 'fastify';
import type {
  ActiveProject,
  CreateProjectRequest,
  Project,
  ProjectContents,
  UpdateProjectRequest,
} from '../../protocol/api';
import type { EventBus } from '../events';
import type { ProjectRepository } from './repository';
import { lookupText, text } from '../http/schemas';
import { NAME_MAX_LENGTH } from '../../protocol/names';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: lookupText },
} as const;

const nameSchema = text(NAME_MAX_LENGTH);
const descriptionSchema = text(10000);

export function registerProjectRoutes(app: FastifyInstance, projects: ProjectRepository, events: EventBus): void {
  app.get('/api/projects', async (): Promise<Project[]> => projects.list());

  app.post<{ Body: CreateProjectRequest }>(
    '/api/projects',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: nameSchema, description: descriptionSchema },
        },
      },
    },
    async (request, reply): Promise<Project> => {
      const { project, becameActive } = await projects.create(request.body.name, request.body.description);
      events.publish({ type: 'projectCreated', project });
      if (becameActive) {
        events.publish({ type: 'activeProjectChanged', projectId: project.id });
      }
      void reply.code(201);
      return project;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/projects/:id',
    { schema: { params: idParams } },
    async (request): Promise<Project> => projects.resolve(request.params.id),
  );

  app.get<{ Params: { id: string } }>(
    '/api/projects/:id/contents',
    { schema: { params: idParams } },
    async (request): Promise<ProjectContents> => projects.contents(projects.resolve(request.params.id).id),
  );

  app.patch<{ Params: { id: string }; Body: UpdateProjectRequest }>(
    '/api/projects/:id',
    {
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { name: nameSchema, description: descriptionSchema },
        },
      },
    },
    async (request): Promise<Project> => {
      const project = await projects.update(projects.resolve(request.params.id).id, request.body);
      events.publish({ type: 'projectUpdated', project });
      return project;
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/projects/:id',
    { schema: { params: idParams } },
    async (request, reply): Promise<void> => {
      const id = projects.resolve(request.params.id).id;
      const wasActive = await projects.delete(id);
      events.publish({ type: 'projectDeleted', projectId: id });
      if (wasActive) {
        events.publish({ type: 'activeProjectChanged', projectId: null });
      }
      void reply.code(204);
    },
  );

  app.get('/api/active-project', async (): Promise<ActiveProject> => ({ projectId: projects.activeId() }));

  app.put<{ Body: ActiveProject }>(
    '/api/active-project',
    {
      schema: {
        body: {
          type: 'object',
          required: ['projectId'],
          additionalProperties: false,
          properties: { projectId: { anyOf: [lookupText, { type: 'null' }] } },
        },
      },
    },
    async (request): Promise<ActiveProject> => {
      const projectId = request.body.projectId === null ? null : projects.resolve(request.body.projectId).id;
      await projects.setActive(projectId);
      events.publish({ type: 'activeProjectChanged', projectId });
      return { projectId };
    },
  );
}

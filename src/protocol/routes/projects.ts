import type { ActiveProject, CreateProjectRequest, Project, ProjectContents, UpdateProjectRequest } from '../api';
import { NAME_MAX_LENGTH } from '../names';
import { route } from './route';
import { lookupText, text } from './schema';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: lookupText },
} as const;

const nameSchema = text(NAME_MAX_LENGTH);
const descriptionSchema = text(10000);

/** Projects and the lab home's active project; `:id` takes an id or a name. */
export const projectRoutes = {
  list: route<Project[]>()({ method: 'GET', path: '/api/projects' }),
  create: route<Project, CreateProjectRequest>()({
    method: 'POST',
    path: '/api/projects',
    status: 201,
    body: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: { name: nameSchema, description: descriptionSchema },
    },
  }),
  get: route<Project>()({ method: 'GET', path: '/api/projects/:id', params: idParams }),
  contents: route<ProjectContents>()({ method: 'GET', path: '/api/projects/:id/contents', params: idParams }),
  update: route<Project, UpdateProjectRequest>()({
    method: 'PATCH',
    path: '/api/projects/:id',
    params: idParams,
    body: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: { name: nameSchema, description: descriptionSchema },
    },
  }),
  delete: route<void>()({ method: 'DELETE', path: '/api/projects/:id', status: 204, params: idParams }),
  active: route<ActiveProject>()({ method: 'GET', path: '/api/active-project' }),
  setActive: route<ActiveProject, ActiveProject>()({
    method: 'PUT',
    path: '/api/active-project',
    body: {
      type: 'object',
      required: ['projectId'],
      additionalProperties: false,
      properties: { projectId: { anyOf: [lookupText, { type: 'null' }] } },
    },
  }),
} as const;

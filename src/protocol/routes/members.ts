import type { ProjectMember, SetMemberRequest } from '../users';
import { PROJECT_ROLES, USER_NAME_MAX_LENGTH, USER_NAME_PATTERN } from '../users';
import { route } from './route';
import { lookupText } from './schema';

const memberParams = {
  type: 'object',
  required: ['id', 'user'],
  properties: {
    id: lookupText,
    user: { type: 'string', minLength: 1, maxLength: USER_NAME_MAX_LENGTH, pattern: USER_NAME_PATTERN },
  },
} as const;

/**
 * The members of a project and their roles (`:id` takes a project id or name): its readers list
 * them, its owners (and the lab's admins) add, change and remove them.
 */
export const memberRoutes = {
  list: route<ProjectMember[]>()({
    method: 'GET',
    path: '/api/projects/:id/members',
    params: { type: 'object', required: ['id'], properties: { id: lookupText } },
  }),
  /** adds the user to the project, or changes their role */
  set: route<ProjectMember, SetMemberRequest>()({
    method: 'PUT',
    path: '/api/projects/:id/members/:user',
    params: memberParams,
    body: {
      type: 'object',
      required: ['role'],
      additionalProperties: false,
      properties: { role: { type: 'string', enum: PROJECT_ROLES } },
    },
  }),
  remove: route<void>()({
    method: 'DELETE',
    path: '/api/projects/:id/members/:user',
    status: 204,
    params: memberParams,
  }),
} as const;

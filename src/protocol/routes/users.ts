import type {
  AddUserRequest,
  CreatedToken,
  CreateTokenRequest,
  Role,
  SetUserRoleRequest,
  TokenInfo,
  User,
} from '../users';
import { ROLES, TOKEN_LABEL_MAX_LENGTH, TOKEN_MAX_SECONDS, USER_NAME_MAX_LENGTH, USER_NAME_PATTERN } from '../users';
import { route } from './route';
import { text } from './schema';

const userName = { type: 'string', minLength: 1, maxLength: USER_NAME_MAX_LENGTH, pattern: USER_NAME_PATTERN } as const;

/** Who the token of a request speaks for: a user, or "owner" (the lab home's own token, an admin). */
export interface WhoAmI {
  readonly name: string;
  readonly role: Role;
}

/** The users of a lab and their tokens: every route but `whoami` needs the admin role. */
export const userRoutes = {
  /** any role: who am I? (`mllab login` and `mllab status` show it) */
  whoami: route<WhoAmI>()({ method: 'GET', path: '/api/whoami' }),
  list: route<User[]>()({ method: 'GET', path: '/api/users' }),
  add: route<User, AddUserRequest>()({
    method: 'POST',
    path: '/api/users',
    status: 201,
    body: {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: { name: userName, role: { type: 'string', enum: ROLES } },
    },
  }),
  /** changes a user's lab role; the lab keeps at least one admin user when it has any */
  setRole: route<User, SetUserRoleRequest>()({
    method: 'PUT',
    path: '/api/users/:name/role',
    params: { type: 'object', required: ['name'], properties: { name: userName } },
    body: {
      type: 'object',
      required: ['role'],
      additionalProperties: false,
      properties: { role: { type: 'string', enum: ROLES } },
    },
  }),
  remove: route<void>()({
    method: 'DELETE',
    path: '/api/users/:name',
    status: 204,
    params: { type: 'object', required: ['name'], properties: { name: userName } },
  }),
  tokens: route<TokenInfo[]>()({ method: 'GET', path: '/api/tokens' }),
  createToken: route<CreatedToken, CreateTokenRequest>()({
    method: 'POST',
    path: '/api/tokens',
    status: 201,
    body: {
      type: 'object',
      required: ['user'],
      additionalProperties: false,
      properties: {
        user: userName,
        label: text(TOKEN_LABEL_MAX_LENGTH),
        expiresInSeconds: { type: 'integer', minimum: 1, maximum: TOKEN_MAX_SECONDS },
        scope: { type: 'string', enum: ['viewer', 'member', 'admin'] },
      },
    },
  }),
  revokeToken: route<TokenInfo>()({
    method: 'POST',
    path: '/api/tokens/:id/revoke',
    params: {
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'string', maxLength: 16, pattern: '^[0-9a-f]{16}$' } },
    },
  }),
} as const;

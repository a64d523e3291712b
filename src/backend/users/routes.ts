import type { FastifyInstance } from 'fastify';
import { userRoutes as routes } from '../../protocol/routes/users';
import { OWNER_IDENTITY } from '../http/access';
import { register } from '../http/register';
import { identityOf } from '../http/server';
import type { UserRepository } from './repository';

/** The users of the lab and their tokens (admin only but whoami: see `neededRole` in http/access.ts). */
export function registerUserRoutes(app: FastifyInstance, users: UserRepository): void {
  register(app, routes.whoami, async (request) => {
    const { name, role } = identityOf(request) ?? OWNER_IDENTITY;
    return { name, role };
  });
  register(app, routes.list, async () => users.list());
  register(app, routes.add, async (request) => users.add(request.body.name, request.body.role));
  register(app, routes.setRole, async (request) => users.setRole(request.params.name, request.body.role));
  register(app, routes.remove, async (request) => {
    await users.remove(request.params.name);
  });
  register(app, routes.tokens, async () => users.listTokens());
  register(app, routes.createToken, async (request) => users.createToken(request.body));
  register(app, routes.revokeToken, async (request) => users.revokeToken(request.params.id));
}

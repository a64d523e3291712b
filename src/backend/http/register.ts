import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AnswerOf, BodyOf, HandlerAnswer, ParamsOf, QueryOf, Route } from '../../protocol/routes/route';
import { projectScopeOf } from './project-scopes';
import { checkProjectRule, projectAnswer } from './server';

/** The request a handler of `R` gets: params, query and body typed as the route table says. */
export type RouteRequest<R extends Route> = FastifyRequest<{
  Params: ParamsOf<R>;
  Querystring: QueryOf<R>;
  Body: BodyOf<R>;
}>;

/**
 * The handler of `R`: it returns the route's answer, or, for a `Streamed` route, writes the reply
 * itself (or returns its text, having set its content type).
 */
export type RouteHandler<R extends Route> = (
  request: RouteRequest<R>,
  reply: FastifyReply,
) => Promise<HandlerAnswer<AnswerOf<R>>>;

/**
 * Registers the handler of a route table entry: its method, path and schemas come from the entry
 * (so fastify validates with them and the error handler of `createHttpServer` answers a mistake in
 * words), and a success is answered with the entry's status and the handler's answer.
 *
 * The entry's project rule (http/project-scopes.ts) is enforced here, for every route alike: once the
 * request is validated and before the handler runs, the role the request needs in its project is
 * checked; an answer about projects in general is cut to what the user may read.
 */
export function register<R extends Route>(app: FastifyInstance, route: R, handler: RouteHandler<R>): void {
  const scope = projectScopeOf(route);
  app.route<{ Params: ParamsOf<R>; Querystring: QueryOf<R>; Body: BodyOf<R> }>({
    method: route.method,
    url: route.path,
    schema: route.schema,
    ...(scope?.about === 'project'
      ? {
          preHandler: async (request: FastifyRequest) => {
            checkProjectRule(request, scope);
          },
        }
      : {}),
    handler: async (request, reply) => {
      let answer = await handler(request, reply);
      if (scope?.about === 'answer') {
        answer = (await projectAnswer(request, scope.answer, answer)) as typeof answer;
      }
      if (route.status !== 200) {
        void reply.code(route.status);
      }
      return answer;
    },
  });
}

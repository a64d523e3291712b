import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AnswerOf, BodyOf, HandlerAnswer, ParamsOf, QueryOf, Route } from '../../protocol/routes/route';

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
 */
export function register<R extends Route>(app: FastifyInstance, route: R, handler: RouteHandler<R>): void {
  app.route<{ Params: ParamsOf<R>; Querystring: QueryOf<R>; Body: BodyOf<R> }>({
    method: route.method,
    url: route.path,
    schema: route.schema,
    handler: async (request, reply) => {
      const answer = await handler(request, reply);
      if (route.status !== 200) {
        void reply.code(route.status);
      }
      return answer;
    },
  });
}

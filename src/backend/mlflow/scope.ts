import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MLFLOW_LIMITS } from '../../protocol/mlflow';
import type { Logger } from '../log';
import { describeMlflowError, mlflowBody } from './errors';
import type { Input } from './values';

/** A handler of an MLflow endpoint: the request's fields (body, or query of a GET) in, the answer out. */
export type MlflowHandler = (input: Input, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * Answers errors of an MLflow scope in MLflow's format (`error_code`, `message`), and logs those
 * that are the lab's fault.
 */
export function mlflowErrors(scope: FastifyInstance, log: Logger): void {
  scope.setErrorHandler((thrown, request, reply) => {
    const error = thrown instanceof Error ? thrown : new Error(String(thrown));
    const { status, body } = describeMlflowError(error);
    if (status >= 500 && status !== 501) {
      log.error(`mlflow: ${request.method} ${request.url.slice(0, 300)}: ${error.stack ?? error.message}`);
    }
    void reply.code(status).send(body);
  });
}

/**
 * Registers an endpoint: fields from the JSON body (POST, PATCH, DELETE) or the query (GET), a body
 * up to MLflow's 1 MB request limit. The schemas only say "an object": MLflow's clients send numbers
 * as numbers or as text, and each handler checks its fields in MLflow's words.
 */
export function endpoint(
  scope: FastifyInstance,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  handler: MlflowHandler,
): void {
  const hasBody = method !== 'GET';
  scope.route({
    method,
    url,
    bodyLimit: MLFLOW_LIMITS.batchBytes,
    schema: hasBody ? { body: { type: 'object' } } : { querystring: { type: 'object' } },
    handler: async (request, reply) => {
      const input = ((hasBody ? request.body : request.query) ?? {}) as Input;
      return (await handler(input, request, reply)) ?? {};
    },
  });
}

/** Anything else under an MLflow prefix: an endpoint of MLflow's that the lab does not serve (501, named). */
export function notImplemented(scope: FastifyInstance): void {
  scope.setNotFoundHandler((request, reply) => {
    const where = `${request.method} ${request.url.split('?')[0].slice(0, 200)}`;
    void reply
      .code(501)
      .send(
        mlflowBody(
          'NOT_IMPLEMENTED',
          `ML Lab does not implement the MLflow endpoint ${where}: docs/MLFLOW.md lists the endpoints it serves.`,
        ),
      );
  });
}

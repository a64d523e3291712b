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
 * Reads JSON bodies with `JSON.parse` of the bytes received: fastify's default parser (which also
 * scans the text for `__proto__` keys) took about 7 ms of a 70 KB log-batch of 1,000 points, more
 * than all the rest of the request. The handlers read fields by name and never merge a body into
 * another object, so a `__proto__` key stays an ordinary own property of the parsed body. An empty
 * body is `{}` (MLflow's clients send none for some calls). `scan` reads a body of a known shape
 * without JSON.parse (log-batch): undefined sends the body to JSON.parse.
 */
export function plainJsonBodies(scope: FastifyInstance, scan?: (bytes: Buffer) => object | undefined): void {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    const bytes = body as Buffer;
    try {
      done(null, bytes.length === 0 ? {} : (scan?.(bytes) ?? JSON.parse(bytes.toString('utf8'))));
    } catch (e) {
      const error = new Error((e as Error).message) as Error & { code: string; statusCode: number };
      error.code = 'FST_ERR_CTP_INVALID_JSON_BODY';
      error.statusCode = 400;
      done(error, undefined);
    }
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

import type { FastifyInstance } from 'fastify';
import { blobRoutes as routes } from '../../protocol/routes/blobs';
import { ApiError } from '../errors';
import { declaredLength, streamedScope, type RawBody } from '../experiments/upload/body';
import type { BlobStore } from '../files/blob-store';
import { register } from '../http/register';
import type { BlobUploads } from './uploads';

/**
 * The blob routes (`src/protocol/routes/blobs.ts`): asking whether the lab holds content, and
 * sending it, resumable. The PUT lives in a scope that takes bodies as streams.
 */
export function registerBlobRoutes(app: FastifyInstance, deps: { blobs: BlobStore; uploads: BlobUploads }): void {
  const { uploads } = deps;

  register(app, routes.check, async (request) => {
    const state = uploads.state(request.params.sha256);
    if (!state.stored) {
      throw new ApiError(
        404,
        'not_stored',
        `The lab does not hold content with sha256 ${request.params.sha256}: send it with PUT /api/blobs/${request.params.sha256}.`,
      );
    }
    return { sha256: state.sha256, size: state.received };
  });

  register(app, routes.uploadState, async (request) => uploads.state(request.params.sha256));

  streamedScope(app, (scope) => {
    register(scope, routes.put, async (request, reply) => {
      const offset = Number(request.query.offset);
      const size = Number(request.query.size);
      const answer = await uploads.put(request.params.sha256, {
        offset,
        size,
        body: request.body as unknown as RawBody,
        length: declaredLength(request.headers['content-length']),
      });
      if (answer.conflict) {
        // the state comes with the error, so that the sender goes on from the bytes held
        return reply.code(409).send({
          error: { code: answer.conflict.code, message: answer.conflict.message },
          ...answer.state,
        }) as never;
      }
      return answer.state;
    });
  });
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { blobRoutes as routes } from '../../protocol/routes/blobs';
import { OWNER } from '../../protocol/users';
import { ApiError } from '../errors';
import { declaredLength, streamedScope, type RawBody } from '../experiments/upload/body';
import type { BlobStore } from '../files/blob-store';
import { checkNamedProject, identityOf } from '../http/server';
import { register } from '../http/register';
import type { BlobUploads } from './uploads';

export interface BlobRouteDeps {
  readonly blobs: BlobStore;
  readonly uploads: BlobUploads;
  /** the projects whose records hold a blob */
  readonly projectsHolding: (sha256: string) => readonly string[];
}

/** The user who sent a request (the lab's owner on a lab without users). */
export function senderOf(request: FastifyRequest): string {
  return identityOf(request)?.name ?? OWNER;
}

/**
 * Whether the sender of `request` may learn that the lab holds `sha256`: an admin, the one who sent
 * it, and a reader of a project whose records hold it. Anyone else is answered as if the lab did not
 * hold it ("already held?" must not tell whether another project has some content).
 */
export function mayKnowBlob(request: FastifyRequest, deps: BlobRouteDeps, sha256: string): boolean {
  const identity = identityOf(request);
  if (!identity || identity.role === 'admin' || deps.uploads.grants.has(identity.name, sha256)) {
    return true;
  }
  return deps.projectsHolding(sha256).some((project) => {
    try {
      checkNamedProject(request, project, 'read');
      return true;
    } catch {
      return false;
    }
  });
}

/** A 409 that carries the upload's state, so that the sender goes on from the bytes held. */
function conflict(reply: FastifyReply, error: ApiError, state: object): never {
  return reply.code(409).send({ error: { code: error.code, message: error.message }, ...state }) as never;
}

function notStored(sha256: string): ApiError {
  return new ApiError(
    404,
    'not_stored',
    `The lab does not hold content with sha256 ${sha256}: send it with PUT /api/blobs/${sha256}.`,
  );
}

/**
 * The blob routes (`src/protocol/routes/blobs.ts`): asking whether the lab holds content, and
 * sending it, resumable, named by its sha256 or by an upload id. The PUTs live in a scope that takes
 * bodies as streams.
 */
export function registerBlobRoutes(app: FastifyInstance, deps: BlobRouteDeps): void {
  const { uploads } = deps;

  register(app, routes.check, async (request) => {
    const { sha256 } = request.params;
    const state = uploads.state(sha256, senderOf(request), mayKnowBlob(request, deps, sha256));
    if (!state.stored) {
      throw notStored(sha256);
    }
    return { sha256: state.sha256, size: state.received };
  });

  register(app, routes.uploadState, async (request) => {
    const { sha256 } = request.params;
    return uploads.state(sha256, senderOf(request), mayKnowBlob(request, deps, sha256));
  });

  register(app, routes.idUploadState, async (request) => uploads.idState(request.params.id, senderOf(request)));

  register(app, routes.finishUpload, async (request) =>
    uploads.finish(request.params.id, request.body, senderOf(request)),
  );

  streamedScope(app, (scope) => {
    const putOf = (request: FastifyRequest<{ Querystring: { offset: string; size: string } }>) => ({
      offset: Number(request.query.offset),
      size: Number(request.query.size),
      body: request.body as unknown as RawBody,
      length: declaredLength(request.headers['content-length']),
      sender: senderOf(request),
    });

    register(scope, routes.put, async (request, reply) => {
      const { sha256 } = request.params;
      const answer = await uploads.put(sha256, putOf(request), mayKnowBlob(request, deps, sha256));
      return answer.conflict ? conflict(reply, answer.conflict, answer.state) : answer.state;
    });

    register(scope, routes.putUpload, async (request, reply) => {
      const answer = await uploads.putById(request.params.id, putOf(request));
      return answer.conflict ? conflict(reply, answer.conflict, answer.state) : answer.state;
    });
  });
}

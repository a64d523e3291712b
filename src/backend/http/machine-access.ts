import * as path from 'path';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors';
import { identityOf } from './server';

/**
 * Requests that reach into the lab's machine itself: its files (a dataset or a model added by a path
 * on that machine, a folder of it mounted into a container) or its network (a port published on all
 * of its interfaces). On a local lab its owner makes them; on a lab served to a team only an admin
 * may (they could read the lab's own database, other projects' data, any file the lab can), and a
 * member sends files instead. `what` says what the request does (undefined: nothing of the kind).
 */
export function requireMachineAccess(request: FastifyRequest, what: string | undefined, instead: string): void {
  const identity = identityOf(request);
  if (what === undefined || identity === undefined || identity.role === 'admin') {
    return;
  }
  throw new ApiError(
    403,
    'machine_access',
    `${what} reaches into the lab's machine, which only an admin of the lab may do (you are a ${identity.role}): ${instead}.`,
  );
}

/** A model registered from a path: inside its experiment's run directory, or anywhere on the machine. */
export function modelPathOnMachine(body: { readonly path: string; readonly experimentId?: string }): boolean {
  return !body.experimentId || path.isAbsolute(body.path);
}

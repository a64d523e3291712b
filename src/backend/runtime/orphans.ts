import type { FastifyInstance } from 'fastify';
import type { OrphanContainer } from '../../protocol/containers';
import { runtimeRoutes as routes } from '../../protocol/routes/runtime';
import { register } from '../http/register';
import type { RuntimeConnection } from './connection';
import { LABELS } from './runtime';

/** Whether the store knows the job run or service that a container's labels name. */
export type KnownContainer = (kind: string, id: string) => boolean;

async function orphans(home: string, connection: RuntimeConnection, known: KnownContainer): Promise<OrphanContainer[]> {
  connection.requireAvailable();
  const containers = await connection.runtime.list({ [LABELS.home]: home });
  return containers
    .filter((c) => !known(c.labels[LABELS.kind] ?? '', c.labels[LABELS.id] ?? ''))
    .map((c) => ({ id: c.id, name: c.name, image: c.image, kind: c.labels[LABELS.kind] ?? '', state: c.state }));
}

/**
 * Containers left behind (a project deleted with its services running, a store restored from a
 * backup): listed so the UI can offer to clean them up, and removed on request.
 */
export function registerOrphanRoutes(
  app: FastifyInstance,
  home: string,
  connection: RuntimeConnection,
  known: KnownContainer,
): void {
  register(app, routes.orphans, async () => orphans(home, connection, known));
  register(app, routes.removeOrphans, async () => {
    const found = await orphans(home, connection, known);
    for (const c of found) {
      await connection.runtime.remove(c.id);
    }
    return { removed: found.length };
  });
}

import type { FastifyInstance } from 'fastify';
import type { BackendStatus } from '../../protocol/api';
import { statusRoutes as routes } from '../../protocol/routes/status';
import { register } from './register';

/** What the backend is and serves now, and stopping it (answered with 202 before it stops). */
export function registerStatusRoutes(
  app: FastifyInstance,
  status: () => BackendStatus,
  shutdown: (reason: string) => void,
): void {
  register(app, routes.status, async () => status());
  register(app, routes.shutdown, async () => {
    // the answer is sent first: it goes out before the next turn of the event loop
    setImmediate(() => shutdown('requested over the API'));
    return { stopping: true };
  });
}

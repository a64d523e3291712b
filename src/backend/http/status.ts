import type { FastifyInstance } from 'fastify';
import type { BackendStatus } from '../../protocol/api';

export function registerStatusRoutes(
  app: FastifyInstance,
  status: () => BackendStatus,
  shutdown: (reason: string) => void,
): void {
  app.get('/api/status', async (): Promise<BackendStatus> => status());
  app.post('/api/shutdown', async (_request, reply) => {
    void reply.code(202).send({ stopping: true });
    setImmediate(() => shutdown('requested over the API'));
  });
}

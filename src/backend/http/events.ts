import type { FastifyInstance } from 'fastify';
import type { BackendEvent, BackendStatus } from '../../protocol/api';
import type { EventBus } from '../events';

const HEARTBEAT_MS = 15_000;

/**
 * GET /api/events: server-sent events. Each event is `event: <type>` + `data: <json>`; a comment line
 * every 15 s keeps proxies (code-server) from closing an idle stream. The first event is `hello`.
 */
export function registerEventRoutes(
  app: FastifyInstance,
  bus: EventBus,
  status: () => BackendStatus,
  onSubscribersChanged: () => void,
): void {
  app.get('/api/events', (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (event: BackendEvent) => {
      res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      if (event.type === 'shuttingDown') {
        res.end();
      }
    };
    const unsubscribe = bus.subscribe(send);
    send({ type: 'hello', status: status() });
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    onSubscribersChanged();
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      onSubscribersChanged();
    });
  });
}

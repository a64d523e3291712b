import type { FastifyReply } from 'fastify';

/**
 * A signal that aborts when the client closes its request before the answer is complete (it gave
 * up, or its window was closed): handed to the runtime, it stops a pull, a build or a log stream
 * that nobody waits for any more.
 */
export function requestClosedSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) {
      controller.abort();
    }
  });
  return controller.signal;
}

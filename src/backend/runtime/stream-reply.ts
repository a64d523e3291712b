import type { FastifyReply } from 'fastify';
import type { Readable } from 'stream';
import { pipeline } from 'stream/promises';

/**
 * Answers with a text stream whose headers go out at once. Through fastify's own send they would
 * wait for the first chunk, so a client following a job that prints nothing yet would not even
 * know that its request was accepted.
 */
export function sendTextStream(reply: FastifyReply, stream: Readable): void {
  void reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  reply.raw.flushHeaders();
  // a client that goes away ends the pipeline with an error: nothing to report
  pipeline(stream, reply.raw).catch(() => stream.destroy());
}

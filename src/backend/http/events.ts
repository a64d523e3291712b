import type { FastifyInstance } from 'fastify';
import type { BackendEvent, BackendStatus, StreamResume } from '../../protocol/api';
import type { EventBus, PublishedEvent } from '../events';
import { eventFilterOf, stillAuthorized } from './server';

const HEARTBEAT_MS = 15_000;
/** how often an open stream asks whether its token still lets it in (revoked, expired, user removed) */
const AUTHORIZED_CHECK_MS = 1_000;
/** a Last-Event-ID longer than this is none of ours: the client gets a reset */
const MAX_EVENT_ID_LENGTH = 64;
/**
 * A client this far behind (bytes written but not yet taken by the network) is disconnected rather
 * than buffered without end; it reconnects with its Last-Event-ID and resumes from the ring.
 */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

/**
 * GET /api/events: server-sent events. Each event is `id: <id>` + `event: <type>` + `data: <json>`;
 * a comment line every 15 s keeps proxies (code-server) from closing an idle stream. The first event
 * is `hello`. A client that reconnects with `Last-Event-ID` gets the events it missed after its
 * `hello` (`resume: 'replayed'`), or, when they are no longer kept, a `hello` with `resume: 'reset'`.
 * A user of a lab served to a team gets only the events of the projects they can read (and those of
 * no project), live and replayed alike; the ids of the events left out are skipped, not reused.
 * A stream whose token stops letting it in (revoked, expired, its user removed) is ended within a
 * second; the client's reconnection is then refused with the reason.
 */
export function registerEventRoutes(
  app: FastifyInstance,
  bus: EventBus,
  status: () => BackendStatus,
  onSubscribersChanged: () => void,
): void {
  app.get('/api/events', (request, reply) => {
    const header = request.headers['last-event-id'];
    const lastEventId = typeof header === 'string' ? header.trim() : undefined;
    const visible = eventFilterOf(request);
    const authorized = stillAuthorized(request);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const write = (text: string) => {
      if (res.destroyed || res.writableEnded) {
        return;
      }
      res.write(text);
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        res.destroy();
      }
    };
    const send = (published: PublishedEvent) => {
      if (visible && !visible(published.event)) {
        return;
      }
      write(`id: ${published.id}\nevent: ${published.event.type}\ndata: ${published.json}\n\n`);
      if (published.event.type === 'shuttingDown') {
        res.end();
      }
    };
    const hello = (id: string | undefined, resume?: StreamResume) => {
      let current = status();
      const active = current.activeProjectId;
      if (visible && active !== null && !visible({ type: 'activeProjectChanged', projectId: active })) {
        current = { ...current, activeProjectId: null };
      }
      const event: BackendEvent = { type: 'hello', status: current, ...(resume ? { resume } : {}) };
      write(`${id === undefined ? '' : `id: ${id}\n`}event: hello\ndata: ${JSON.stringify(event)}\n\n`);
    };
    // the replay and the subscription happen in one turn of the event loop: nothing is published between
    if (lastEventId === undefined || lastEventId === '') {
      hello(bus.lastId);
    } else {
      const resumption =
        lastEventId.length > MAX_EVENT_ID_LENGTH ? ({ kind: 'reset' } as const) : bus.resume(lastEventId);
      if (resumption.kind === 'reset') {
        hello(bus.lastId, 'reset');
      } else {
        // no id: the client's last id stays the one it sent until a replayed event moves it
        hello(undefined, 'replayed');
        resumption.events.forEach(send);
      }
    }
    const unsubscribe = bus.subscribe((_event, published) => send(published));
    const heartbeat = setInterval(() => write(': ping\n\n'), HEARTBEAT_MS);
    const check = setInterval(() => {
      if (!authorized()) {
        res.end();
      }
    }, AUTHORIZED_CHECK_MS);
    onSubscribersChanged();
    let open = true;
    // the client went, or the lab ended the stream (shutting down, a token that no longer lets it in)
    const closed = () => {
      if (open) {
        open = false;
        clearInterval(heartbeat);
        clearInterval(check);
        unsubscribe();
        onSubscribersChanged();
      }
    };
    request.raw.on('close', closed);
    res.on('close', closed);
  });
}

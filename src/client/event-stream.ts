import type * as http from 'http';
import type { BackendEvent } from '../protocol/api';
import type { ApiClient } from './api-client';

export interface EventStreamOptions {
  /** resume after this event id (sent as `Last-Event-ID`): the stream's `hello` says whether it could */
  readonly lastEventId?: string;
  /**
   * Reconnect by itself after a dropped connection, resuming after the last event received, waiting
   * these delays (ms) between attempts (the last one repeats). `onClose` then fires only once the
   * attempts are used up or the lab refuses the stream (401, 403).
   */
  readonly reconnect?: { readonly delaysMs?: readonly number[]; readonly attempts?: number };
  /** called when the connection drops and a reconnect is planned (with `reconnect`) */
  readonly onReconnecting?: (reason: string) => void;
}

const DEFAULT_DELAYS_MS: readonly number[] = [100, 500, 1000, 2000, 5000];
/** a stream whose next event grows past this without a blank line is not an ML Lab's */
const MAX_EVENT_CHARS = 64 * 1024 * 1024;

/**
 * Follows GET /api/events and calls `onEvent` for each event, in order. `onClose` fires once when the
 * stream ends for good (backend stopped, network error; with `reconnect`, once reconnecting gave up);
 * without `reconnect`, reconnecting is the owner's decision: `lastEventId` is where a new stream resumes.
 */
export class EventStream {
  private request: http.ClientRequest | undefined;
  private closed = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private last: string | undefined;

  constructor(
    private readonly client: ApiClient,
    private readonly onEvent: (event: BackendEvent) => void,
    private readonly onClose: (reason: string) => void,
    private readonly options: EventStreamOptions = {},
  ) {
    this.last = options.lastEventId;
    this.open();
  }

  /** the id of the last event received (or the one it resumed after): what a new stream sends as Last-Event-ID */
  get lastEventId(): string | undefined {
    return this.last;
  }

  private open(): void {
    let ended = false;
    // each connection reports its end once, and only while it is the current one
    const end = (reason: string, refused = false) => {
      if (!ended) {
        ended = true;
        this.dropped(reason, refused);
      }
    };
    const request = this.client.openEvents(this.last, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        const refused = res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404;
        end(`event stream refused with HTTP ${res.statusCode}`, refused);
        return;
      }
      this.failures = 0;
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        if (ended) {
          return;
        }
        buffer += chunk;
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          if (!this.dispatch(block)) {
            request.destroy();
            end('the event stream sent an event that is not JSON: is this an ML Lab?', true);
            return;
          }
          if (ended || this.closed) {
            return;
          }
        }
        if (buffer.length > MAX_EVENT_CHARS) {
          request.destroy();
          end('the event stream sent an event larger than 64 MiB', true);
        }
      });
      res.on('end', () => end('the backend closed the event stream'));
      res.on('error', (e) => end(e.message));
      res.on('close', () => end('the event stream was closed'));
    });
    request.on('error', (e) => end(e.message));
    this.request = request;
  }

  /** One event block: its `id:` becomes the last event id only once the event is handed over. */
  private dispatch(block: string): boolean {
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon <= 0) {
        continue; // a comment (": ping") or a line without a field
      }
      const field = line.slice(0, colon);
      const value = line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
      if (field === 'data') {
        data.push(value);
      } else if (field === 'id') {
        id = value;
      }
    }
    if (data.length > 0) {
      let event: BackendEvent;
      try {
        event = JSON.parse(data.join('\n')) as BackendEvent;
      } catch {
        return false;
      }
      this.onEvent(event);
    }
    if (id !== undefined) {
      this.last = id;
    }
    return true;
  }

  private dropped(reason: string, refused: boolean): void {
    this.request?.destroy();
    if (this.closed) {
      return;
    }
    const reconnect = this.options.reconnect;
    if (!reconnect || refused || this.failures >= (reconnect.attempts ?? Infinity)) {
      this.closed = true;
      this.onClose(reason);
      return;
    }
    const delays = reconnect.delaysMs ?? DEFAULT_DELAYS_MS;
    const delay = delays[Math.min(this.failures, delays.length - 1)] ?? 0;
    this.failures++;
    this.options.onReconnecting?.(reason);
    this.timer = setTimeout(() => {
      if (!this.closed) {
        this.open();
      }
    }, delay);
  }

  dispose(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.request?.destroy();
  }
}

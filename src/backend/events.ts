import { randomBytes } from 'crypto';
import type { BackendEvent } from '../protocol/api';

/** An event as published: its id on the event stream and its JSON, made once for every subscriber. */
export class PublishedEvent {
  private text: string | undefined;
  /** what it counts for in the ring's bound on characters */
  readonly size: number;

  constructor(
    /** `<epoch>-<n>`: n counts up from 1 in this backend process, whose epoch is random */
    readonly id: string,
    readonly seq: number,
    readonly event: BackendEvent,
  ) {
    // metric points, the bulk of a live run, are turned into JSON only once a stream sends them (about
    // 0.5 us a point): their size is estimated from the count (about 37 characters a point)
    this.size = event.type === 'metricPoints' ? 256 + 48 * event.steps.length : this.json.length;
  }

  get json(): string {
    return (this.text ??= JSON.stringify(this.event));
  }
}

/** Where a stream that was dropped after event `lastEventId` picks up. */
export type Resumption =
  /** the events published since, oldest first (none when nothing was missed) */
  | { readonly kind: 'replay'; readonly events: readonly PublishedEvent[] }
  /** some are no longer kept (or the id is of another backend process): the client reloads everything */
  | { readonly kind: 'reset' };

export interface EventRingLimits {
  /** the most events kept for replay */
  readonly maxEvents: number;
  /** the most characters of JSON kept for replay (the newest event is kept whatever its size) */
  readonly maxChars: number;
}

export const DEFAULT_RING_LIMITS: EventRingLimits = { maxEvents: 10_000, maxChars: 16 * 1024 * 1024 };

type Listener = (event: BackendEvent, published: PublishedEvent) => void;

const ID_FORMAT = /^([0-9a-f]{8})-(\d{1,15})$/;

/**
 * In-process fan-out of backend events: to the event-stream subscribers (windows, CLIs), which
 * `size` counts (the backend stops when idle without them), and to parts of the backend itself that
 * react to events (`observe`), which it does not. The most recent events are kept in a bounded ring,
 * so a stream that was dropped resumes after the last event its client saw (`resume`).
 */
export class EventBus {
  private readonly listeners = new Set<Listener>();
  private readonly observers = new Set<Listener>();
  private readonly epoch = randomBytes(4).toString('hex');
  private seq = 0;
  /** ring of the latest events: entries from `head` on are live, the rest wait to be compacted away */
  private ring: PublishedEvent[] = [];
  private head = 0;
  private chars = 0;

  constructor(private readonly limits: EventRingLimits = DEFAULT_RING_LIMITS) {}

  publish(event: BackendEvent): void {
    const seq = ++this.seq;
    const published = new PublishedEvent(`${this.epoch}-${seq}`, seq, event);
    this.keep(published);
    for (const l of [...this.observers, ...this.listeners]) {
      l(event, published);
    }
  }

  /** A client of the event stream. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A part of the backend that follows events; it keeps no client attached. */
  observe(listener: Listener): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  /** clients of the event stream */
  get size(): number {
    return this.listeners.size;
  }

  /** the id of the newest event (`<epoch>-0` before the first): where a new stream starts */
  get lastId(): string {
    return `${this.epoch}-${this.seq}`;
  }

  /** The events after `lastEventId` (a stream's `Last-Event-ID`), or a reset when some are gone. */
  resume(lastEventId: string): Resumption {
    const match = ID_FORMAT.exec(lastEventId);
    if (!match || match[1] !== this.epoch) {
      return { kind: 'reset' };
    }
    const after = Number(match[2]);
    const oldest = this.head < this.ring.length ? this.ring[this.head].seq : this.seq + 1;
    if (after > this.seq || after < oldest - 1) {
      return { kind: 'reset' };
    }
    return { kind: 'replay', events: this.ring.slice(this.head + (after + 1 - oldest)) };
  }

  private keep(published: PublishedEvent): void {
    this.ring.push(published);
    this.chars += published.size;
    const { maxEvents, maxChars } = this.limits;
    while (this.ring.length - this.head > 1 && (this.ring.length - this.head > maxEvents || this.chars > maxChars)) {
      this.chars -= this.ring[this.head].size;
      this.head++;
    }
    // drop the evicted entries in one go once they are half the array
    if (this.head > 1024 && this.head * 2 > this.ring.length) {
      this.ring = this.ring.slice(this.head);
      this.head = 0;
    }
  }
}

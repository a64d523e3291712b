import type { BackendEvent } from '../protocol/api';

type Listener = (event: BackendEvent) => void;

/**
 * In-process fan-out of backend events: to the event-stream subscribers (windows, CLIs), which
 * `size` counts (the backend stops when idle without them), and to parts of the backend itself that
 * react to events (`observe`), which it does not.
 */
export class EventBus {
  private readonly listeners = new Set<Listener>();
  private readonly observers = new Set<Listener>();

  publish(event: BackendEvent): void {
    for (const l of [...this.observers, ...this.listeners]) {
      l(event);
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
}

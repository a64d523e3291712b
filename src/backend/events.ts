import type { BackendEvent } from '../protocol/api';

type Listener = (event: BackendEvent) => void;

/** In-process fan-out of backend events to the event-stream subscribers. */
export class EventBus {
  private readonly listeners = new Set<Listener>();

  publish(event: BackendEvent): void {
    for (const l of [...this.listeners]) {
      l(event);
    }
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get size(): number {
    return this.listeners.size;
  }
}

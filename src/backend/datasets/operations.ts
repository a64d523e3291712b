import { ApiError } from '../errors';

/** Long-running operations (dataset adds) that a client can cancel by id. */
export class Operations {
  private readonly running = new Map<string, AbortController>();

  /** Registers an operation; the returned signal aborts when it is cancelled. */
  start(id: string): { signal: AbortSignal; done: () => void } {
    if (this.running.has(id)) {
      throw new ApiError(409, 'operation_exists', `An operation with id "${id}" is already running: use a new id.`);
    }
    const controller = new AbortController();
    this.running.set(id, controller);
    return { signal: controller.signal, done: () => this.running.delete(id) };
  }

  cancel(id: string): void {
    const controller = this.running.get(id);
    if (!controller) {
      throw new ApiError(404, 'not_found', `No operation "${id}" is running: it may have finished already.`);
    }
    controller.abort();
  }

  cancelAll(): void {
    for (const c of this.running.values()) {
      c.abort();
    }
  }
}

/** A unit of work and the memory its result holds until it has been consumed. */
export interface Task<T> {
  readonly cost: number;
  run(): Promise<T>;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Runs tasks from `source` ahead of the consumer, at most `concurrency` at a time and at most
 * `budget` bytes of results held, and hands results back in source order. This is what lets
 * several zip entries (or chunks of one) be compressed on the thread pool while the finished ones
 * are written, in order, on the main thread.
 */
export class OrderedPool<T> {
  private readonly window: Array<{ cost: number; result: Promise<Settled<T>> }> = [];
  private lookahead: IteratorResult<Task<T>> | undefined;
  private running = 0;
  private held = 0;
  private consumedCost = 0;
  private stopped = false;
  private readonly all = new Set<Promise<unknown>>();

  constructor(
    private readonly source: Iterator<Task<T>>,
    private readonly concurrency: number,
    private readonly budget: number,
  ) {
    this.fill();
  }

  private peek(): Task<T> | undefined {
    this.lookahead ??= this.source.next();
    return this.lookahead.done ? undefined : this.lookahead.value;
  }

  private fill(): void {
    while (!this.stopped && this.running < this.concurrency) {
      const task = this.peek();
      // an empty window always takes the next task, so a task bigger than the budget still runs
      if (task === undefined || (this.window.length > 0 && this.held + task.cost > this.budget)) {
        return;
      }
      this.lookahead = undefined;
      this.running++;
      this.held += task.cost;
      const result = task.run().then(
        (value): Settled<T> => ({ ok: true, value }),
        (error: unknown): Settled<T> => ({ ok: false, error }),
      );
      const tracked = result.then(() => {
        this.running--;
        this.all.delete(tracked);
        this.fill();
      });
      this.all.add(tracked);
      this.window.push({ cost: task.cost, result });
    }
  }

  /** The next result in order (releasing the previous one's memory), or rejects with its task's error. */
  async next(): Promise<T> {
    this.held -= this.consumedCost;
    this.consumedCost = 0;
    this.fill();
    const head = this.window.shift();
    if (head === undefined) {
      throw new Error('internal error: no task left in the pool');
    }
    this.consumedCost = head.cost;
    const settled = await head.result;
    if (!settled.ok) {
      throw settled.error;
    }
    return settled.value;
  }

  /** Starts nothing more and waits for the running tasks, so nothing is left working after a failure. */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.all.size > 0) {
      await Promise.all([...this.all]);
    }
  }
}

import type { EventBus } from '../events';
import type { Logger } from '../log';
import type { RunRetries } from './run-retries';

/** a wave of at least this many runs is a backlog: progress events instead of one event per run */
const BACKLOG_RUNS = 100;
/** ingestProgress at most this often */
const PROGRESS_MS = 500;

export interface IngestWaveOptions {
  readonly events: EventBus;
  readonly log: Logger;
  readonly retries: RunRetries;
  /** runs waiting for a project */
  readonly pending: ReadonlySet<string>;
  /** how many runs are queued (counted in the wave or not) */
  readonly queued: () => number;
  readonly stopped: () => boolean;
}

/**
 * The runs queued since the queue was last empty (re-checks of followed runs not counted), and what
 * is said about them: ingestProgress during a backlog, one log line at its end, runsWaiting and one
 * log line for the runs that started to wait for a project.
 */
export class IngestWave {
  private wave = { active: false, total: 0, started: 0, lastProgress: 0, published: false };
  /** entries of the queue that count in the wave */
  private queuedCounted = 0;
  private waitingPublished = 0;
  /** runs that started to wait in this wave, by the project they name (null: the active one) */
  private newlyWaiting = new Map<string | null, { count: number; first: string }>();

  constructor(private readonly o: IngestWaveOptions) {}

  /** A queued run now counts in the wave (a wave starts with the first one). */
  counted(): void {
    this.queuedCounted++;
    if (!this.wave.active) {
      this.wave = { active: true, total: 0, started: Date.now(), lastProgress: 0, published: false };
    }
    this.wave.total++;
  }

  /** A counted run left the queue. */
  dequeued(): void {
    this.queuedCounted--;
  }

  /** The queue was emptied (stop). */
  cleared(): void {
    this.queuedCounted = 0;
  }

  /** A counted run was left waiting for a project: a backlog counts the runs it ingests or checks, not those. */
  leftWaiting(): void {
    if (this.wave.total > 0) {
      this.wave.total--;
    }
  }

  /** Whether a backlog is being ingested: finished runs are then not announced one by one. */
  get inBacklog(): boolean {
    return this.wave.active && this.wave.total >= BACKLOG_RUNS;
  }

  /** A run started to wait for a project (`project`: the name it gives, null: the active one). */
  noteWaiting(project: string | null, id: string): void {
    const noted = this.newlyWaiting.get(project);
    if (noted) {
      noted.count++;
    } else {
      this.newlyWaiting.set(project, { count: 1, first: id });
    }
  }

  /** Runs of the wave passed (a run to retry is not done). */
  private get done(): number {
    return Math.max(0, this.wave.total - this.queuedCounted - this.o.retries.size);
  }

  /** ingestProgress during a backlog, at most every PROGRESS_MS; waiting runs said once per slice. */
  progress(): void {
    this.sayWaiting();
    const w = this.wave;
    if (w.active && w.total >= BACKLOG_RUNS && Date.now() - w.lastProgress >= PROGRESS_MS && this.done < w.total) {
      w.lastProgress = Date.now();
      w.published = true;
      this.o.events.publish({ type: 'ingestProgress', done: this.done, total: w.total });
    }
  }

  /** The queue is empty: the last progress event, one log line for a backlog. */
  end(): void {
    this.sayWaiting(this.o.queued() === 0);
    const w = this.wave;
    const retries = this.o.retries;
    if (this.o.stopped() || !w.active || this.o.queued() > 0 || retries.size > 0) {
      return; // a wave with runs to retry ends after them
    }
    if (w.total >= BACKLOG_RUNS) {
      this.o.log.info(
        `experiments: ${w.total.toLocaleString('en-US')} run directories checked and ingested in ${((Date.now() - w.started) / 1000).toFixed(1)} s` +
          (retries.size > 0 ? ` (${retries.size} are retried)` : ''),
      );
    }
    if (w.published || w.total >= BACKLOG_RUNS) {
      this.o.events.publish({ type: 'ingestProgress', done: w.total, total: w.total });
    }
    w.active = false;
    retries.waveEnded();
  }

  /**
   * runsWaiting once per slice at most; with `log`, at the end of a wave, one line for the runs that
   * started to wait, however many.
   */
  private sayWaiting(log = false): void {
    const pending = this.o.pending;
    if (pending.size !== this.waitingPublished) {
      this.waitingPublished = pending.size;
      this.o.events.publish({ type: 'runsWaiting', count: pending.size });
    }
    if (!log || this.newlyWaiting.size === 0) {
      return;
    }
    for (const [project, { count, first }] of this.newlyWaiting) {
      const runs = count === 1 ? `run ${first}` : `${count.toLocaleString('en-US')} runs`;
      const it = count === 1 ? 'it is' : 'they are';
      this.o.log.info(
        project !== null
          ? `experiments: ${runs} ${count === 1 ? 'names' : 'name'} project "${project}", which does not exist: ${it} ingested once that project is created`
          : `experiments: ${runs} ${count === 1 ? 'waits' : 'wait'} for an active project: ${it} ingested once one is active`,
      );
    }
    this.newlyWaiting = new Map();
  }
}

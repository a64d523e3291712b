import type { Logger } from '../log';
import type { Clock } from './clock';
import { CronExpression } from './cron';
import type { ScheduleRow, SchedulerRepository } from './repository';

/** A schedule whose time has come. */
export interface Fire {
  readonly schedule: ScheduleRow;
  /** the scheduled time (ms) */
  readonly at: number;
  /** why it fires late, if it does (a missed fire made up for, a fire held by the overlap policy) */
  readonly note: string | null;
}

export interface CronSchedulerDeps {
  readonly repo: SchedulerRepository;
  readonly clock: Clock;
  readonly log: Logger;
  /** whether a run of the job is queued or running (overlap policy) */
  readonly isActive: (jobId: string) => boolean;
  /** starts the runs of fires due together; answers the error of each schedule whose run could not start */
  readonly fire: (fires: readonly Fire[]) => Promise<ReadonlyMap<string, string | null>>;
  /** a schedule's fire times or state changed */
  readonly onChanged?: (schedule: ScheduleRow) => void;
}

interface Entry {
  row: ScheduleRow;
  expression: CronExpression;
  /** the next fire (ms); Infinity while disabled */
  next: number;
}

/** Counting missed fires stops here: a six-field schedule down for a week misses 600,000. */
const MAX_COUNTED_MISSES = 1000;

const iso = (ms: number) => new Date(ms).toISOString();

/** The next fire after `after`; Infinity when there is none (an expression that no longer fires). */
const nextOf = (expression: CronExpression, after: number) => expression.nextAfter(after) ?? Infinity;

/**
 * Fires cron schedules. cron-next.ts computes fire times; firing is ours, through a Clock, with
 * one timer for the earliest fire of all schedules (a `CronJob` per schedule would keep a timer per
 * schedule, and could not be driven by a fake clock in tests). While nothing is due the scheduler
 * does no work at all, however many schedules there are.
 */
export class CronScheduler {
  private readonly entries = new Map<string, Entry>();
  private cancelTimer: (() => void) | undefined;
  private armedFor = Infinity;
  private work: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: CronSchedulerDeps) {}

  /** Loads the schedules, decides about fires missed while the backend was down, arms the timer. */
  async start(): Promise<void> {
    const now = this.deps.clock.now();
    const late: Fire[] = [];
    for (const row of this.deps.repo.schedules()) {
      const entry = this.load(row);
      if (!entry || !row.enabled) {
        continue;
      }
      const missed = this.missed(entry, Date.parse(row.checkedAt), now);
      if (missed.count === 0) {
        continue;
      }
      const what = `job "${row.jobName}" (${row.cron}, ${row.timeZone}) missed ${missed.count >= MAX_COUNTED_MISSES ? `${MAX_COUNTED_MISSES} or more` : missed.count} fire${missed.count === 1 ? '' : 's'} while the backend was not running (first ${iso(missed.first)}, last ${iso(missed.last)})`;
      if (row.missed === 'runOnce') {
        this.deps.log.info(`scheduler: ${what}: policy run-once, running it once now`);
        late.push({ schedule: row, at: missed.last, note: `made up for the missed fire of ${iso(missed.last)}` });
      } else {
        this.deps.log.info(`scheduler: ${what}: policy skip, not run`);
        await this.deps.repo.recordFire(row.id, { checkedAt: iso(now) });
      }
    }
    if (late.length > 0) {
      await this.fireAll(late, now);
    }
    this.arm();
    // a fire queued behind a run that ended while the backend was down starts now
    for (const e of this.entries.values()) {
      if (e.row.queuedAt) {
        this.jobEnded(e.row.jobId);
      }
    }
  }

  private missed(entry: Entry, since: number, now: number): { count: number; first: number; last: number } {
    let count = 0;
    let first = 0;
    let last = 0;
    for (let t = nextOf(entry.expression, since); t <= now; t = nextOf(entry.expression, t)) {
      if (count === 0) {
        first = t;
      }
      last = t;
      if (++count >= MAX_COUNTED_MISSES) {
        // the last one is what run-once makes up for: the newest before now
        for (let u = nextOf(entry.expression, t); u <= now; u = nextOf(entry.expression, u)) {
          last = u;
        }
        break;
      }
    }
    return { count, first, last };
  }

  private load(row: ScheduleRow): Entry | undefined {
    try {
      const expression = new CronExpression(row.cron, row.timeZone, this.deps.clock.now());
      const entry: Entry = {
        row,
        expression,
        next: row.enabled ? nextOf(expression, this.deps.clock.now()) : Infinity,
      };
      this.entries.set(row.jobId, entry);
      return entry;
    } catch (e) {
      this.deps.log.error(`scheduler: the schedule of job "${row.jobName}" cannot be read: ${(e as Error).message}`);
      this.entries.delete(row.jobId);
      return undefined;
    }
  }

  /** Takes a saved, changed or deleted schedule of a job into account. */
  reload(jobId: string): void {
    const row = this.deps.repo.scheduleOfJob(jobId);
    if (row) {
      this.load(row);
    } else {
      this.entries.delete(jobId);
    }
    this.arm();
  }

  /** A run of the job ended: a fire held back by the overlap policy `queue` starts now. */
  jobEnded(jobId: string): void {
    const entry = this.entries.get(jobId);
    const queued = entry?.row.queuedAt;
    if (!entry || !queued || !entry.row.enabled || this.deps.isActive(jobId)) {
      return;
    }
    this.deps.log.info(
      `scheduler: job "${entry.row.jobName}": its previous run ended, the queued fire of ${queued} starts now`,
    );
    this.enqueue(() =>
      this.fireAll(
        [{ schedule: entry.row, at: Date.parse(queued), note: `queued fire of ${queued}` }],
        this.deps.clock.now(),
      ),
    );
  }

  get size(): number {
    return this.entries.size;
  }

  /** The time the one timer is armed for (Infinity = none): tests and the bench look at it. */
  get armedAt(): number {
    return this.armedFor;
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** Waits for the fires started so far (tests). */
  settled(): Promise<void> {
    return this.work;
  }

  private arm(): void {
    let earliest = Infinity;
    for (const e of this.entries.values()) {
      earliest = Math.min(earliest, e.next);
    }
    if (this.stopped || earliest === this.armedFor) {
      return;
    }
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.armedFor = earliest;
    if (earliest !== Infinity) {
      this.cancelTimer = this.deps.clock.at(earliest, () => {
        this.armedFor = Infinity;
        this.cancelTimer = undefined;
        this.enqueue(() => this.tick());
      });
    }
  }

  private enqueue(task: () => Promise<void>): void {
    this.work = this.work
      .then(task)
      .catch((e: Error) => this.deps.log.error(`scheduler: ${e.message}`))
      .finally(() => this.arm());
  }

  private async tick(): Promise<void> {
    const now = this.deps.clock.now();
    const due: Fire[] = [];
    for (const e of this.entries.values()) {
      if (e.next <= now) {
        due.push({ schedule: e.row, at: e.next, note: null });
        // from now, not from the fire: a machine that slept through many fires catches up with one
        e.next = nextOf(e.expression, Math.max(e.next, now));
      }
    }
    if (due.length > 0) {
      await this.fireAll(due, now);
    }
  }

  private async fireAll(fires: readonly Fire[], now: number): Promise<void> {
    const go: Fire[] = [];
    for (const f of fires) {
      const row = f.schedule;
      const when = iso(f.at);
      if (!this.deps.isActive(row.jobId)) {
        go.push(f);
        continue;
      }
      if (row.overlap === 'queue' && !row.queuedAt) {
        this.deps.log.info(
          `scheduler: job "${row.jobName}" still runs: its fire of ${when} is queued (overlap policy queue)`,
        );
        await this.update(row, { checkedAt: iso(now), queuedAt: when });
      } else {
        const why = row.overlap === 'queue' ? 'one fire is queued already' : 'overlap policy skip';
        this.deps.log.info(`scheduler: job "${row.jobName}" still runs: its fire of ${when} is skipped (${why})`);
        await this.update(row, { checkedAt: iso(now) });
      }
    }
    if (go.length === 0) {
      return;
    }
    const errors = await this.deps.fire(go);
    for (const f of go) {
      await this.update(f.schedule, {
        checkedAt: iso(Math.max(now, f.at)),
        lastFiredAt: iso(f.at),
        lastError: errors.get(f.schedule.id) ?? null,
        queuedAt: null,
      });
    }
  }

  private async update(row: ScheduleRow, changes: Parameters<SchedulerRepository['recordFire']>[1]): Promise<void> {
    await this.deps.repo.recordFire(row.id, changes);
    const fresh = this.deps.repo.scheduleOfJob(row.jobId);
    const entry = this.entries.get(row.jobId);
    if (fresh && entry && entry.row.id === fresh.id) {
      entry.row = fresh;
      this.deps.onChanged?.(fresh);
    }
  }
}

import * as fs from 'fs';
import * as path from 'path';

/**
 * A finished run stays followed this long: a writer may still append (a wrapper that records the
 * end before the last lines of its child land, a copy of a run directory made file by file).
 */
const LINGER_MS = 10_000;

/** A run followed because it is not settled: running, without a readable run.json, or lingering. */
export interface Followed {
  watcher?: fs.FSWatcher;
  running: boolean;
  /** finished: followed until then (see LINGER_MS) */
  until?: number;
  /** sizes and times of run.json and events.jsonl at the last pass (not running: a pass only if changed) */
  signature?: string;
  lastPass: number;
  delay?: NodeJS.Timeout;
  lastPublished: number;
  publishTimer?: NodeJS.Timeout;
}

export interface FollowedRunsOptions {
  readonly runsDir: string;
  /** fs.watch handles on run directories at most */
  readonly watchBudget: number;
  /** a watched run directory changed */
  readonly onChange: (id: string) => void;
  /** a run stops being followed while a publish of it is due (and due now) */
  readonly publishNow: (id: string) => void;
  readonly stopped: () => boolean;
}

/**
 * The runs followed because they are not settled, and the budget of fs.watch handles they share:
 * a followed run gets a watcher when one is free, the others rely on the tracker's poll.
 */
export class FollowedRuns {
  private readonly followed = new Map<string, Followed>();
  /** followed runs that would like a watcher when one is free */
  private readonly unwatched = new Set<string>();
  private watchers = 0;

  constructor(private readonly o: FollowedRunsOptions) {}

  get(id: string): Followed | undefined {
    return this.followed.get(id);
  }

  has(id: string): boolean {
    return this.followed.has(id);
  }

  /** the followed runs (a run may be unfollowed while this is iterated) */
  entries(): IterableIterator<[string, Followed]> {
    return this.followed.entries();
  }

  /** the ids followed now (a copy) */
  ids(): string[] {
    return [...this.followed.keys()];
  }

  /** Follows a run (running, or without a readable run.json yet); a watcher when the budget allows. */
  follow(id: string, running: boolean, signature: string | undefined): void {
    let f = this.followed.get(id);
    if (!f) {
      f = { running, lastPass: Date.now(), lastPublished: 0 };
      this.followed.set(id, f);
    }
    f.running = running;
    f.signature = signature;
    f.until = undefined;
    if (!f.watcher) {
      this.unwatched.add(id);
      this.grantWatchers();
    }
  }

  /** A finished run stays followed until LINGER_MS after it was first seen finished. */
  linger(id: string, signature: string): void {
    let f = this.followed.get(id);
    if (!f) {
      f = { running: false, lastPass: Date.now(), lastPublished: 0 };
      this.followed.set(id, f);
    }
    f.running = false;
    f.signature = signature;
    f.until ??= Date.now() + LINGER_MS;
    this.unwatched.delete(id); // keeps a watcher it has, gets none
  }

  unfollow(id: string, publishDue: boolean): void {
    const f = this.followed.get(id);
    this.unwatched.delete(id);
    if (!f) {
      return;
    }
    this.followed.delete(id);
    this.dropWatcher(f);
    clearTimeout(f.delay);
    if (f.publishTimer) {
      clearTimeout(f.publishTimer);
      if (publishDue) {
        this.o.publishNow(id);
      }
    }
    if (!this.o.stopped()) {
      this.grantWatchers();
    }
  }

  private grantWatchers(): void {
    for (const id of this.unwatched) {
      if (this.watchers >= this.o.watchBudget) {
        return;
      }
      this.unwatched.delete(id);
      const f = this.followed.get(id);
      if (!f || f.watcher) {
        continue;
      }
      try {
        const watcher = fs.watch(path.join(this.o.runsDir, id), () => this.o.onChange(id));
        watcher.on('error', () => this.dropWatcher(f));
        f.watcher = watcher;
        this.watchers++;
      } catch {
        // EMFILE, a watch limit, or gone: the poll covers it
        return;
      }
    }
  }

  private dropWatcher(f: Followed): void {
    if (f.watcher) {
      f.watcher.close();
      f.watcher = undefined;
      this.watchers--;
    }
  }
}

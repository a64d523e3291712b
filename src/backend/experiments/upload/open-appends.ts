import * as fs from 'fs';

/** A file being appended to by a run's sender, kept open between its requests. */
interface Entry {
  readonly handle: fs.promises.FileHandle;
  readonly ino: number;
  readonly dev: number;
  timer?: NodeJS.Timeout;
}

/**
 * The append-only files of uploaded runs (events.jsonl, output logs) kept open between the requests
 * of their senders: a run logging live sends a few requests a second, and opening, stat-ing and
 * closing its file each time cost three trips to the thread pool per request, multiplied by every
 * run being sent. Each use checks (one lstat) that the path is still the file held open, so that a
 * run deleted or replaced meanwhile is opened afresh, never written through an old handle. A file
 * unused for `idleMs` is closed; at most `max` stay open.
 */
export class OpenAppends {
  private readonly open = new Map<string, Entry>();

  constructor(
    private readonly idleMs = 30_000,
    private readonly max = 256,
  ) {}

  /** The handle of `file` and its size now; `openFile` opens it when it is not held (or no longer the same file). */
  async get(
    file: string,
    openFile: () => Promise<fs.promises.FileHandle>,
  ): Promise<{ handle: fs.promises.FileHandle; size: number }> {
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    let entry = this.open.get(file);
    if (entry && !(st?.isFile() && st.ino === entry.ino && st.dev === entry.dev)) {
      await this.close(file);
      entry = undefined;
    }
    let size = st?.size ?? 0;
    if (!entry) {
      const handle = await openFile();
      const opened = await handle.stat();
      entry = { handle, ino: opened.ino, dev: opened.dev };
      size = opened.size;
      if (!opened.isFile()) {
        await handle.close();
        return { handle: await openFile(), size }; // the caller refuses what is not a file (and closes it)
      }
      this.open.set(file, entry);
      while (this.open.size > this.max) {
        await this.close(this.open.keys().next().value!);
      }
    } else {
      this.open.delete(file); // the most recently used last
      this.open.set(file, entry);
    }
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => void this.close(file), this.idleMs);
    entry.timer.unref();
    return { handle: entry.handle, size };
  }

  /** Whether `handle` is one held open here (the caller then does not close it). */
  holds(file: string, handle: fs.promises.FileHandle): boolean {
    return this.open.get(file)?.handle === handle;
  }

  /** Closes the handle of `file` (after a failed write, or unused). */
  async close(file: string): Promise<void> {
    const entry = this.open.get(file);
    if (entry) {
      this.open.delete(file);
      clearTimeout(entry.timer);
      await entry.handle.close().catch(() => undefined);
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((file) => this.close(file)));
  }
}

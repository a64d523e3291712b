import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeAll } from '../../common/fsync';

/** A checkpoint in the background gave way to the store's close, which writes its own. */
export class CheckpointAbandoned extends Error {
  constructor() {
    super('the checkpoint gave way to the store closing');
  }
}

/** Writes all of `data` with writes that run off the thread, 4 MiB at a time. */
async function writeAllInBackground(fd: number, data: Uint8Array): Promise<void> {
  for (let done = 0; done < data.length;) {
    const length = Math.min(4 * 1024 * 1024, data.length - done);
    done += await new Promise<number>((resolve, reject) =>
      fs.write(fd, data, done, length, null, (e, n) => (e ? reject(e) : resolve(n))),
    );
  }
}

const exhausted = (e: unknown) => ['EMFILE', 'ENFILE'].includes((e as NodeJS.ErrnoException).code ?? '');

/**
 * The file descriptors a checkpoint needs, kept from the start: the store's folder (to make renames
 * durable) and a few spare slots (placeholders open on the null device). When the rest of the process
 * has used up the open-files limit (the ingest of thousands of runs did), a checkpoint closes a spare
 * and opens its file in the slot just freed: nothing else runs on this thread in between. The slots
 * are taken back once the checkpoint closed the files it replaced.
 */
export class DescriptorReserve {
  private readonly spares: number[] = [];
  private dirFd: number;

  constructor(
    readonly dir: string,
    private readonly size = 2,
  ) {
    this.dirFd = fs.openSync(dir, 'r');
    this.refill();
  }

  /** How many spare slots are held now. */
  get held(): number {
    return this.spares.length;
  }

  /** Takes back the spare slots that were used (best effort: a slot still taken is tried again later). */
  refill(): void {
    while (this.dirFd >= 0 && this.spares.length < this.size) {
      try {
        this.spares.push(fs.openSync(os.devNull, 'r'));
      } catch {
        return;
      }
    }
  }

  /** Opens `file`, in a spare slot when the process has no descriptor left. */
  open(file: string, flags: number, mode = 0o600): number {
    try {
      return fs.openSync(file, flags, mode);
    } catch (e) {
      if (!exhausted(e) || this.spares.length === 0) {
        throw e;
      }
    }
    fs.closeSync(this.spares.pop()!);
    return fs.openSync(file, flags, mode);
  }

  /** Makes a rename or create in the folder durable, with the folder's descriptor kept open. */
  syncDir(): void {
    fs.fsyncSync(this.dirFd);
  }

  /**
   * Writes `data` to `file` so that a crash leaves either the old file or the new one (a temp file,
   * fsync, rename, fsync of the folder). With `keepOpen` the descriptor stays open for appending
   * (O_APPEND) and is returned; otherwise it is closed.
   */
  writeAtomic(file: string, data: Uint8Array, keepOpen: boolean): number | undefined {
    if (path.dirname(file) !== this.dir) {
      throw new Error(`${file} is not in ${this.dir}`);
    }
    const tmp = `${file}.tmp-${process.pid}`;
    const { O_WRONLY, O_CREAT, O_TRUNC, O_APPEND } = fs.constants;
    const fd = this.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | (keepOpen ? O_APPEND : 0));
    try {
      writeAll(fd, data);
      fs.fsyncSync(fd);
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    if (!keepOpen) {
      fs.closeSync(fd);
      this.syncDir();
      return undefined;
    }
    try {
      this.syncDir();
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    return fd;
  }

  /**
   * `writeAtomic` for a checkpoint that runs beside requests: the file is opened at once (in a spare
   * slot if need be), written and synced off the thread, and renamed into place only if `abandoned()`
   * still says no right before the rename (the store was closed meanwhile and wrote its own).
   */
  async writeAtomicInBackground(
    file: string,
    data: Uint8Array,
    keepOpen: boolean,
    abandoned: () => boolean,
  ): Promise<number | undefined> {
    if (path.dirname(file) !== this.dir) {
      throw new Error(`${file} is not in ${this.dir}`);
    }
    const tmp = `${file}.tmp-${process.pid}-bg`;
    const { O_WRONLY, O_CREAT, O_TRUNC, O_APPEND } = fs.constants;
    const fd = this.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | (keepOpen ? O_APPEND : 0));
    let renamed = false;
    try {
      await writeAllInBackground(fd, data);
      await new Promise<void>((resolve, reject) => fs.fsync(fd, (e) => (e ? reject(e) : resolve())));
      if (abandoned()) {
        throw new CheckpointAbandoned();
      }
      fs.renameSync(tmp, file);
      renamed = true;
      await new Promise<void>((resolve, reject) => fs.fsync(this.dirFd, (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      fs.closeSync(fd);
      if (!renamed) {
        fs.rmSync(tmp, { force: true });
      }
      throw e;
    }
    if (!keepOpen) {
      fs.closeSync(fd);
      return undefined;
    }
    return fd;
  }

  close(): void {
    this.spares.splice(0).forEach((fd) => fs.closeSync(fd));
    if (this.dirFd >= 0) {
      fs.closeSync(this.dirFd);
      this.dirFd = -1;
    }
  }
}

/**
 * Packages a folder into one zip, using every core.
 *
 * Written by hand rather than with yazl (or archiver) because those compress entries one after the
 * other, on one zlib stream at a time, so packaging uses one core; the target is well under the
 * time of `zip -r` on a 2-core machine. Here the walk lists the folder; tasks (a small file read and
 * deflated whole, or a 1 MiB chunk of a big file, pigz-style: see chunk-tasks.ts) run several at
 * once, deflating on libuv's thread pool through zlib's async API; and the writer puts their results
 * into the zip in a fixed order, hashing the bytes as they go out. Tiny files are read and deflated
 * on the main thread, where that costs less than a trip to the thread pool (sync-gate.ts), and data
 * that a quick sample shows to be incompressible is stored rather than deflated (deflate.ts).
 */
import * as os from 'os';
import { PackProgress, ProgressThrottle } from './progress';
import { tasksOf, planOf, type PoolResult } from './entry-plan';
import { abortError, PackagingRefusal, throwIfAborted } from './errors';
import { OrderedPool } from './ordered-pool';
import { openSink } from './sink';
import { SyncGate } from './sync-gate';
import { listFolder } from './walk';
import { ZipWriter } from './zip-writer';
import { MAX_UNPACK_BYTES_ENV, maxUnpackBytes, sizeText } from '../byte-budget';

export type { PackProgress } from './progress';
export { STORED_EXTENSIONS } from './stored-extensions';

export interface PackResult {
  /** regular files in the zip (folders not counted) */
  readonly files: number;
  /** their total size */
  readonly bytesIn: number;
  /** size of the zip */
  readonly bytesOut: number;
  /** sha256 of the zip, hex */
  readonly sha256: string;
}

export interface PackOptions {
  /** deflate level, 0 (store everything) to 9; default 6, as `zip -r` */
  readonly level?: number;
  /**
   * store data that a quick sample shows to be incompressible instead of deflating it (default true);
   * false deflates everything, as `zip -r` does
   */
  readonly probeIncompressible?: boolean;
  /** cancels: the promise rejects with an Error named 'AbortError' */
  readonly signal?: AbortSignal;
  /** called at most 10 times a second, and once more when done */
  readonly onProgress?: (p: PackProgress) => void;
  /** tasks run at once; default twice the cores, so reading overlaps compressing */
  readonly concurrency?: number;
  /** files and folders, at most; default the unpackers' limit (1,000,000), which a package must respect */
  readonly maxEntries?: number;
  /** bytes of the files, at most; default the unpackers' limit (maxUnpackBytes()), which a package must respect */
  readonly maxUnpackBytes?: number;
}

/** Compressed results held ahead of the writer, at most: bounds memory whatever the folder holds. */
const MEMORY_BUDGET_BYTES = 96 << 20;

/**
 * Packages `folder` (recursively, following symbolic links) into a zip written to `out`, hashing
 * the zip while writing. A path is created or truncated, synced to disk before this resolves, and
 * deleted on failure; a stream is ended on success and left as it is on failure. What the folder
 * holds that cannot be packaged, or could not be unpacked as it is (source-names.ts), rejects with
 * a PackagingRefusal that names the file, before anything is written.
 */
export async function packFolder(
  folder: string,
  out: NodeJS.WritableStream | string,
  options: PackOptions = {},
): Promise<PackResult> {
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new RangeError(`level must be an integer from 0 to 9, not ${level}`);
  }
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? os.cpus().length * 2));
  const { signal } = options;
  throwIfAborted(signal);
  const sink = await openSink(out);
  let pool: OrderedPool<PoolResult> | undefined;
  try {
    const gate = new SyncGate();
    // the whole folder is listed, and every name checked (source-names.ts), before a byte is written
    const listing = await listFolder(folder, { signal, exclude: sink.fileId, gate, maxEntries: options.maxEntries });
    if (listing.files === 0) {
      const folders = listing.entries.length;
      const only = folders > 0 ? ` (only ${folders} empty folder${folders === 1 ? '' : 's'})` : '';
      throw new PackagingRefusal(
        `${folder} is empty${only}: nothing to package. Add files to it, then try again.`,
        'empty_folder',
        folder,
      );
    }
    const limit = options.maxUnpackBytes ?? maxUnpackBytes();
    if (listing.bytes > limit) {
      throw new PackagingRefusal(
        `${folder} holds ${sizeText(listing.bytes)}, more than the ${sizeText(limit)} a package may unpack to when it is loaded: ` +
          `nothing was packaged. Split the data into several datasets, or raise the limit with ${MAX_UNPACK_BYTES_ENV} ` +
          '(a number of bytes) here and wherever the package is loaded.',
        'too_big_to_unpack',
        folder,
      );
    }
    const progress = new ProgressThrottle(listing.files, listing.bytes, options.onProgress);
    progress.tick(true);
    pool = new OrderedPool(
      tasksOf(listing.entries, level, gate, options.probeIncompressible ?? true),
      concurrency,
      MEMORY_BUDGET_BYTES,
    );
    const writer = new ZipWriter(sink, pool, progress, signal);
    for (const entry of listing.entries) {
      throwIfAborted(signal);
      await writer.add(entry, planOf(entry, level));
    }
    await writer.finish();
    const sha256 = await sink.finish();
    progress.tick(true);
    return { files: progress.files, bytesIn: progress.bytes, bytesOut: sink.offset, sha256 };
  } catch (error) {
    await pool?.stop();
    await sink.abort();
    throw signal?.aborted ? abortError() : error;
  }
}

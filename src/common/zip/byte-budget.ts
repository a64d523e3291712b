import * as fs from 'fs';
import { BadZipError, DiskSpaceError, UnsafeZipError } from './unsafe-zip-error';

export interface UnzipLimits {
  /** total bytes unpacked, at most; default $MLLAB_MAX_UNPACK_BYTES, else 64 GiB */
  readonly maxTotalBytes?: number;
  /** entries in the zip, at most; default 1,000,000 */
  readonly maxEntries?: number;
  /** bytes free for this process on the file system holding `dir`; default from fs.statfs */
  readonly freeBytes?: (dir: string) => Promise<number>;
}

export const MAX_UNPACK_BYTES_ENV = 'MLLAB_MAX_UNPACK_BYTES';
export const DEFAULT_LIMITS = { maxTotalBytes: 64 * 2 ** 30, maxEntries: 1_000_000 } as const;

/** Free space is measured again after this many bytes are written (a statfs call costs microseconds). */
const SPACE_CHECK_BYTES = 8 << 20;

/** `bytes` for a person: 1.5 GiB, 20.0 MiB, 512 bytes */
export const sizeText = (bytes: number) =>
  bytes >= 2 ** 30
    ? `${(bytes / 2 ** 30).toFixed(1)} GiB`
    : bytes >= 2 ** 20
      ? `${(bytes / 2 ** 20).toFixed(1)} MiB`
      : `${bytes} bytes`;

/** The unpack limit: $MLLAB_MAX_UNPACK_BYTES when set (as the Python client reads it), else 64 GiB. */
export function maxUnpackBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = (env[MAX_UNPACK_BYTES_ENV] ?? '').trim();
  if (raw === '') {
    return DEFAULT_LIMITS.maxTotalBytes;
  }
  const value = /^[0-9][0-9_]*$/.test(raw) ? Number(raw.replace(/_/g, '')) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(
      `${MAX_UNPACK_BYTES_ENV}="${raw}" is not a positive number of bytes: set it to e.g. ${DEFAULT_LIMITS.maxTotalBytes} (64 GiB) or unset it.`,
    );
  }
  return value;
}

async function statfsFree(dir: string): Promise<number> {
  const statfs = (fs.promises as Partial<typeof fs.promises>).statfs;
  if (statfs === undefined) {
    return Infinity; // a Node without statfs: the write itself fails with ENOSPC, reported as such
  }
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Stops a zip bomb by what unpacking it actually writes, not by how well it compresses (a few
 * GiB of zeros or of repeated log lines compress 1000:1 and are honest data): every entry must
 * hold exactly the bytes its header declares (inflated output is counted as it comes, so a lying
 * header is caught after one chunk), the declared total must stay within `maxTotalBytes`, and the
 * bytes still to write must fit in the free space of the destination's file system, measured
 * before the first entry and again every few MiB written.
 */
export class ByteBudget {
  private declared = 0;
  written = 0;
  private readonly maxTotalBytes: number;
  private readonly maxEntries: number;
  private readonly freeBytes: (dir: string) => Promise<number>;
  /** free bytes when last measured, and `written` then */
  private free = Infinity;
  private writtenAtMeasure = 0;
  private measuring: Promise<void> | undefined;

  constructor(
    limits: UnzipLimits,
    private readonly dir: string,
  ) {
    this.maxTotalBytes = limits.maxTotalBytes ?? maxUnpackBytes();
    this.maxEntries = limits.maxEntries ?? DEFAULT_LIMITS.maxEntries;
    this.freeBytes = limits.freeBytes ?? statfsFree;
  }

  checkEntryCount(count: number): void {
    if (count > this.maxEntries) {
      throw new UnsafeZipError(
        `The zip has ${count} entries, more than the limit of ${this.maxEntries}: refusing to unpack it.`,
      );
    }
  }

  /** Measures the free space now; call once before unpacking. */
  async measure(): Promise<void> {
    this.measuring ??= this.freeBytes(this.dir).then(
      (free) => {
        this.free = free;
        this.writtenAtMeasure = this.written;
        this.measuring = undefined;
      },
      () => {
        this.measuring = undefined; // cannot tell: the writes report ENOSPC themselves
      },
    );
    return this.measuring;
  }

  private checkSpace(): void {
    const pending = this.declared - this.written;
    const free = this.free - (this.written - this.writtenAtMeasure);
    if (pending > free) {
      throw new DiskSpaceError(
        `Not enough disk space to unpack the zip: ${sizeText(pending)} more are needed, ${sizeText(Math.max(free, 0))} are free in ${this.dir}. Free some space and try again.`,
      );
    }
  }

  /** An entry about to be unpacked, by the size its header declares. */
  declare(name: string, size: number): void {
    this.declared += size;
    if (this.declared > this.maxTotalBytes) {
      throw new UnsafeZipError(
        `Unpacking the zip entry "${name}" would bring the total past the limit of ${sizeText(this.maxTotalBytes)}: refusing to unpack this zip. If the data is that big, raise the limit with ${MAX_UNPACK_BYTES_ENV} (a number of bytes).`,
      );
    }
    this.checkSpace();
  }

  /**
   * A counter of one entry's bytes as they are unpacked. It throws as soon as the entry holds more
   * than declared; `end` throws if it held less.
   */
  counter(name: string, size: number): { add: (length: number) => Promise<void> | undefined; end: () => void } {
    let entryBytes = 0;
    const lying = (what: string) =>
      new BadZipError(
        `The zip entry "${name}" holds ${what} data than its header says (${size} bytes): the zip is damaged, or made to unpack to more than it declares (a zip bomb). Refusing to unpack it.`,
      );
    return {
      add: (length) => {
        entryBytes += length;
        this.written += length;
        if (entryBytes > size) {
          throw lying('more');
        }
        if (this.written > this.maxTotalBytes) {
          throw new UnsafeZipError(
            `Unpacking the zip entry "${name}" brings the total past the limit of ${sizeText(this.maxTotalBytes)}: refusing to unpack this zip.`,
          );
        }
        if (this.written - this.writtenAtMeasure >= SPACE_CHECK_BYTES) {
          return this.measure().then(() => this.checkSpace());
        }
        return undefined;
      },
      end: () => {
        if (entryBytes !== size) {
          throw lying('less');
        }
      },
    };
  }
}

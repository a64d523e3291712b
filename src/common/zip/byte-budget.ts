import type { Entry } from 'yauzl';
import { UnsafeZipError } from './unsafe-zip-error';

export interface UnzipLimits {
  /** total bytes unpacked, at most; default 64 GiB */
  readonly maxTotalBytes?: number;
  /** entries in the zip, at most; default 1,000,000 */
  readonly maxEntries?: number;
  /** uncompressed / compressed size of one entry, at most; default 1000 (entries under 1 MiB exempt) */
  readonly maxRatio?: number;
}

export const DEFAULT_LIMITS = { maxTotalBytes: 64 * 2 ** 30, maxEntries: 1_000_000, maxRatio: 1000 } as const;

/** Below this size an entry's ratio does not matter: a bomb needs to be big to do harm. */
const RATIO_EXEMPT_BYTES = 1 << 20;

const sizeText = (bytes: number) =>
  bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * Enforces the limits twice: on the sizes the central directory declares, before anything is
 * written, and on the bytes actually unpacked, which a forged header cannot lower.
 */
export class ByteBudget {
  private declared = 0;
  written = 0;
  private readonly limits: Required<UnzipLimits>;

  constructor(limits: UnzipLimits) {
    this.limits = {
      maxTotalBytes: limits.maxTotalBytes ?? DEFAULT_LIMITS.maxTotalBytes,
      maxEntries: limits.maxEntries ?? DEFAULT_LIMITS.maxEntries,
      maxRatio: limits.maxRatio ?? DEFAULT_LIMITS.maxRatio,
    };
  }

  checkEntryCount(count: number): void {
    if (count > this.limits.maxEntries) {
      throw new UnsafeZipError(
        `The zip has ${count} entries, more than the limit of ${this.limits.maxEntries}: refusing to unpack it.`,
      );
    }
  }

  private check(name: string, total: number, size: number, compressedSize: number): void {
    if (total > this.limits.maxTotalBytes) {
      throw new UnsafeZipError(
        `Unpacking the zip entry "${name}" would bring the total past the limit of ${sizeText(this.limits.maxTotalBytes)}: refusing to unpack this zip.`,
      );
    }
    if (size >= RATIO_EXEMPT_BYTES && size > this.limits.maxRatio * Math.max(compressedSize, 1)) {
      throw new UnsafeZipError(
        `The zip entry "${name}" expands more than ${this.limits.maxRatio} times (${sizeText(size)} from ${compressedSize} bytes), as zip bombs do: refusing to unpack this zip.`,
      );
    }
  }

  declare(name: string, entry: Entry): void {
    this.declared += entry.uncompressedSize;
    this.check(name, this.declared, entry.uncompressedSize, entry.compressedSize);
  }

  /** A counter of one entry's bytes as they are unpacked, which throws past a limit. */
  counter(name: string, compressedSize: number): (length: number) => void {
    let entryBytes = 0;
    return (length) => {
      entryBytes += length;
      this.written += length;
      this.check(name, this.written, entryBytes, compressedSize);
    };
  }
}

import type { ZipSink } from './sink';
import { endOfCentralDirectory } from './zip-format';

const SLAB_BYTES = 1 << 20;

/**
 * The central directory, gathered while the entries are written and written after them. Headers
 * are copied into 1 MiB slabs: a million small Buffers would cost far more memory than their bytes.
 */
export class CentralDirectory {
  private readonly slabs: Buffer[] = [];
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  private used = 0;
  private entries = 0;

  add(header: Buffer): void {
    if (this.used + header.length > this.slab.length) {
      this.slabs.push(this.slab.subarray(0, this.used));
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, header.length));
      this.used = 0;
    }
    header.copy(this.slab, this.used);
    this.used += header.length;
    this.entries++;
  }

  /** Writes the directory and the end records; the zip is complete after this. */
  async writeTo(sink: ZipSink): Promise<void> {
    this.slabs.push(this.slab.subarray(0, this.used));
    const offset = sink.offset;
    let size = 0;
    for (const slab of this.slabs) {
      size += slab.length;
      await sink.write(slab);
    }
    await sink.write(endOfCentralDirectory({ entries: this.entries, offset, size }));
  }
}

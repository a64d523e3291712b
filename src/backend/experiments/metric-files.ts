import * as fs from 'fs';
import * as path from 'path';

/** float64 values per stored point: step, time (unix ms), value */
export const POINT_FLOATS = 3;
export const POINT_BYTES = POINT_FLOATS * 8;

/**
 * Metric points live outside the metadata store: per run and key an append-only file
 * `<home>/metrics/<runId>/<index>.f64` of (step, time, value) float64 triplets in the machine's byte
 * order (little-endian on every platform Node runs on). NaN and ±Infinity are stored natively. The
 * key -> index map and the number of committed points per key are in the store (metric_summaries):
 * points beyond that count are an uncommitted tail left by a crash and are cut off before appending.
 */
export class MetricFiles {
  constructor(readonly root: string) {}

  dirOf(runId: string): string {
    return path.join(this.root, runId);
  }

  fileOf(runId: string, index: number): string {
    return path.join(this.root, runId, `${index}.f64`);
  }

  /**
   * Makes the file hold exactly `count` points (cutting an uncommitted tail); returns the number of
   * points it held, so a caller can detect a file that lost committed points.
   */
  settle(runId: string, index: number, count: number): number {
    const file = this.fileOf(runId, index);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      size = 0;
      if (count === 0) {
        return 0;
      }
    }
    if (size > count * POINT_BYTES) {
      fs.truncateSync(file, count * POINT_BYTES);
      return count;
    }
    return Math.floor(size / POINT_BYTES);
  }

  /** Appends `floats` (whole triplets) in one write. */
  append(runId: string, index: number, floats: Float64Array, length: number): void {
    if (length === 0) {
      return;
    }
    fs.mkdirSync(this.dirOf(runId), { recursive: true });
    const fd = fs.openSync(this.fileOf(runId, index), 'a');
    try {
      const bytes = new Uint8Array(floats.buffer, floats.byteOffset, length * 8);
      let written = 0;
      while (written < bytes.length) {
        written += fs.writeSync(fd, bytes, written);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The first `count` points of a key (fewer if the file is shorter). */
  read(runId: string, index: number, count: number): Float64Array {
    let fd: number;
    try {
      fd = fs.openSync(this.fileOf(runId, index), 'r');
    } catch {
      return new Float64Array(0);
    }
    try {
      const out = new Float64Array(count * POINT_FLOATS);
      const bytes = new Uint8Array(out.buffer);
      let read = 0;
      while (read < bytes.length) {
        const n = fs.readSync(fd, bytes, read, bytes.length - read, read);
        if (n === 0) {
          break;
        }
        read += n;
      }
      return out.subarray(0, Math.floor(read / POINT_BYTES) * POINT_FLOATS);
    } finally {
      fs.closeSync(fd);
    }
  }

  remove(runId: string): void {
    fs.rmSync(this.dirOf(runId), { recursive: true, force: true });
  }
}

/** A growable buffer of triplets for one key during one ingest pass (no allocation per point). */
export class PointBuffer {
  floats = new Float64Array(3 * 256);
  length = 0;

  push(step: number, time: number, value: number): void {
    if (this.length + 3 > this.floats.length) {
      const bigger = new Float64Array(this.floats.length * 2);
      bigger.set(this.floats);
      this.floats = bigger;
    }
    const f = this.floats;
    const n = this.length;
    f[n] = step;
    f[n + 1] = time;
    f[n + 2] = value;
    this.length = n + 3;
  }

  get points(): number {
    return this.length / 3;
  }

  clear(): void {
    this.length = 0;
  }
}

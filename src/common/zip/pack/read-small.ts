import * as fs from 'fs';
import type { SyncGate } from './sync-gate';

/** Files up to this size are read synchronously while the gate allows (see SyncGate). */
const SYNC_READ_BYTES = 256 << 10;

// The callback API, not fs/promises: its requests are lighter, which counts for many small files.
const open = (file: string) =>
  new Promise<number>((resolve, reject) => fs.open(file, 'r', (e, fd) => (e ? reject(e) : resolve(fd))));
const read = (fd: number, buffer: Buffer, offset: number) =>
  new Promise<number>((resolve, reject) =>
    fs.read(fd, buffer, offset, buffer.length - offset, offset, (e, n) => (e ? reject(e) : resolve(n))),
  );

function readSync(file: string, size: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const n = fs.readSync(fd, buffer, filled, size - filled, filled);
      if (n === 0) {
        break;
      }
      filled += n;
    }
    return buffer.subarray(0, filled);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads the `size` bytes the walk found in a file (fewer if it shrank since): synchronously when
 * small and the file system is fast, else open, read and a close nobody waits for.
 */
export async function readSmallFile(file: string, size: number, gate: SyncGate): Promise<Buffer> {
  if (gate.open && size <= SYNC_READ_BYTES) {
    await gate.yieldIfDue();
    return gate.run(() => readSync(file, size));
  }
  const fd = await open(file);
  try {
    const buffer = Buffer.allocUnsafe(size);
    let filled = 0;
    while (filled < size) {
      const n = await read(fd, buffer, filled);
      if (n === 0) {
        break;
      }
      filled += n;
    }
    return buffer.subarray(0, filled);
  } finally {
    fs.close(fd, () => undefined);
  }
}

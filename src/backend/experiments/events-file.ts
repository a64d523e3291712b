import * as fs from 'fs';

/** Reads up to `want` bytes at `position` (fewer at the end of the file); the count read. */
export function readAt(fd: number, buffer: Buffer, want: number, position: number): number {
  let got = 0;
  while (got < want) {
    const n = fs.readSync(fd, buffer, got, want - got, position + got);
    if (n === 0) {
      break;
    }
    got += n;
  }
  return got;
}

/**
 * The position of the first newline in [from, size), or -1; reads a buffer at a time and lets
 * other work (requests) run in between, so skipping hundreds of megabytes never stalls the backend.
 */
export async function findNewline(fd: number, from: number, size: number, buffer: Buffer): Promise<number> {
  let position = from;
  while (position < size) {
    const got = readAt(fd, buffer, Math.min(buffer.length, size - position), position);
    if (got === 0) {
      return -1;
    }
    const i = buffer.indexOf(10);
    if (i >= 0 && i < got) {
      return position + i;
    }
    position += got;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return -1;
}

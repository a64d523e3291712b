import * as fs from 'fs';
import type { Readable } from 'stream';
import { promisify } from 'util';
import type { Entry, ZipFile } from 'yauzl';
import * as zlib from 'zlib';
import type { ByteBudget } from './byte-budget';
import { BadZipError, UnsafeZipError } from './unsafe-zip-error';
import { damaged, openEntryStream, unixMode } from './zip-reader';

type Crc32 = (data: Uint8Array, previous?: number) => number;
/** native from Node 20.15; without it (an older Electron) the CRC is not checked, as yauzl does not */
const crc32 = (zlib as unknown as { crc32?: Crc32 }).crc32;

/** Entries up to this size are gathered in memory and written with one call. */
const SMALL_ENTRY_BYTES = 1 << 20;

const open = promisify(fs.open);
const write = (fd: number, buffer: Buffer, offset: number) =>
  new Promise<number>((resolve, reject) =>
    fs.write(fd, buffer, offset, buffer.length - offset, null, (e, n) => (e ? reject(e) : resolve(n))),
  );
const futimes = promisify(fs.futimes);
const close = promisify(fs.close);

async function writeAll(fd: number, data: Buffer): Promise<void> {
  for (let done = 0; done < data.length;) {
    done += await write(fd, data, done);
  }
}

/**
 * Copies the inflated bytes to `fd`, counting them first. Small entries are gathered and written in
 * one call. No fs write stream: destroying one closes its descriptor, which here is ours to close.
 */
async function copy(
  input: Readable,
  fd: number,
  small: boolean,
  add: (n: number) => Promise<void> | undefined,
  signal?: AbortSignal,
) {
  const chunks: Buffer[] = [];
  let crc = 0;
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      signal?.throwIfAborted();
      crc = crc32 === undefined ? 0 : crc32(chunk, crc);
      const measuring = add(chunk.length);
      if (measuring !== undefined) {
        await measuring;
      }
      if (small) {
        chunks.push(chunk);
      } else {
        await writeAll(fd, chunk);
      }
    }
  } catch (error) {
    input.destroy();
    throw error;
  }
  if (small) {
    await writeAll(fd, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  }
  return crc;
}

/**
 * Writes one file entry into a new file (never over an existing one), counting its bytes against
 * the budget as they are inflated (before they are written), with the entry's permission bits and
 * modification time.
 */
export async function extractFile(
  zip: ZipFile,
  entry: Entry,
  name: string,
  target: string,
  budget: ByteBudget,
  signal: AbortSignal | undefined,
): Promise<void> {
  const mode = unixMode(entry);
  // permission bits only (no setuid), and always readable by the owner
  const fileMode = mode === undefined ? 0o644 : (mode & 0o777) | 0o400;
  let fd: number;
  try {
    fd = await open(target, 'wx', fileMode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UnsafeZipError(`The zip entry "${name}" would overwrite another entry: refusing to unpack this zip.`);
    }
    throw error;
  }
  let closed = false;
  try {
    const count = budget.counter(name, entry.uncompressedSize);
    const input = await openEntryStream(zip, entry, name);
    const crc = await copy(input, fd, entry.uncompressedSize <= SMALL_ENTRY_BYTES, count.add, signal);
    count.end();
    if (crc32 !== undefined && crc !== entry.crc32) {
      throw new BadZipError(
        `The zip entry "${name}" is damaged: its data does not match its CRC-32 checksum. Copy or download the zip again.`,
      );
    }
    const mtime = entry.getLastModDate();
    if (!Number.isNaN(mtime.getTime())) {
      await futimes(fd, mtime, mtime);
    }
    closed = true;
    await close(fd);
  } catch (error) {
    if (!closed) {
      await close(fd).catch(() => undefined);
    }
    throw damaged(error, name);
  }
}

import * as fs from 'fs/promises';
import { deflateChunk, deflateWhole } from './deflate';
import { unreadable } from './errors';
import { readSmallFile } from './read-small';
import type { SyncGate } from './sync-gate';
import type { Task } from './ordered-pool';
import type { SourceEntry } from './walk';

/** Files up to this size are read and compressed whole; bigger ones in chunks of this size. */
export const CHUNK_BYTES = 1 << 20;
/** deflate's window: each chunk is primed with the 32 KiB before it, so splitting costs almost no ratio */
const DICTIONARY_BYTES = 32 << 10;

/** What a task hands to the writer: the raw bytes (for the CRC) and, when deflated, the compressed ones. */
export interface ChunkResult {
  readonly kind: 'chunk';
  readonly raw: Buffer;
  readonly deflated: Buffer | undefined;
}

export interface CrcResult {
  readonly kind: 'crc';
  readonly crc: number;
  readonly size: number;
}

export function changedWhilePackaging(file: string): Error {
  return new Error(
    `${file} changed while it was being packaged. Make sure nothing writes to the folder, then try again.`,
  );
}

/** File system errors (they have a code) become messages that name the file; ours pass through. */
function fsError(file: string, error: unknown): unknown {
  return (error as NodeJS.ErrnoException).code === undefined ? error : unreadable(file, error);
}

/** Reads a whole (small) file and, unless `level` is undefined, deflates it. */
export function wholeFileTask(
  entry: SourceEntry,
  level: number | undefined,
  gate: SyncGate,
  probe = true,
): Task<ChunkResult> {
  return {
    cost: 2 * entry.size,
    run: async () => {
      let raw: Buffer;
      try {
        raw = await readSmallFile(entry.path, entry.size, gate);
      } catch (error) {
        throw fsError(entry.path, error);
      }
      return { kind: 'chunk', raw, deflated: level === undefined ? undefined : await deflateWhole(raw, level, probe) };
    },
  };
}

async function readAt(handle: fs.FileHandle, file: string, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) {
      throw changedWhilePackaging(file);
    }
    filled += bytesRead;
  }
  return buffer;
}

/**
 * Deflates chunk `index` of a big file as pigz does: an independent raw deflate stream primed with
 * the previous 32 KiB as its dictionary, ended by a sync flush (byte-aligned, not final) except for
 * the last chunk (see deflateChunk). Their concatenation is one valid deflate stream, so the chunks
 * of one file are compressed in parallel, which a single zlib stream cannot do.
 */
export function deflateChunkTask(entry: SourceEntry, index: number, level: number, probe = true): Task<ChunkResult> {
  const start = index * CHUNK_BYTES;
  const length = Math.min(CHUNK_BYTES, entry.size - start);
  const last = start + length === entry.size;
  const dictionaryStart = Math.max(0, start - DICTIONARY_BYTES);
  return {
    cost: 2 * length + DICTIONARY_BYTES,
    run: async () => {
      let bytes: Buffer;
      try {
        const handle = await fs.open(entry.path, 'r');
        try {
          bytes = await readAt(handle, entry.path, dictionaryStart, start + length - dictionaryStart);
          if (last && (await handle.stat()).size !== entry.size) {
            throw changedWhilePackaging(entry.path);
          }
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw fsError(entry.path, error);
      }
      const raw = bytes.subarray(start - dictionaryStart);
      const dictionary = bytes.subarray(0, start - dictionaryStart);
      return { kind: 'chunk', raw, deflated: await deflateChunk(raw, level, dictionary, last, probe) };
    },
  };
}

/** Reads a big stored file once for its CRC, which its local header needs before the data. */
export function crcPassTask(
  entry: SourceEntry,
  crc32: (data: Uint8Array, previous?: number) => number,
): Task<CrcResult> {
  return {
    cost: CHUNK_BYTES,
    run: async () => {
      try {
        const handle = await fs.open(entry.path, 'r');
        try {
          const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
          let crc = 0;
          let size = 0;
          for (;;) {
            const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, size);
            if (bytesRead === 0) {
              return { kind: 'crc', crc, size };
            }
            crc = crc32(buffer.subarray(0, bytesRead), crc);
            size += bytesRead;
          }
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw fsError(entry.path, error);
      }
    },
  };
}

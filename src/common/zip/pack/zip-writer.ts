import * as fs from 'fs/promises';
import { CHUNK_BYTES, changedWhilePackaging, type ChunkResult, type CrcResult } from './chunk-tasks';
import { CentralDirectory } from './central-directory';
import { crc32 } from './crc32';
import type { EntryPlan, PoolResult } from './entry-plan';
import { throwIfAborted, unreadable } from './errors';
import type { OrderedPool } from './ordered-pool';
import type { ProgressThrottle } from './progress';
import type { ZipSink } from './sink';
import type { SourceEntry } from './walk';
import {
  MAX_UINT32,
  METHOD_DEFLATED,
  METHOD_STORED,
  centralHeader,
  dataDescriptor,
  localHeader,
  type EntryFields,
  type EntrySizes,
} from './zip-format';

/** Whether a deflated entry of `size` bytes could reach 4 GiB: deflate can grow data by about 0.03%. */
export function mayNeedZip64(size: number): boolean {
  return size + Math.ceil(size / 1024) + (1 << 16) >= MAX_UINT32;
}

/** Writes the entries, in order, from the results of their tasks; then the central directory. */
export class ZipWriter {
  private readonly central = new CentralDirectory();

  constructor(
    private readonly sink: ZipSink,
    private readonly pool: OrderedPool<PoolResult>,
    private readonly progress: ProgressThrottle,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private async nextChunk(): Promise<ChunkResult> {
    const result = await this.pool.next();
    if (result.kind !== 'chunk') {
      throw new Error('internal error: tasks out of step with entries');
    }
    return result;
  }

  async add(entry: SourceEntry, plan: EntryPlan): Promise<void> {
    const offset = this.sink.offset;
    const fields = (method: number): EntryFields => ({
      name: entry.name,
      method,
      isDirectory: entry.isDirectory,
      mtime: entry.mtime,
      mode: entry.mode,
    });
    if (plan.kind === 'directory' || plan.kind === 'empty') {
      const sizes = { crc: 0, size: 0, compressedSize: 0 };
      await this.sink.write(localHeader(fields(METHOD_STORED), sizes, false));
      this.central.add(centralHeader(fields(METHOD_STORED), sizes, offset));
    } else if (plan.kind === 'whole') {
      const { raw, deflated } = await this.nextChunk();
      // like zip, store what deflate cannot shrink (random data, formats compressed already)
      const useDeflated = deflated !== undefined && deflated.length < raw.length;
      const data = useDeflated ? deflated : raw;
      const sizes = { crc: crc32(raw), size: raw.length, compressedSize: data.length };
      const method = useDeflated ? METHOD_DEFLATED : METHOD_STORED;
      await this.sink.write(localHeader(fields(method), sizes, raw.length >= MAX_UINT32));
      await this.sink.write(data);
      this.progress.bytes += raw.length;
      this.central.add(centralHeader(fields(method), sizes, offset));
    } else if (plan.kind === 'chunked') {
      await this.addChunked(entry, plan.chunks, fields(METHOD_DEFLATED), offset);
    } else {
      const result = await this.pool.next();
      await this.addStoredBig(entry, result as CrcResult, fields(METHOD_STORED), offset);
    }
    if (!entry.isDirectory) {
      this.progress.files++;
    }
    this.progress.tick();
  }

  /** Sizes and CRC are known only at the end: they follow the data in a data descriptor. */
  private async addChunked(entry: SourceEntry, chunks: number, fields: EntryFields, offset: number): Promise<void> {
    const zip64 = mayNeedZip64(entry.size);
    await this.sink.write(localHeader(fields, undefined, zip64));
    let crc = 0;
    let size = 0;
    let compressedSize = 0;
    for (let i = 0; i < chunks; i++) {
      throwIfAborted(this.signal);
      const { raw, deflated } = await this.nextChunk();
      crc = crc32(raw, crc);
      size += raw.length;
      compressedSize += deflated!.length;
      await this.sink.write(deflated!);
      this.progress.bytes += raw.length;
      this.progress.tick();
    }
    const sizes: EntrySizes = { crc, size, compressedSize };
    await this.sink.write(dataDescriptor(sizes, zip64));
    // a reader may take the descriptor's format (8-byte sizes or 4) from either header: keep them alike
    this.central.add(centralHeader(fields, sizes, offset, { dataDescriptor: true, forceZip64: zip64 }));
  }

  /**
   * A big stored file is copied with its CRC in the local header (found by an earlier pass), not in
   * a data descriptor: some readers (Java's ZipInputStream) cannot read stored entries that have one.
   */
  private async addStoredBig(entry: SourceEntry, pass: CrcResult, fields: EntryFields, offset: number): Promise<void> {
    const sizes: EntrySizes = { crc: pass.crc, size: pass.size, compressedSize: pass.size };
    await this.sink.write(localHeader(fields, sizes, pass.size >= MAX_UINT32));
    let crc = 0;
    let copied = 0;
    try {
      const handle = await fs.open(entry.path, 'r');
      try {
        while (copied < pass.size) {
          throwIfAborted(this.signal);
          // a fresh buffer each time: the sink keeps chunks until its batch is written
          const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, pass.size - copied));
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, copied);
          if (bytesRead === 0) {
            break;
          }
          const chunk = buffer.subarray(0, bytesRead);
          crc = crc32(chunk, crc);
          copied += bytesRead;
          await this.sink.write(chunk);
          this.progress.bytes += bytesRead;
          this.progress.tick();
        }
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw (error as NodeJS.ErrnoException).code === undefined ? error : unreadable(entry.path, error);
    }
    if (copied !== pass.size || crc !== pass.crc) {
      throw changedWhilePackaging(entry.path);
    }
    this.central.add(centralHeader(fields, sizes, offset));
  }

  async finish(): Promise<void> {
    await this.central.writeTo(this.sink);
  }
}

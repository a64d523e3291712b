import * as fs from 'fs';
import { Readable } from 'stream';
import { promisify } from 'util';
import * as yauzl from 'yauzl';

const openFd = promisify(fs.open);
const fstat = promisify(fs.fstat);
const closeFd = promisify(fs.close);

const BLOCK_BYTES = 1 << 20;
/** the central directory, and the local headers of the few entries being unpacked at once */
const BLOCKS_KEPT = 4;

type Block = Buffer | Promise<Buffer>;

/**
 * A file reader for yauzl that serves small reads (central directory records, local headers,
 * small entries) from 1 MiB blocks read once, aligned, the last few kept. yauzl's own reader makes
 * a file system round trip per record, several per entry: for a zip of 70,000 small files, most of
 * the time spent unpacking it.
 */
export class CachedFileReader extends yauzl.RandomAccessReader {
  /** by block index, least recently used first */
  private readonly blocks = new Map<number, Block>();

  constructor(
    private readonly fd: number,
    private readonly size: number,
  ) {
    super();
  }

  /** A plain descriptor, not a FileHandle (which would close it when garbage collected). */
  static async open(file: string): Promise<{ reader: CachedFileReader; size: number }> {
    const fd = await openFd(file, 'r');
    try {
      const { size } = await fstat(fd);
      return { reader: new CachedFileReader(fd, size), size };
    } catch (error) {
      await closeFd(fd);
      throw error;
    }
  }

  /** For a zip yauzl refused to open: it never took the reader, so nothing else closes it. */
  async discard(): Promise<void> {
    await closeFd(this.fd);
  }

  /** The bytes [position, position + length), fewer at the end of the file. */
  readAt(position: number, length: number): Promise<Buffer> {
    return Promise.resolve(this.cached(position, position + length) ?? this.readRange(position, length));
  }

  private readRange(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    return new Promise((resolve, reject) =>
      fs.read(this.fd, buffer, 0, length, position, (error, bytesRead) => {
        if (error) {
          reject(error);
        } else {
          resolve(buffer.subarray(0, bytesRead));
        }
      }),
    );
  }

  private block(index: number): Block {
    let block = this.blocks.get(index);
    if (block === undefined) {
      const start = index * BLOCK_BYTES;
      const loading = this.readRange(start, Math.min(BLOCK_BYTES, this.size - start));
      block = loading;
      void loading.then(
        (buffer) => this.blocks.get(index) === loading && this.blocks.set(index, buffer),
        () => this.blocks.delete(index),
      );
      if (this.blocks.size >= BLOCKS_KEPT) {
        this.blocks.delete(this.blocks.keys().next().value!);
      }
    } else {
      this.blocks.delete(index);
    }
    this.blocks.set(index, block);
    return block;
  }

  /** The bytes [start, end) if they lie in one block, else undefined. */
  private cached(start: number, end: number): Block | undefined {
    const index = Math.floor(start / BLOCK_BYTES);
    if (end > (index + 1) * BLOCK_BYTES || end > this.size) {
      return undefined;
    }
    const block = this.block(index);
    const slice = (b: Buffer) => b.subarray(start - index * BLOCK_BYTES, end - index * BLOCK_BYTES);
    return Buffer.isBuffer(block) ? slice(block) : block.then(slice);
  }

  read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    const source = this.cached(position, position + length) ?? this.readRange(position, length);
    Promise.resolve(source).then(
      (bytes) => {
        if (bytes.length < length) {
          callback(new Error('unexpected end of file: the zip is truncated'));
        } else {
          bytes.copy(buffer, offset);
          callback(null);
        }
      },
      (error: Error) => callback(error),
    );
  }

  /** Entry data: from a block when it lies in one (small entries do), else positional reads. */
  _readStreamForRange(start: number, end: number): Readable {
    const cached = this.cached(start, end);
    if (cached !== undefined) {
      return Readable.from(
        (async function* () {
          yield await cached;
        })(),
        { objectMode: false },
      );
    }
    // not fs.createReadStream: destroying it would close the shared descriptor
    let position = start;
    const fd = this.fd;
    return new Readable({
      highWaterMark: BLOCK_BYTES,
      read(size) {
        const length = Math.min(size, end - position);
        if (length <= 0) {
          this.push(null);
          return;
        }
        const buffer = Buffer.allocUnsafe(length);
        fs.read(fd, buffer, 0, length, position, (error, bytesRead) => {
          if (error || bytesRead === 0) {
            this.destroy(error ?? new Error('unexpected end of file: the zip is truncated'));
            return;
          }
          position += bytesRead;
          this.push(buffer.subarray(0, bytesRead));
        });
      },
    });
  }

  close(callback: (err: Error | null) => void): void {
    fs.close(this.fd, callback);
  }
}

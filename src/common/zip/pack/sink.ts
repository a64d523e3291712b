import { createHash, type Hash } from 'crypto';
import { once } from 'events';
import * as fs from 'fs/promises';
import type { FileId } from './walk';

/** Where the zip goes: counts and hashes every byte on the way, so no second pass is needed. */
export interface ZipSink {
  /** bytes written so far: the offset of the next record */
  readonly offset: number;
  /** the file being written, so the walk can leave it out when it is inside the folder */
  readonly fileId: FileId | undefined;
  write(chunk: Buffer): Promise<void>;
  /** Flushes, syncs a file to disk, and returns the sha256 of everything written. */
  finish(): Promise<string>;
  /** Stops after a failure: a file is closed and deleted, a stream is left to its owner. */
  abort(): Promise<void>;
}

// small records (headers) are gathered into one writev of about this size
const FILE_BATCH_BYTES = 1 << 20;

abstract class HashingSink {
  private readonly hash: Hash = createHash('sha256');
  offset = 0;

  protected count(chunk: Buffer): void {
    this.hash.update(chunk);
    this.offset += chunk.length;
  }

  protected digest(): string {
    return this.hash.digest('hex');
  }
}

class FileSink extends HashingSink implements ZipSink {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inFlight: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly file: string,
    private readonly handle: fs.FileHandle,
    readonly fileId: FileId,
  ) {
    super();
  }

  async write(chunk: Buffer): Promise<void> {
    this.count(chunk);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= FILE_BATCH_BYTES) {
      // one batch in flight while the next one gathers: writing overlaps compressing
      await this.inFlight;
      this.check();
      this.inFlight = this.flush();
    }
  }

  private check(): void {
    if (this.failure !== undefined) {
      throw this.failure;
    }
  }

  private async flush(): Promise<void> {
    const buffers = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      // writev may write less than asked: resume from the first byte not written
      let first = 0;
      while (first < buffers.length) {
        let { bytesWritten } = await this.handle.writev(buffers.slice(first));
        while (first < buffers.length && bytesWritten >= buffers[first].length) {
          bytesWritten -= buffers[first].length;
          first++;
        }
        if (bytesWritten > 0) {
          buffers[first] = buffers[first].subarray(bytesWritten);
        }
      }
    } catch (error) {
      this.failure = error;
    }
  }

  async finish(): Promise<string> {
    await this.inFlight;
    this.check();
    await this.flush();
    this.check();
    await this.handle.sync();
    await this.handle.close();
    return this.digest();
  }

  async abort(): Promise<void> {
    await this.inFlight;
    await this.handle.close().catch(() => undefined);
    await fs.rm(this.file, { force: true });
  }
}

class StreamSink extends HashingSink implements ZipSink {
  readonly fileId = undefined;
  private failure: unknown;
  private readonly onError = (error: unknown) => (this.failure ??= error);

  constructor(private readonly stream: NodeJS.WritableStream) {
    super();
    stream.on('error', this.onError);
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.failure !== undefined) {
      throw this.failure;
    }
    this.count(chunk);
    if (!this.stream.write(chunk)) {
      await once(this.stream, 'drain');
    }
  }

  async finish(): Promise<string> {
    if (this.failure !== undefined) {
      throw this.failure;
    }
    const finished = once(this.stream, 'finish');
    this.stream.end();
    await finished;
    this.stream.off('error', this.onError);
    return this.digest();
  }

  async abort(): Promise<void> {
    this.stream.off('error', this.onError);
  }
}

/** A sink for a file path (created or truncated) or for a writable stream (ended when done). */
export async function openSink(out: NodeJS.WritableStream | string): Promise<ZipSink> {
  if (typeof out !== 'string') {
    return new StreamSink(out);
  }
  const handle = await fs.open(out, 'w');
  try {
    const stats = await handle.stat({ bigint: true });
    return new FileSink(out, handle, { dev: stats.dev, ino: stats.ino });
  } catch (error) {
    await handle.close();
    throw error;
  }
}

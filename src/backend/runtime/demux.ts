import { Transform, type Readable, type TransformCallback } from 'stream';

/**
 * Strips the 8-byte frame headers of Docker's multiplexed output (non-TTY containers), keeping stdout
 * and stderr interleaved as they were written. Written by hand because docker-modem's demuxStream
 * needs two writable targets and copies every frame; this one slices the incoming buffers.
 */
export class DockerDemux extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  /** payload bytes still to pass through from the current frame */
  private remaining = 0;

  _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    // one push per incoming chunk: a line-per-frame stream would otherwise cost a push per line
    const payload: Buffer[] = [];
    while (buf.length > 0) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, buf.length);
        payload.push(buf.subarray(0, take));
        this.remaining -= take;
        buf = buf.subarray(take);
        continue;
      }
      if (buf.length < 8) {
        this.pending = Buffer.from(buf);
        break;
      }
      this.remaining = buf.readUInt32BE(4);
      buf = buf.subarray(8);
    }
    if (payload.length > 0) {
      this.push(payload.length === 1 ? payload[0] : Buffer.concat(payload));
    }
    done();
  }
}

/**
 * The plain output of an engine's log answer: a whole body (Buffer) or a stream, demultiplexed. A
 * reader that goes away (destroys the output) closes the engine's request too: piping alone would
 * leave it open, following, until the container or service stops.
 */
export function demuxed(raw: NodeJS.ReadableStream | Buffer): Readable {
  const demux = new DockerDemux();
  if (Buffer.isBuffer(raw)) {
    demux.end(raw);
    return demux;
  }
  raw.on('error', (e: Error) => demux.destroy(e));
  demux.once('close', () => (raw as Readable).destroy());
  return raw.pipe(demux);
}

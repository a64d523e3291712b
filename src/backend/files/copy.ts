import { createHash } from 'crypto';
import * as fs from 'fs';
import { Transform } from 'stream';
import { pipeline } from 'stream/promises';

/**
 * Copies one file to `target` (a temp path of the blob store), hashing it on the way, and syncs it
 * to disk. Returns the sha256 (hex) of the content.
 */
export async function copyHashed(
  source: string,
  target: string,
  signal?: AbortSignal,
  progress: (bytes: number) => void = () => undefined,
): Promise<string> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      progress(bytes);
      done(null, chunk);
    },
  });
  const out = fs.createWriteStream(target, { mode: 0o600 });
  await pipeline(fs.createReadStream(source, { highWaterMark: 1024 * 1024 }), tap, out, { signal });
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

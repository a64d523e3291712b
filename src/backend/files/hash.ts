import { createHash } from 'crypto';
import * as fs from 'fs/promises';

/** Big reads: a syscall and a thread-pool round trip per MiB instead of per 64 KiB (the stream default). */
const CHUNK_BYTES = 1 << 20;

function abortError(): Error {
  const error = new Error('Hashing was cancelled.');
  error.name = 'AbortError';
  return error;
}

/**
 * sha256 of a file, hex. Reads the next chunk while hashing the current one (two buffers, reused),
 * so the disk and the CPU work at the same time.
 */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  if (signal?.aborted) {
    throw abortError();
  }
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    const buffers = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)];
    let position = 0;
    let turn = 0;
    let reading = handle.read(buffers[turn], 0, CHUNK_BYTES, position);
    for (;;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) {
        return hash.digest('hex');
      }
      if (signal?.aborted) {
        throw abortError();
      }
      const current = buffers[turn];
      position += bytesRead;
      turn = 1 - turn;
      reading = handle.read(buffers[turn], 0, CHUNK_BYTES, position);
      hash.update(current.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

import { promisify } from 'util';
import * as zlib from 'zlib';

const deflateRaw = promisify(zlib.deflateRaw) as (buf: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

/** deflate output per thread-pool round trip: large, so a chunk needs one or two trips, not dozens */
const OUTPUT_CHUNK_BYTES = 256 << 10;
/**
 * Up to this size, deflating on the main thread costs less than the round trip to the thread pool
 * (about 50 us, measured; zlib's setup dominates for small inputs), so tiny inputs are deflated there.
 */
const SYNC_DEFLATE_BYTES = 16 << 10;
/** the sample that decides whether data is worth deflating */
const PROBE_BYTES = 16 << 10;
/** below this ratio (deflated / raw) on the sample, the data is deflated */
const PROBE_RATIO = 0.97;
const MAX_STORED_BLOCK = 0xffff;

/** Deflates on the thread pool, with an output buffer sized to the input (not 256 KiB per tiny file). */
function deflate(raw: Buffer, options: zlib.ZlibOptions): Promise<Buffer> | Buffer {
  const chunkSize = Math.min(OUTPUT_CHUNK_BYTES, raw.length + (raw.length >> 8) + 64);
  if (raw.length <= SYNC_DEFLATE_BYTES) {
    return zlib.deflateRawSync(raw, { ...options, chunkSize });
  }
  return deflateRaw(raw, { ...options, chunkSize });
}

/**
 * Whether deflating `raw` would be wasted: random-looking data (encrypted, compressed, float noise)
 * costs deflate as much time as text and shrinks by nothing. Judged from a fast (level 1) deflate of
 * a 16 KiB sample, which costs about 1% of deflating a 1 MiB chunk at level 6.
 */
function looksIncompressible(raw: Buffer): boolean {
  if (raw.length <= SYNC_DEFLATE_BYTES) {
    return false; // deflating it costs less than sampling it
  }
  const sample = raw.subarray(0, PROBE_BYTES);
  return zlib.deflateRawSync(sample, { level: 1, chunkSize: PROBE_BYTES + 1024 }).length >= sample.length * PROBE_RATIO;
}

/**
 * `raw` as deflate "stored" blocks: valid deflate data that copies the bytes as they are. The block
 * headers are byte-aligned, which holds at the start of a chunk (after a sync flush or at the start).
 */
export function storedBlocks(raw: Buffer, final: boolean): Buffer {
  const blocks = Math.max(1, Math.ceil(raw.length / MAX_STORED_BLOCK));
  const out = Buffer.allocUnsafe(raw.length + 5 * blocks);
  let at = 0;
  for (let b = 0; b < blocks; b++) {
    const piece = raw.subarray(b * MAX_STORED_BLOCK, (b + 1) * MAX_STORED_BLOCK);
    out[at] = final && b === blocks - 1 ? 1 : 0; // BFINAL, BTYPE 00 (stored)
    out.writeUInt16LE(piece.length, at + 1);
    out.writeUInt16LE(~piece.length & 0xffff, at + 3);
    piece.copy(out, at + 5);
    at += 5 + piece.length;
  }
  return out;
}

/** A whole file deflated, or undefined when it is not worth it (then the entry is stored). */
export async function deflateWhole(raw: Buffer, level: number, probe = true): Promise<Buffer | undefined> {
  if (raw.length === 0 || (probe && looksIncompressible(raw))) {
    return undefined;
  }
  const deflated = await deflate(raw, { level });
  // like zip, store what deflate did not shrink
  return deflated.length < raw.length ? deflated : undefined;
}

/**
 * One chunk of a big file as a piece of its deflate stream: compressed with the previous 32 KiB as
 * dictionary and ended by a sync flush (byte-aligned, not final), or by the final block for the
 * last chunk; stored blocks when the chunk looks incompressible.
 */
export async function deflateChunk(
  raw: Buffer,
  level: number,
  dictionary: Buffer | undefined,
  last: boolean,
  probe = true,
) {
  if (probe && looksIncompressible(raw)) {
    return storedBlocks(raw, last);
  }
  const options: zlib.ZlibOptions = {
    level,
    finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
  };
  if (dictionary !== undefined && dictionary.length > 0) {
    options.dictionary = dictionary;
  }
  return deflate(raw, options);
}

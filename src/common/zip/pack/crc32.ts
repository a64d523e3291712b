import * as zlib from 'zlib';

/** CRC-32 (the zip/gzip polynomial) of `data`, continuing from `previous`. */
export type Crc32 = (data: Uint8Array, previous?: number) => number;

// zlib.crc32 (native, SIMD) exists from Node 20.15; the Node inside VS Code's Electron may be older,
// so a table-driven (slice-by-8) fallback keeps the packager working there, at a fraction of the speed.
const native = (zlib as unknown as { crc32?: Crc32 }).crc32;

function makeTables(): Uint32Array[] {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    for (let t = 1; t < 8; t++) {
      const prev = tables[t - 1][n];
      tables[t][n] = (tables[0][prev & 0xff] ^ (prev >>> 8)) >>> 0;
    }
  }
  return tables;
}

let tables: Uint32Array[] | undefined;

/** The portable implementation; exported so tests can check it against the native one. */
export function crc32Portable(data: Uint8Array, previous = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = (tables ??= makeTables());
  let crc = ~previous >>> 0;
  let i = 0;
  const end8 = data.length - (data.length % 8);
  for (; i < end8; i += 8) {
    const a = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) ^ crc;
    crc =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[data[i + 4]] ^
      t2[data[i + 5]] ^
      t1[data[i + 6]] ^
      t0[data[i + 7]];
  }
  for (; i < data.length; i++) {
    crc = t0[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  }
  return ~crc >>> 0;
}

export const crc32: Crc32 = native ?? crc32Portable;

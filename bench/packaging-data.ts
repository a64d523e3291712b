/** The packaging benchmark's data: generated once (seeded, so the same every time) and cached. */
import { createCipheriv } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const DATA_ROOT = path.join(os.tmpdir(), 'mllab-bench-data');
const KiB = 1024;
const MiB = 1024 * KiB;

/** mulberry32: a small seeded PRNG */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded incompressible bytes: AES-CTR over zeros, fast (GB/s) and the same for the same seed. */
function randomBytes(size: number, seed: number): Buffer {
  const key = Buffer.alloc(16);
  key.writeUInt32LE(seed, 0);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

const WORDS = ['train', 'test', 'validation', 'cat', 'dog', 'bird', 'positive', 'negative', 'neutral', 'unknown'];

/** Table-like text (CSV or JSON lines) of `size` bytes: compresses about 3-4:1, as real tables do. */
function tableText(size: number, seed: number, json: boolean): Buffer {
  const next = prng(seed);
  const parts: string[] = [json ? '' : 'id,split,label,score,count,timestamp\n'];
  let length = parts[0].length;
  for (let i = 0; length < size; i++) {
    const split = WORDS[Math.floor(next() * 3)];
    const label = WORDS[3 + Math.floor(next() * 7)];
    const score = next().toFixed(6);
    const count = Math.floor(next() * 100000);
    const ts = 1700000000 + Math.floor(next() * 1e7);
    const line = json
      ? `{"id":${i},"split":"${split}","label":"${label}","score":${score},"count":${count},"ts":${ts}}\n`
      : `${i},${split},${label},${score},${count},${ts}\n`;
    parts.push(line);
    length += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

/** Log-uniform size between `min` and `max`. */
const logUniform = (next: () => number, min: number, max: number) => Math.round(min * Math.pow(max / min, next()));

/**
 * 10,000 files, about 1 GB: half table text (.csv/.jsonl, compressible), half random bytes (.bin),
 * in 100 folders; most files 4-256 KB, 3% of them 256 KB-4 MB (which hold about 40% of the bytes).
 */
export function packagingFolder(): string {
  const folder = path.join(DATA_ROOT, 'pack-10k');
  const done = `${folder}.complete`;
  if (fs.existsSync(done)) {
    return folder;
  }
  fs.rmSync(folder, { recursive: true, force: true });
  const next = prng(42);
  for (let i = 0; i < 10_000; i++) {
    const dir = path.join(folder, `part-${String(i % 100).padStart(3, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    const size = next() < 0.03 ? logUniform(next, 256 * KiB, 4 * MiB) : logUniform(next, 4 * KiB, 256 * KiB);
    const kind = i % 4;
    const name = `file-${String(i).padStart(5, '0')}`;
    if (kind < 2) {
      fs.writeFileSync(path.join(dir, `${name}.bin`), randomBytes(size, i));
    } else {
      fs.writeFileSync(path.join(dir, `${name}.${kind === 2 ? 'csv' : 'jsonl'}`), tableText(size, i, kind === 3));
    }
  }
  fs.writeFileSync(done, new Date().toISOString());
  return folder;
}

/** One file of 1 GiB of random bytes, for hashing. */
export function hashingFile(): string {
  const file = path.join(DATA_ROOT, 'hash-1g.bin');
  const done = `${file}.complete`;
  if (!fs.existsSync(done)) {
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < 64; i++) {
      fs.writeSync(fd, randomBytes(16 * MiB, 1000 + i));
    }
    fs.closeSync(fd);
    fs.writeFileSync(done, new Date().toISOString());
  }
  return file;
}

/** Total size of the files under `folder`. */
export function folderBytes(folder: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const entry of fs.readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) {
      files++;
      bytes += fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).size;
    }
  }
  return { files, bytes };
}

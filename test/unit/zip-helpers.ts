/** Helpers of the zip tests: folders to package, comparing trees, and zips crafted byte by byte. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { crc32 } from '../../src/backend/files/zip/crc32';
import {
  centralHeader,
  endOfCentralDirectory,
  localHeader,
  METHOD_DEFLATED,
  METHOD_STORED,
} from '../../src/backend/files/zip/zip-format';

export function tempDir(prefix = 'mllab-zip-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A seeded PRNG (mulberry32): the same "random" files on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Incompressible bytes, seeded. */
export function randomBytesSeeded(size: number, seed: number): Buffer {
  const next = prng(seed);
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i + 4 <= size; i += 4) {
    b.writeUInt32LE(Math.floor(next() * 4294967296), i);
  }
  for (let i = size - (size % 4); i < size; i++) {
    b[i] = Math.floor(next() * 256);
  }
  return b;
}

/** CSV-like text of about `size` bytes: compresses about 3:1, as real tables do. */
export function csvText(size: number, seed: number): Buffer {
  const next = prng(seed);
  const words = ['alpha', 'beta', 'gamma', 'delta', 'train', 'test', 'label', 'cat', 'dog'];
  const lines: string[] = ['id,word,score,count'];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = `${i},${words[Math.floor(next() * words.length)]},${next().toFixed(6)},${Math.floor(next() * 1e5)}`;
    lines.push(line);
    length += line.length + 1;
  }
  return Buffer.from(lines.join('\n')).subarray(0, size);
}

export type TreeItem = { kind: 'file'; content: Buffer } | { kind: 'dir' } | { kind: 'link'; target: string };

/** Every file, folder and link under `root`, by relative path with '/' separators. */
export function readTree(root: string): Map<string, TreeItem> {
  const tree = new Map<string, TreeItem>();
  const visit = (dir: string, prefix: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const rel = prefix + entry.name;
      if (entry.isSymbolicLink()) {
        tree.set(rel, { kind: 'link', target: fs.readlinkSync(full) });
      } else if (entry.isDirectory()) {
        tree.set(rel, { kind: 'dir' });
        visit(full, `${rel}/`);
      } else {
        tree.set(rel, { kind: 'file', content: fs.readFileSync(full) });
      }
    }
  };
  visit(root, '');
  return tree;
}

/** Differences between two trees, described (empty when byte-identical). */
export function treeDifferences(expected: Map<string, TreeItem>, actual: Map<string, TreeItem>): string[] {
  const problems: string[] = [];
  for (const [name, item] of expected) {
    const other = actual.get(name);
    if (other === undefined) {
      problems.push(`missing: ${name}`);
    } else if (other.kind !== item.kind) {
      problems.push(`${name}: ${item.kind} became ${other.kind}`);
    } else if (item.kind === 'file' && !item.content.equals((other as { content: Buffer }).content)) {
      problems.push(`${name}: content differs`);
    }
  }
  for (const name of actual.keys()) {
    if (!expected.has(name)) {
      problems.push(`unexpected: ${name}`);
    }
  }
  return problems;
}

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

export interface CraftedEntry {
  readonly name: string;
  readonly data?: Buffer;
  /** unix st_mode; default a regular 0644 file (0755 folder when the name ends with '/') */
  readonly mode?: number;
  readonly deflate?: boolean;
  /** a lie for the central directory and local header */
  readonly declaredSize?: number;
}

/** A zip made of exactly these entries, whatever they say: for testing what the unpacker refuses. */
export function craftZip(entries: readonly CraftedEntry[], options: { forceZip64?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const raw = e.data ?? Buffer.alloc(0);
    const data = e.deflate ? zlib.deflateRawSync(raw) : raw;
    const isDirectory = e.name.endsWith('/');
    const fields = {
      name: Buffer.from(e.name),
      method: e.deflate ? METHOD_DEFLATED : METHOD_STORED,
      isDirectory,
      mtime: new Date(2024, 0, 2, 3, 4, 6),
      mode: e.mode ?? (isDirectory ? 0o40755 : 0o100644),
    };
    const sizes = { crc: crc32(raw), size: e.declaredSize ?? raw.length, compressedSize: data.length };
    const local = localHeader(fields, sizes, options.forceZip64 === true);
    central.push(centralHeader(fields, sizes, offset, { forceZip64: options.forceZip64 }));
    parts.push(local, data);
    offset += local.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = endOfCentralDirectory({ entries: entries.length, offset, size: directory.length }, options);
  return Buffer.concat([...parts, directory, end]);
}

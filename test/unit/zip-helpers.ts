/** Helpers of the zip tests: folders to package, comparing trees, and zips crafted byte by byte. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { crc32 } from '../../src/common/zip/pack/crc32';
import { removeInBackground } from './cleanup';
import {
  centralHeader,
  endOfCentralDirectory,
  localHeader,
  METHOD_DEFLATED,
  METHOD_STORED,
} from '../../src/common/zip/pack/zip-format';

export function tempDir(prefix = 'mllab-zip-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => removeInBackground(dir) };
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
export function craftZip(
  entries: readonly CraftedEntry[],
  options: { forceZip64?: boolean; /** an entry count for the end records, a lie */ claimEntries?: number } = {},
): Buffer {
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
  const count = options.claimEntries ?? entries.length;
  const end = endOfCentralDirectory({ entries: count, offset, size: directory.length }, options);
  return Buffer.concat([...parts, directory, end]);
}

/** One entry of rawZip: every field that the headers hold, byte by byte (APPNOTE.TXT 4.3.7, 4.3.12). */
export interface RawEntry {
  /** the name in the central directory (a string is written as UTF-8 bytes) */
  readonly name: Buffer | string;
  /** the name in the local header; default the central one */
  readonly localName?: Buffer | string;
  readonly data?: Buffer;
  readonly deflate?: boolean;
  /** general purpose bit flag; default 0 (so no UTF-8 flag) */
  readonly flags?: number;
  /** host system (upper byte of "version made by"); default 3, unix */
  readonly host?: number;
  /** unix st_mode in the external attributes (unix and macOS hosts); default a 0644 file */
  readonly mode?: number;
  /** extra fields of the central header (the local header gets none) */
  readonly extra?: Buffer;
  /** lies for both headers */
  readonly size?: number;
  readonly compressedSize?: number;
  /** the central directory entry points at the local header of this earlier entry */
  readonly sharesLocalHeaderOf?: number;
  /** compression method in both headers; default 8 when `deflate`, else 0 */
  readonly method?: number;
  /** a CRC-32 for both headers; default the data's */
  readonly crc?: number;
}

/** Overrides of the end of central directory record (APPNOTE.TXT 4.3.16). */
export interface RawEnd {
  readonly disk?: number;
  readonly directoryDisk?: number;
  readonly entriesOnDisk?: number;
  /** default the number of entries written */
  readonly totalEntries?: number;
  readonly comment?: Buffer;
  /** default the comment's length */
  readonly commentLength?: number;
  /** bytes after the record */
  readonly trailing?: Buffer;
}

const bytesOf = (name: Buffer | string) => (typeof name === 'string' ? Buffer.from(name) : name);

/** A zip written field by field, for the cases that the encoders of the packager never write. */
export function rawZip(entries: readonly RawEntry[], end: RawEnd = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  for (const e of entries) {
    const raw = e.data ?? Buffer.alloc(0);
    const data = e.deflate ? zlib.deflateRawSync(raw) : raw;
    const name = bytesOf(e.name);
    const localName = bytesOf(e.localName ?? e.name);
    const method = e.method ?? (e.deflate ? 8 : 0);
    const crc = e.crc ?? zlib.crc32(raw);
    const size = e.size ?? raw.length;
    const compressedSize = e.compressedSize ?? data.length;
    const flags = e.flags ?? 0;
    const extra = e.extra ?? Buffer.alloc(0);
    let headerOffset = offset;
    if (e.sharesLocalHeaderOf === undefined) {
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(flags, 6);
      local.writeUInt16LE(method, 8);
      local.writeUInt16LE(0, 10); // 00:00:00
      local.writeUInt16LE((44 << 9) | (1 << 5) | 2, 12); // 2024-01-02
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(compressedSize, 18);
      local.writeUInt32LE(size, 22);
      local.writeUInt16LE(localName.length, 26);
      local.writeUInt16LE(0, 28);
      parts.push(local, localName, data);
      offset += local.length + localName.length + data.length;
    } else {
      headerOffset = offsets[e.sharesLocalHeaderOf];
    }
    offsets.push(headerOffset);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(((e.host ?? 3) << 8) | 30, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(flags, 8);
    c.writeUInt16LE(method, 10);
    c.writeUInt16LE(0, 12);
    c.writeUInt16LE((44 << 9) | (1 << 5) | 2, 14);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(compressedSize, 20);
    c.writeUInt32LE(size, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(extra.length, 30);
    c.writeUInt16LE(0, 32); // comment length
    c.writeUInt16LE(0, 34); // disk number start
    c.writeUInt16LE(0, 36); // internal attributes
    const isDirectory = /[\\/]$/.test(name.toString('latin1'));
    c.writeUInt32LE(((e.mode ?? (isDirectory ? 0o40755 : 0o100644)) << 16) >>> 0, 38);
    c.writeUInt32LE(headerOffset, 42);
    central.push(c, name, extra);
  }
  const directory = Buffer.concat(central);
  const comment = end.comment ?? Buffer.alloc(0);
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  record.writeUInt16LE(end.disk ?? 0, 4);
  record.writeUInt16LE(end.directoryDisk ?? 0, 6);
  record.writeUInt16LE(end.entriesOnDisk ?? end.totalEntries ?? entries.length, 8);
  record.writeUInt16LE(end.totalEntries ?? entries.length, 10);
  record.writeUInt32LE(directory.length, 12);
  record.writeUInt32LE(offset, 16);
  record.writeUInt16LE(end.commentLength ?? comment.length, 20);
  return Buffer.concat([...parts, directory, record, comment, end.trailing ?? Buffer.alloc(0)]);
}

/** The Info-ZIP Unicode Path extra field (0x7075) for a header name; `crcOf` lets a test make it stale. */
export function unicodePathField(name: string, headerName: Buffer, options: { version?: number; crcOf?: Buffer } = {}) {
  const utf8 = Buffer.from(name);
  const field = Buffer.alloc(9 + utf8.length);
  field.writeUInt16LE(0x7075, 0);
  field.writeUInt16LE(5 + utf8.length, 2);
  field.writeUInt8(options.version ?? 1, 4);
  field.writeUInt32LE(zlib.crc32(options.crcOf ?? headerName), 5);
  utf8.copy(field, 9);
  return field;
}

/**
 * What the Python client's unpacker makes of a zip: the tree it wrote, or its error. The same
 * cases go through both unpackers, which must agree.
 */
export function pythonUnpack(zipFile: string, dest: string, env: NodeJS.ProcessEnv = {}): { error?: string } {
  const script = [
    'import json, os, sys',
    'sys.path.insert(0, sys.argv[1])',
    'from mllab import _unzip, MLLabError',
    'os.makedirs(sys.argv[3])',
    'try:',
    '    _unzip.extract(sys.argv[2], sys.argv[3], max_bytes=_unzip.max_unpack_bytes())',
    '    print(json.dumps({}))',
    'except MLLabError as e:',
    '    print(json.dumps({"error": str(e), "code": e.code}))',
  ].join('\n');
  const pythonDir = path.join(__dirname, '..', '..', '..', 'python');
  const run = spawnSync('python3', ['-c', script, pythonDir, zipFile, dest], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  if (run.status !== 0) {
    throw new Error(`python3 failed: ${run.stderr}`);
  }
  return JSON.parse(run.stdout) as { error?: string };
}

export interface PythonUnpackJob {
  readonly zip: string;
  /** created by the script, as unpack_cached creates its temporary folder */
  readonly dest: string;
  /** default the client's limits */
  readonly maxBytes?: number;
  readonly maxEntries?: number;
}

/** pythonUnpack for many zips in one Python process: an error message and code, or {} each. */
export function pythonUnpackMany(jobs: readonly PythonUnpackJob[]): Array<{ error?: string; code?: string }> {
  const script = [
    'import json, os, sys',
    'sys.path.insert(0, sys.argv[1])',
    'from mllab import _unzip, MLLabError',
    'results = []',
    'for job in json.load(sys.stdin):',
    '    os.makedirs(job["dest"])',
    '    try:',
    '        _unzip.extract(job["zip"], job["dest"], max_bytes=job.get("maxBytes") or _unzip.DEFAULT_MAX_UNPACK_BYTES,',
    '                       max_entries=job.get("maxEntries") or _unzip.MAX_ENTRIES)',
    '        results.append({})',
    '    except MLLabError as e:',
    '        results.append({"error": str(e), "code": e.code})',
    '    except Exception as e:',
    '        results.append({"error": f"{type(e).__name__}: {e}", "code": "crash"})',
    'print(json.dumps(results))',
  ].join('\n');
  const pythonDir = path.join(__dirname, '..', '..', '..', 'python');
  const run = spawnSync('python3', ['-c', script, pythonDir], {
    input: JSON.stringify(jobs),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (run.status !== 0) {
    throw new Error(`python3 failed: ${run.stderr}`);
  }
  return JSON.parse(run.stdout) as Array<{ error?: string; code?: string }>;
}

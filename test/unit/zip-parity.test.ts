/**
 * Parity of the two unpackers (issue 18): every case, refused or accepted, goes through the Node
 * client's unpacker and the Python client's, which must both refuse it with the same kind of error
 * (a damaged zip, an unsafe one, one that does not fit) or both unpack it to the same files.
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BadZipError, DiskSpaceError, unzipSafe, UnsafeZipError } from '../../src/common/zip/safe-unzip';
import {
  entryPath,
  MAX_ENTRY_DEPTH,
  MAX_ENTRY_PATH_BYTES,
  MAX_NAME_PART_BYTES,
} from '../../src/common/zip/entry-paths';
import { EntryTree } from '../../src/common/zip/entry-tree';
import { REPO } from './helpers';
import { craftZip, pythonUnpackMany, rawZip, readTree, tempDir, treeDifferences, type RawEntry } from './zip-helpers';

const MiB = 1 << 20;
const LINK = 0o120777;
const FOLDER = 0o40755;
const FLAG_ENCRYPTED = 0x1;
const FLAG_UTF8 = 0x800;

type Kind = 'accepted' | 'damaged' | 'unsafe' | 'no space';

interface Case {
  readonly what: string;
  readonly zip: () => Buffer;
  readonly expect: Kind;
  /** text both error messages must contain (the entry they name) */
  readonly names?: string;
  readonly maxTotalBytes?: number;
  readonly maxEntries?: number;
}

const file = (name: string, data = 'x', more: Partial<RawEntry> = {}): RawEntry => ({
  name,
  data: Buffer.from(data),
  ...more,
});
const link = (name: string, target: string | Buffer): RawEntry => ({
  name,
  data: typeof target === 'string' ? Buffer.from(target) : target,
  mode: LINK,
});
const folder = (name: string): RawEntry => ({ name, mode: FOLDER });
const zipOf =
  (...entries: RawEntry[]) =>
  () =>
    rawZip(entries);

/** A path of exactly `bytes` UTF-8 bytes, in components of at most 200 bytes. */
function pathOfBytes(bytes: number): string {
  const parts: string[] = [];
  let left = bytes;
  while (left > 201) {
    parts.push('p'.repeat(200));
    left -= 201;
  }
  parts.push('q'.repeat(left));
  return parts.join('/');
}

const ok = [file('a.txt', 'hello')];

const CASES: readonly Case[] = [
  // names that lead out of the destination, or are no names at all
  { what: 'zip-slip ../evil.txt', zip: zipOf(file('ok.txt'), file('../evil.txt')), expect: 'unsafe', names: 'evil' },
  { what: 'zip-slip a/../../evil.txt', zip: zipOf(file('a/../../evil.txt')), expect: 'unsafe', names: 'evil' },
  { what: 'zip-slip ..\\evil.txt', zip: zipOf(file('..\\evil.txt')), expect: 'unsafe', names: 'evil' },
  { what: 'zip-slip a\\..\\..\\evil.txt', zip: zipOf(file('a\\..\\..\\evil.txt')), expect: 'unsafe', names: 'evil' },
  { what: 'an absolute path /etc/x', zip: zipOf(file('/etc/x')), expect: 'unsafe', names: '/etc/x' },
  { what: 'an absolute path \\x', zip: zipOf(file('\\x')), expect: 'unsafe' },
  { what: 'a drive letter C:\\x', zip: zipOf(file('C:\\x')), expect: 'unsafe' },
  { what: 'a drive letter C:/x', zip: zipOf(file('C:/x')), expect: 'unsafe' },
  { what: 'a drive-like name a:b at the top', zip: zipOf(file('a:b')), expect: 'unsafe' },
  { what: 'a NUL character in a name', zip: zipOf(file('nul\0byte.txt')), expect: 'unsafe' },
  { what: 'an empty file name', zip: zipOf(file('')), expect: 'unsafe' },
  { what: 'a file named .', zip: zipOf(file('.')), expect: 'unsafe' },
  {
    what: 'a name flagged UTF-8 that is not UTF-8',
    zip: zipOf({ name: Buffer.from([0x61, 0xff, 0x62]), flags: FLAG_UTF8, data: Buffer.from('x') }),
    expect: 'damaged',
  },
  {
    what: 'a local header naming another file',
    zip: zipOf({ name: 'report.txt', localName: 'evil.exe', data: Buffer.from('x') }),
    expect: 'damaged',
    names: 'report.txt',
  },
  // the limits on names
  {
    what: `a path ${MAX_ENTRY_DEPTH} levels deep (the limit)`,
    zip: zipOf(file(`${'d/'.repeat(MAX_ENTRY_DEPTH - 1)}f.txt`)),
    expect: 'accepted',
  },
  {
    what: `a path ${MAX_ENTRY_DEPTH + 1} levels deep`,
    zip: zipOf(file(`${'d/'.repeat(MAX_ENTRY_DEPTH)}f.txt`)),
    expect: 'unsafe',
  },
  {
    what: `a folder entry ${MAX_ENTRY_DEPTH + 1} levels deep`,
    zip: zipOf(folder(`${'d/'.repeat(MAX_ENTRY_DEPTH + 1)}`)),
    expect: 'unsafe',
  },
  {
    what: `a name of ${MAX_NAME_PART_BYTES} bytes (the limit), in two-byte characters`,
    zip: zipOf(file(`${'é'.repeat((MAX_NAME_PART_BYTES - 1) / 2)}x`)),
    expect: 'accepted',
  },
  {
    what: `a name of ${MAX_NAME_PART_BYTES + 1} bytes, in two-byte characters`,
    zip: zipOf(file('é'.repeat((MAX_NAME_PART_BYTES + 1) / 2))),
    expect: 'unsafe',
  },
  {
    what: `a folder name of ${MAX_NAME_PART_BYTES + 1} bytes`,
    zip: zipOf(file(`${'n'.repeat(MAX_NAME_PART_BYTES + 1)}/f.txt`)),
    expect: 'unsafe',
  },
  {
    what: `a path of ${MAX_ENTRY_PATH_BYTES} bytes (the limit)`,
    zip: zipOf(file(pathOfBytes(MAX_ENTRY_PATH_BYTES))),
    expect: 'accepted',
  },
  {
    what: `a path of ${MAX_ENTRY_PATH_BYTES + 1} bytes`,
    zip: zipOf(file(pathOfBytes(MAX_ENTRY_PATH_BYTES + 1))),
    expect: 'unsafe',
  },
  // names that collide
  { what: 'a duplicate file', zip: zipOf(file('a.txt', '1'), file('a.txt', '2')), expect: 'unsafe', names: 'a.txt' },
  { what: 'a/b.txt and a/./b.txt', zip: zipOf(file('a/b.txt', '1'), file('a/./b.txt', '2')), expect: 'unsafe' },
  { what: 'a file, then a file inside it', zip: zipOf(file('a'), file('a/b.txt')), expect: 'unsafe' },
  { what: 'a file inside a folder, then a file of its name', zip: zipOf(file('a/b.txt'), file('a')), expect: 'unsafe' },
  { what: 'a folder, then a file of its name', zip: zipOf(folder('a/'), file('a')), expect: 'unsafe' },
  { what: 'a file, then a folder of its name', zip: zipOf(file('a'), folder('a/')), expect: 'unsafe' },
  {
    what: 'a folder listed twice',
    zip: zipOf(folder('a/'), file('a/x.txt'), folder('a/')),
    expect: 'accepted',
  },
  {
    what: 'the root folder listed (./) and names with . components',
    zip: zipOf(folder('./'), file('./a/./b.txt', 'b')),
    expect: 'accepted',
  },
  // symbolic links
  {
    what: 'links that stay inside',
    zip: zipOf(file('sub/target.txt', 't'), link('sub/link.txt', 'target.txt'), link('top', 'sub/target.txt')),
    expect: 'accepted',
  },
  { what: 'a link escaping (../../outside)', zip: zipOf(link('l', '../../outside')), expect: 'unsafe', names: 'l' },
  { what: 'a link up from a folder (a/b/up -> ../../..)', zip: zipOf(link('a/b/up', '../../..')), expect: 'unsafe' },
  { what: 'a link to an absolute path', zip: zipOf(link('etc', '/etc')), expect: 'unsafe', names: 'etc' },
  { what: 'a link to a drive', zip: zipOf(link('c', 'C:/Windows')), expect: 'unsafe' },
  { what: 'a link with a backslash', zip: zipOf(file('sub/f.txt'), link('l', 'sub\\f.txt')), expect: 'unsafe' },
  { what: 'a link to nothing (an empty target)', zip: zipOf(link('l', '')), expect: 'unsafe' },
  { what: 'a link whose target is not UTF-8', zip: zipOf(link('l', Buffer.from([0x61, 0xff]))), expect: 'unsafe' },
  { what: 'a link with a 5000-byte target', zip: zipOf(link('l', 'a/'.repeat(2500))), expect: 'unsafe' },
  {
    what: 'a file written through a link that stays inside',
    zip: zipOf(folder('sub/'), link('dirlink', 'sub'), file('dirlink/file')),
    expect: 'unsafe',
    names: 'dirlink/file',
  },
  {
    what: 'a link through another link (x -> a/b, y -> x/..)',
    zip: zipOf(folder('a/b/'), link('x', 'a/b'), link('y', 'x/..')),
    expect: 'unsafe',
    names: 'y',
  },
  // what cannot be unpacked
  {
    what: 'an encrypted file',
    zip: zipOf(file('secret.txt', 'x', { flags: FLAG_ENCRYPTED })),
    expect: 'unsafe',
    names: 'secret.txt',
  },
  { what: 'an encrypted folder', zip: zipOf({ ...folder('d/'), flags: FLAG_ENCRYPTED }), expect: 'unsafe' },
  {
    what: 'an unknown compression method (12, bzip2)',
    zip: zipOf(file('b.bin', 'x', { method: 12 })),
    expect: 'damaged',
    names: 'b.bin',
  },
  {
    what: 'a folder with an unknown compression method (nothing to decompress)',
    zip: zipOf({ ...folder('d/'), method: 12 }, file('d/f.txt')),
    expect: 'accepted',
  },
  { what: 'a wrong CRC-32', zip: zipOf(file('a.txt', 'hello', { crc: 1234 })), expect: 'damaged', names: 'a.txt' },
  // malformed archives
  { what: 'not a zip', zip: () => Buffer.from('not a zip at all'), expect: 'damaged' },
  { what: 'an empty file', zip: () => Buffer.alloc(0), expect: 'damaged' },
  { what: 'a zip cut short', zip: () => rawZip(ok).subarray(0, 30), expect: 'damaged' },
  {
    what: 'a comment length past the end',
    zip: () => rawZip(ok, { comment: Buffer.from('abc'), commentLength: 10 }),
    expect: 'damaged',
  },
  {
    what: 'bytes after the comment',
    zip: () => rawZip(ok, { comment: Buffer.from('abcdef'), commentLength: 2 }),
    expect: 'damaged',
  },
  { what: 'junk appended', zip: () => rawZip(ok, { trailing: Buffer.from('JUNK') }), expect: 'damaged' },
  {
    what: 'a STORED entry with two sizes',
    zip: zipOf(file('a.txt', 'hello', { compressedSize: 3 })),
    expect: 'damaged',
    names: 'a.txt',
  },
  { what: 'a part of a multi-disk archive', zip: () => rawZip(ok, { disk: 1, directoryDisk: 1 }), expect: 'damaged' },
  { what: 'a central directory on disk 1', zip: () => rawZip(ok, { directoryDisk: 1 }), expect: 'damaged' },
  {
    what: 'fewer entries on this disk',
    zip: () => rawZip([...ok, file('b.txt')], { entriesOnDisk: 1 }),
    expect: 'damaged',
  },
  {
    what: 'deflated data running past the end of the file',
    zip: zipOf(file('a.bin', 'hello', { deflate: true, compressedSize: 100000 })),
    expect: 'damaged',
  },
  // zip bombs and limits
  {
    what: 'an entry inflating to more than declared',
    zip: zipOf({ name: 'liar.bin', data: Buffer.alloc(20 * MiB), deflate: true, size: MiB }),
    expect: 'damaged',
    names: 'liar.bin',
  },
  {
    what: 'an entry inflating to less than declared',
    zip: zipOf({ name: 'short.bin', data: Buffer.alloc(1000), deflate: true, size: 5000 }),
    expect: 'damaged',
    names: 'short.bin',
  },
  {
    what: 'central entries sharing one local header (overlapping files)',
    zip: zipOf(
      { name: 'f0', data: Buffer.alloc(MiB), deflate: true },
      { name: 'f1', data: Buffer.alloc(MiB), deflate: true, sharesLocalHeaderOf: 0 },
    ),
    expect: 'damaged',
    names: 'f1',
  },
  {
    what: 'a total over the byte limit',
    zip: zipOf({ name: 'a.bin', data: Buffer.alloc(MiB), deflate: true }, file('b.bin', 'x')),
    maxTotalBytes: MiB,
    expect: 'unsafe',
  },
  {
    what: 'a total of exactly the byte limit',
    zip: zipOf({ name: 'a.bin', data: Buffer.alloc(MiB - 1), deflate: true }, file('b.bin', 'x')),
    maxTotalBytes: MiB,
    expect: 'accepted',
  },
  {
    what: 'more entries than the limit',
    zip: zipOf(...Array.from({ length: 5 }, (_, i) => file(`f${i}.txt`))),
    maxEntries: 4,
    expect: 'unsafe',
  },
  {
    what: 'exactly the entry limit',
    zip: zipOf(...Array.from({ length: 5 }, (_, i) => file(`f${i}.txt`))),
    maxEntries: 5,
    expect: 'accepted',
  },
  {
    what: 'end records claiming 1,000,001 entries (the default limit is 1,000,000)',
    zip: () => craftZip([{ name: 'a.txt', data: Buffer.from('a') }], { claimEntries: 1_000_001 }),
    expect: 'unsafe',
  },
  {
    what: 'ZIP64 end records and extra fields',
    zip: () =>
      craftZip(
        [
          { name: 'd/', mode: FOLDER },
          { name: 'd/a.bin', data: Buffer.alloc(3 * MiB, 7), deflate: true },
        ],
        {
          forceZip64: true,
        },
      ),
    expect: 'accepted',
  },
];

function nodeKind(error: unknown): Kind | string {
  if (error instanceof DiskSpaceError) {
    return 'no space';
  }
  if (error instanceof BadZipError) {
    return 'damaged';
  }
  if (error instanceof UnsafeZipError) {
    return 'unsafe';
  }
  return `another error (${(error as Error).name}: ${(error as Error).message})`;
}

const PYTHON_KINDS: Record<string, Kind> = {
  bad_package: 'damaged',
  unsafe_package: 'unsafe',
  no_space: 'no space',
};

describe('zip parity: both unpackers refuse (or accept) every case alike', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  let python: Array<{ error?: string; code?: string }>;
  const zips: string[] = [];
  const pyDest = (i: number) => path.join(dir, `python-${i}`);

  before(() => {
    ({ dir, cleanup } = tempDir());
    CASES.forEach((c, i) => {
      zips[i] = path.join(dir, `case-${i}.zip`);
      fs.writeFileSync(zips[i], c.zip());
    });
    python = pythonUnpackMany(
      CASES.map((c, i) => ({ zip: zips[i], dest: pyDest(i), maxBytes: c.maxTotalBytes, maxEntries: c.maxEntries })),
    );
  });
  after(() => cleanup());

  CASES.forEach((c, i) => {
    it(`${c.what}: ${c.expect} by both`, async () => {
      const dest = path.join(dir, `node-${i}`, 'dest');
      let node: Kind | string = 'accepted';
      let nodeMessage = '';
      try {
        await unzipSafe(zips[i], dest, { maxTotalBytes: c.maxTotalBytes, maxEntries: c.maxEntries });
      } catch (error) {
        node = nodeKind(error);
        nodeMessage = (error as Error).message;
      }
      const py = python[i];
      const pyKind = py.code === undefined ? 'accepted' : (PYTHON_KINDS[py.code] ?? `another error (${py.code})`);
      assert.deepStrictEqual(
        { node, python: pyKind },
        { node: c.expect, python: c.expect },
        `Node: ${nodeMessage}\nPython: ${py.error ?? ''}`,
      );
      if (c.expect === 'accepted') {
        assert.deepStrictEqual(treeDifferences(readTree(dest), readTree(pyDest(i))), [], 'the same files');
      } else {
        assert.ok(!fs.existsSync(dest), 'the Node client leaves nothing behind');
        if (c.names !== undefined) {
          assert.ok(nodeMessage.includes(c.names), `Node names "${c.names}": ${nodeMessage}`);
          assert.ok(py.error?.includes(c.names), `Python names "${c.names}": ${py.error}`);
        }
      }
    });
  });
});

/** What the Python client's planner makes of entry names on another platform: refused or not, each. */
function pythonRefusesOn(platform: string, zips: readonly (readonly string[])[]): boolean[] {
  const script = [
    'import json, sys',
    'sys.path.insert(0, sys.argv[1])',
    'from mllab import _unzip, MLLabError',
    'sys.platform = sys.argv[2]',
    'out = []',
    'for names in json.load(sys.stdin):',
    '    entries = [_unzip._Entry(n, n.encode(), 0, 0, 0, 0, 0, 0, None, (0, 0)) for n in names]',
    '    try:',
    '        _unzip._plan("test.zip", entries, 1 << 40)',
    '        out.append(False)',
    '    except MLLabError:',
    '        out.append(True)',
    'print(json.dumps(out))',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script, path.join(REPO, 'python'), platform], {
    input: JSON.stringify(zips),
    encoding: 'utf8',
  });
  assert.strictEqual(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as boolean[];
}

function nodeRefusesOn(platform: NodeJS.Platform, names: readonly string[]): boolean {
  const tree = new EntryTree(platform);
  try {
    for (const name of names) {
      const where = entryPath(name, platform);
      if (where.isDirectory) {
        tree.addFolder(name, where);
      } else {
        tree.addFile(name, where);
      }
    }
    return false;
  } catch (error) {
    assert.ok(error instanceof UnsafeZipError, String(error));
    return true;
  }
}

describe('zip parity: the rules of other platforms, alike in both unpackers', () => {
  const cases: Array<{ platform: NodeJS.Platform; zips: string[][]; refused: boolean[] }> = [
    {
      platform: 'win32',
      zips: [
        ['a:b'],
        ['x/a:b'],
        ['x/CON.txt'],
        ['con'],
        ['nul.tar.gz'],
        ['COM1'],
        ['lpt9.txt'],
        ['trailing.'],
        ['x/trailing '],
        ['q?.txt'],
        ['a*b'],
        ['a<b>c'],
        ['a|b'],
        ['a"b'],
        ['tab\tname'],
        ['ctrl\x01'],
        ['ok.txt'],
        ['dir/ok'],
        ['cons.txt'],
        ['com10'],
        ['.hidden'],
        ['x/..y'],
        ['a. b'],
        ['Data.csv', 'data.csv'],
      ],
      refused: [
        ...Array<boolean>(16).fill(true),
        ...Array<boolean>(7).fill(false),
        true, // case is ignored on Windows
      ],
    },
    {
      platform: 'darwin',
      zips: [
        ['Data.csv', 'data.csv'],
        ['caf\u00e9', 'cafe\u0301'],
        ['dir/', 'DIR/x.txt'], // one folder, merged: not a collision
        ['dir', 'DIR/x.txt'],
        ['\u03a3\u0391\u03a3', '\u03c3\u03b1\u03c2'],
        ['\u00df', 'SS'],
        ['a:b'],
        ['a', 'b'],
      ],
      refused: [true, true, false, true, true, false, true, false],
    },
    {
      platform: 'linux',
      zips: [['Data.csv', 'data.csv'], ['caf\u00e9', 'cafe\u0301'], ['x/a:b', 'x/CON', 'x/q?'], ['a:b']],
      refused: [false, false, false, true],
    },
  ];
  for (const c of cases) {
    it(`on ${c.platform}: ${c.zips.length} sets of names refused or accepted alike`, () => {
      const python = pythonRefusesOn(c.platform, c.zips);
      const node = c.zips.map((names) => nodeRefusesOn(c.platform, names));
      const show = (refused: boolean[]) => c.zips.map((names, i) => `${JSON.stringify(names)}: ${refused[i]}`);
      assert.deepStrictEqual(show(node), show(c.refused), 'the Node client');
      assert.deepStrictEqual(show(python), show(c.refused), 'the Python client');
    });
  }
});

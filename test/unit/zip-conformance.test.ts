/**
 * Zip conformance of the unpackers (issue 12): what they read and refuse, checked against the
 * PKWARE APPNOTE, yauzl and Info-ZIP's unzip, and against each other (the Python client's unpacker
 * must do the same as this one with every case here).
 */
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as yauzl from 'yauzl';
import { packFolder } from '../../src/common/zip/pack';
import { maxUnpackBytes } from '../../src/common/zip/byte-budget';
import {
  BadZipError,
  DiskSpaceError,
  listZip,
  unzipSafe,
  UnsafeZipError,
  type UnzipLimits,
} from '../../src/common/zip/safe-unzip';
import {
  craftZip,
  hasCommand,
  pythonUnpack,
  rawZip,
  readTree,
  tempDir,
  treeDifferences,
  unicodePathField,
  type RawEnd,
  type RawEntry,
} from './zip-helpers';

const MiB = 1 << 20;
const HOST_MSDOS = 0;
const FLAG_UTF8 = 0x800;

/** Zeros with a few values, as a sparse array saved raw. */
function sparseArray(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 1_000_003) {
    b.writeDoubleLE(i / 7, i - (i % 8));
  }
  return b;
}

function repeatedLog(size: number): Buffer {
  const line = '2024-01-02T03:04:05Z INFO epoch done, loss=0.125 accuracy=0.975\n';
  return Buffer.from(line.repeat(Math.ceil(size / line.length))).subarray(0, size);
}

describe('zip conformance: honest data that compresses very well always unpacks', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempDir()));
  after(() => cleanup());

  it('round-trips a package of zeros, a sparse array and a repeated log (over 1000:1), in both clients', async () => {
    const source = path.join(dir, 'compressible');
    fs.mkdirSync(path.join(source, 'logs'), { recursive: true });
    fs.writeFileSync(path.join(source, 'zeros.bin'), Buffer.alloc(64 * MiB));
    fs.writeFileSync(path.join(source, 'sparse.f64'), sparseArray(48 * MiB));
    fs.writeFileSync(path.join(source, 'logs/train.log'), repeatedLog(40 * MiB));
    fs.writeFileSync(path.join(source, 'labels.csv'), 'id,label\n1,cat\n');
    const zipFile = path.join(dir, 'compressible.zip');
    await packFolder(source, zipFile);
    const listed = await listZip(zipFile);
    const zeros = listed.find((e) => e.name === 'zeros.bin')!;
    assert.ok(zeros.size / zeros.compressedSize > 1000, `ratio ${zeros.size / zeros.compressedSize}`);

    const dest = path.join(dir, 'unpacked');
    const result = await unzipSafe(zipFile, dest);
    assert.strictEqual(result.bytes, (64 + 48 + 40) * MiB + 15);
    assert.deepStrictEqual(treeDifferences(readTree(source), readTree(dest)), []);

    const byPython = path.join(dir, 'by-python');
    assert.deepStrictEqual(pythonUnpack(zipFile, byPython), {});
    assert.deepStrictEqual(treeDifferences(readTree(source), readTree(byPython)), []);
  });

  it('reads a folder zipped by Info-ZIP (UTF-8 names without the flag, made on unix)', async function () {
    if (!hasCommand('zip')) {
      this.skip(); // Info-ZIP's zip is not installed here
    }
    const source = path.join(dir, 'by-info-zip');
    fs.mkdirSync(path.join(source, 'données'), { recursive: true });
    fs.writeFileSync(path.join(source, 'données/zéros.bin'), Buffer.alloc(16 * MiB));
    fs.writeFileSync(path.join(source, 'run.log'), repeatedLog(8 * MiB));
    const zipFile = path.join(dir, 'info-zip.zip');
    const zip = spawnSync('zip', ['-q', '-r', zipFile, '.'], {
      cwd: source,
      env: { ...process.env, LC_ALL: 'C.UTF-8' },
    });
    assert.strictEqual(zip.status, 0, String(zip.stderr));
    const dest = path.join(dir, 'info-zip-unpacked');
    await unzipSafe(zipFile, dest);
    assert.deepStrictEqual(treeDifferences(readTree(source), readTree(dest)), []);
    const byPython = path.join(dir, 'info-zip-by-python');
    assert.deepStrictEqual(pythonUnpack(zipFile, byPython), {});
    assert.deepStrictEqual(treeDifferences(readTree(source), readTree(byPython)), []);
  });
});

describe('zip conformance: the cases both unpackers must treat alike', function () {
  this.timeout(60000);
  let dir: string;
  let cleanup: () => void;
  let count = 0;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  const zipOf = (entries: RawEntry[], end?: RawEnd) => {
    const file = path.join(dir, `case-${count++}.zip`);
    fs.writeFileSync(file, rawZip(entries, end));
    return file;
  };

  /** Unpacks with both clients; both must succeed with the same files. */
  async function unpacksTo(file: string, expected: Record<string, string>): Promise<void> {
    const dest = path.join(dir, `node-${count++}`);
    await unzipSafe(file, dest);
    const tree = (root: string) =>
      Object.fromEntries(
        [...readTree(root)].flatMap(([name, item]) => (item.kind === 'file' ? [[name, item.content.toString()]] : [])),
      );
    assert.deepStrictEqual(tree(dest), expected);
    const byPython = path.join(dir, `python-${count++}`);
    assert.deepStrictEqual(pythonUnpack(file, byPython), {});
    assert.deepStrictEqual(tree(byPython), expected, 'the Python client unpacks the same');
  }

  /** Both clients refuse, with a message matching `node` / `python`, leaving nothing behind. */
  async function refusedByBoth(
    file: string,
    node: RegExp,
    python: RegExp,
    limits: UnzipLimits = {},
    kind: new (...args: never[]) => Error = BadZipError,
  ): Promise<void> {
    const dest = path.join(dir, 'work', 'dest');
    await assert.rejects(unzipSafe(file, dest, limits), (e: Error) => {
      assert.ok(e instanceof kind, `${e.name}: ${e.message}`);
      assert.match(e.message, node);
      return true;
    });
    assert.deepStrictEqual(fs.readdirSync(path.dirname(dest)), [], 'nothing is left behind');
    const result = pythonUnpack(file, path.join(dir, `python-${count++}`));
    assert.match(result.error ?? 'unpacked', python);
  }

  describe('names (APPNOTE 4.4.17, appendix D; Info-ZIP extra field 0x7075)', () => {
    it('uses the Info-ZIP Unicode Path field when its CRC matches the header name', async () => {
      const header = Buffer.from('caf\x82.txt', 'latin1'); // CP437 é, as an MS-DOS tool writes it
      await unpacksTo(
        zipOf([
          {
            name: header,
            host: HOST_MSDOS,
            data: Buffer.from('u'),
            extra: unicodePathField('café-ü.txt', header),
          },
        ]),
        { 'café-ü.txt': 'u' },
      );
    });

    it('ignores a stale field (CRC of another name) or one of another version, as Info-ZIP does', async () => {
      const header = Buffer.from('plain.txt');
      await unpacksTo(
        zipOf([
          {
            name: header,
            data: Buffer.from('s'),
            extra: unicodePathField('renamed.txt', header, { crcOf: Buffer.from('old.txt') }),
          },
          {
            name: 'v2.txt',
            data: Buffer.from('2'),
            extra: unicodePathField('other.txt', Buffer.from('v2.txt'), { version: 2 }),
          },
        ]),
        { 'plain.txt': 's', 'v2.txt': '2' },
      );
    });

    it('prefers the UTF-8 flag to the field; reads CP437 from MS-DOS hosts, UTF-8 from unix ones', async () => {
      await unpacksTo(
        zipOf([
          {
            name: 'flagged-é.txt',
            flags: FLAG_UTF8,
            data: Buffer.from('f'),
            extra: unicodePathField('x.txt', Buffer.from('flagged-é.txt')),
          },
          { name: Buffer.from('dos-\x82.txt', 'latin1'), host: HOST_MSDOS, data: Buffer.from('d') },
          { name: 'unix-é.txt', host: 3, data: Buffer.from('u') },
          { name: 'mac-é.txt', host: 19, data: Buffer.from('m') },
        ]),
        { 'flagged-é.txt': 'f', 'dos-é.txt': 'd', 'unix-é.txt': 'u', 'mac-é.txt': 'm' },
      );
    });

    it('refuses a name flagged UTF-8 that is not UTF-8', async () => {
      await refusedByBoth(
        zipOf([{ name: Buffer.from([0x61, 0xff, 0x62]), flags: FLAG_UTF8, data: Buffer.from('x') }]),
        /marked as having a UTF-8 name, but the name is not valid UTF-8/,
        /marked as having a UTF-8 name, but the name is not valid UTF-8/,
      );
    });

    it('reads names whose local header uses \\ where the central directory uses /, and the reverse', async () => {
      await unpacksTo(
        zipOf([
          { name: 'dir/sub/a.txt', localName: 'dir\\sub\\a.txt', data: Buffer.from('a') },
          { name: 'win\\b.txt', localName: 'win/b.txt', data: Buffer.from('b') },
        ]),
        { 'dir/sub/a.txt': 'a', 'win/b.txt': 'b' },
      );
    });

    it('refuses a local header that names another file (two tools would unpack different files)', async () => {
      await refusedByBoth(
        zipOf([{ name: 'report.txt', localName: 'evil.exe', data: Buffer.from('x') }]),
        /"report\.txt" has another name in its local header \("evil\.exe"\)/,
        /'report\.txt' has another name in its local header \('evil\.exe'\)/,
      );
    });
  });

  describe('malformed archives, refused as yauzl refuses them', () => {
    const ok = [{ name: 'a.txt', data: Buffer.from('hello') }];

    it('refuses a comment length that does not reach the end of the file, either way', async () => {
      await refusedByBoth(
        zipOf(ok, { comment: Buffer.from('abc'), commentLength: 10 }),
        /says a 10-byte comment follows it, but the file ends 3 bytes after it: the zip was cut short/,
        /says a 10-byte comment follows it, but the file ends 3 bytes after it/,
      );
      await refusedByBoth(
        zipOf(ok, { comment: Buffer.from('abcdef'), commentLength: 2 }),
        /says a 2-byte comment ends the file, but 6 bytes follow the record: something was appended/,
        /says a 2-byte comment ends the file, but 6 bytes follow the record/,
      );
      await refusedByBoth(
        zipOf(ok, { trailing: Buffer.from('JUNK') }),
        /0-byte comment .* 4 bytes follow/,
        /4 bytes follow/,
      );
    });

    it('refuses a STORED entry whose two sizes differ', async () => {
      const liar = [{ name: 'a.txt', data: Buffer.from('hello'), compressedSize: 3 }];
      await refusedByBoth(
        zipOf(liar),
        /"a\.txt" is stored without compression, but its header gives it 3 bytes in the zip and 5 bytes unpacked/,
        /'a\.txt' is stored without compression, but its header gives it 3 bytes in the zip and 5 bytes unpacked/,
      );
    });

    it('refuses parts of multi-disk archives: disk numbers other than 0, fewer entries on this disk', async () => {
      const two = [...ok, { name: 'b.txt', data: Buffer.from('b') }];
      await refusedByBoth(
        zipOf(ok, { disk: 1, directoryDisk: 1 }),
        /multi-part .* end record is on disk 1/,
        /multi-part/,
      );
      await refusedByBoth(zipOf(ok, { directoryDisk: 1 }), /central directory starts on disk 1/, /multi-part/);
      await refusedByBoth(
        zipOf(two, { entriesOnDisk: 1 }),
        /1 of its 2 entries are on this disk/,
        /1 of its 2 entries/,
      );
    });

    it('yauzl itself refuses the comment length, the stored sizes and disk 1 (the reference behaviour)', async () => {
      const opens = async (file: string) => {
        const zip = await yauzl.openPromise(file, { lazyEntries: true });
        try {
          for await (const entry of zip.eachEntry()) {
            void entry;
          }
        } finally {
          zip.close();
        }
      };
      await assert.rejects(
        opens(zipOf(ok, { comment: Buffer.from('abc'), commentLength: 10 })),
        /Invalid comment length/,
      );
      await assert.rejects(opens(zipOf([{ ...ok[0], compressedSize: 3 }])), /size mismatch for stored file/);
      await assert.rejects(opens(zipOf(ok, { disk: 1 })), /multi-disk zip files are not supported/);
    });
  });

  describe('zip bombs, stopped by the bytes actually written', () => {
    it('refuses an entry that inflates to more than its header declares, after one chunk', async () => {
      const liar = [{ name: 'liar.bin', data: Buffer.alloc(200 * MiB), deflate: true, size: MiB }];
      await refusedByBoth(
        zipOf(liar),
        /"liar\.bin" holds more data than its header says \(1048576 bytes\)/,
        /'liar\.bin' holds more data than its header says \(1048576 bytes\)/,
      );
    });

    it('refuses an entry that holds less than declared', async () => {
      const short = [{ name: 'short.bin', data: Buffer.alloc(1000), deflate: true, size: 5000 }];
      await refusedByBoth(zipOf(short), /"short\.bin" holds less data/, /'short\.bin' holds less data/);
    });

    it('refuses central entries that all point to one local header (overlapping files)', async () => {
      const kernel = { name: 'f0', data: Buffer.alloc(10 * MiB), deflate: true };
      const copies = Array.from({ length: 50 }, (_, i) => ({ ...kernel, name: `f${i + 1}`, sharesLocalHeaderOf: 0 }));
      await refusedByBoth(
        zipOf([kernel, ...copies]),
        /"f\d+" has another name in its local header \("f0"\)/,
        /'f\d+' has another name in its local header \('f0'\)/,
      );
    });

    it('refuses a zip over MLLAB_MAX_UNPACK_BYTES, in both clients', async () => {
      const file = zipOf([
        { name: 'a.bin', data: Buffer.alloc(30 * MiB), deflate: true },
        { name: 'b.bin', data: Buffer.alloc(30 * MiB), deflate: true },
      ]);
      const env = { MLLAB_MAX_UNPACK_BYTES: String(50 * MiB) };
      assert.strictEqual(maxUnpackBytes(env), 50 * MiB);
      assert.throws(() => maxUnpackBytes({ MLLAB_MAX_UNPACK_BYTES: 'lots' }), /"lots" is not a positive number/);
      await assert.rejects(
        unzipSafe(file, path.join(dir, 'dest'), { maxTotalBytes: maxUnpackBytes(env) }),
        (e: Error) => {
          assert.ok(e instanceof UnsafeZipError);
          assert.match(
            e.message,
            /"b\.bin" would bring the total past the limit of 50\.0 MiB.*raise the limit with MLLAB_MAX_UNPACK_BYTES/,
          );
          return true;
        },
      );
      const saved = process.env.MLLAB_MAX_UNPACK_BYTES;
      process.env.MLLAB_MAX_UNPACK_BYTES = env.MLLAB_MAX_UNPACK_BYTES;
      try {
        await assert.rejects(unzipSafe(file, path.join(dir, 'dest')), /past the limit of 50\.0 MiB/);
      } finally {
        if (saved === undefined) {
          delete process.env.MLLAB_MAX_UNPACK_BYTES;
        } else {
          process.env.MLLAB_MAX_UNPACK_BYTES = saved;
        }
      }
      assert.deepStrictEqual(
        fs.readdirSync(dir).filter((n) => n.startsWith('dest')),
        [],
      );
      assert.match(
        pythonUnpack(file, path.join(dir, 'py'), env).error ?? '',
        /over the limit of 52428800|more than the limit of 52428800/,
      );
    });

    it('refuses what does not fit in the free disk space, before writing and while writing', async () => {
      const file = zipOf([
        { name: 'a.bin', data: Buffer.alloc(20 * MiB), deflate: true },
        { name: 'b.bin', data: Buffer.alloc(20 * MiB), deflate: true },
      ]);
      const dest = path.join(dir, 'work', 'dest');
      fs.mkdirSync(path.dirname(dest));
      // 30 MiB free: the second entry does not fit
      await assert.rejects(unzipSafe(file, dest, { freeBytes: async () => 30 * MiB }), (e: Error) => {
        assert.ok(e instanceof DiskSpaceError, e.message);
        assert.match(
          e.message,
          /Not enough disk space to unpack the zip: 40\.0 MiB more are needed, 30\.0 MiB are free/,
        );
        return true;
      });
      assert.deepStrictEqual(fs.readdirSync(path.dirname(dest)), []);
      // plenty at first, then something else fills the disk while unpacking
      const measures: string[] = [];
      let calls = 0;
      const shrinking = async (where: string) => {
        measures.push(where);
        return calls++ === 0 ? 10 * 2 ** 30 : 5 * MiB;
      };
      await assert.rejects(unzipSafe(file, dest, { freeBytes: shrinking }), DiskSpaceError);
      assert.ok(calls >= 2, 'measured again while writing');
      assert.ok(
        measures.every((m) => path.dirname(m) === path.dirname(dest)),
        'on the destination file system',
      );
      assert.deepStrictEqual(fs.readdirSync(path.dirname(dest)), []);
    });
  });

  it('reads ZIP64 end records and extra fields, as the packager writes them, in both clients', async () => {
    const file = path.join(dir, 'zip64.zip');
    const data = Buffer.alloc(3 * MiB, 7);
    fs.writeFileSync(
      file,
      craftZip(
        [
          { name: 'd/', mode: 0o40755 },
          { name: 'd/a.bin', data, deflate: true },
        ],
        { forceZip64: true },
      ),
    );
    await unpacksTo(file, { 'd/a.bin': data.toString() });
  });
});

describe('zip conformance: a real small disk (a tmpfs, where this user may mount one)', function () {
  this.timeout(60000);
  let dir: string;
  let cleanup: () => void;
  let disk: string;
  let mounted = false;
  before(function () {
    ({ dir, cleanup } = tempDir());
    disk = path.join(dir, 'disk');
    fs.mkdirSync(disk);
    mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', disk]).status === 0;
    if (!mounted) {
      this.skip(); // mounting needs privileges; the disk space checks are also tested with a stub above
    }
  });
  after(() => {
    if (mounted) {
      spawnSync('umount', [disk]);
    }
    cleanup();
  });

  it('refuses up front what the disk cannot hold, measured with statfs, in both clients', async () => {
    const file = path.join(dir, 'big.zip');
    fs.writeFileSync(file, craftZip([{ name: 'zeros.bin', data: Buffer.alloc(40 * MiB), deflate: true }]));
    await assert.rejects(
      unzipSafe(file, path.join(disk, 'dest')),
      /Not enough disk space .* 40\.0 MiB more are needed/,
    );
    assert.deepStrictEqual(fs.readdirSync(disk), []);
    const result = pythonUnpack(file, path.join(disk, 'py'));
    assert.match(result.error ?? '', /Not enough disk space to unpack the dataset: 41943040 more bytes are needed/);
    assert.deepStrictEqual(fs.readdirSync(path.join(disk, 'py')), [], 'refused before writing anything');
    fs.rmdirSync(path.join(disk, 'py'));
  });

  it('stops when small files take more room than their bytes (measured again while writing), leaving nothing', async () => {
    // 4 KiB + 1 byte takes two 4 KiB pages: 12 MiB of data, 24 MiB on the disk
    const entries = Array.from({ length: 3000 }, (_, i) => ({ name: `f${i}.bin`, data: Buffer.alloc(4097, i) }));
    const file = path.join(dir, 'small-files.zip');
    fs.writeFileSync(file, craftZip(entries));
    await assert.rejects(unzipSafe(file, path.join(disk, 'dest')), (e: Error) => {
      assert.ok(e instanceof DiskSpaceError, `${e.name}: ${e.message}`);
      assert.match(
        e.message,
        /(Not enough disk space to unpack the zip|The disk became full while unpacking).* (F|f)ree some space and try again/,
      );
      return true;
    });
    assert.deepStrictEqual(fs.readdirSync(disk), []);
  });
});

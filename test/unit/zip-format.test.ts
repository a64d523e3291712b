import * as assert from 'assert';
import { createHash } from 'crypto';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { sha256File } from '../../src/backend/files/hash';
import { crc32, crc32Portable } from '../../src/common/zip/pack/crc32';
import { deflateChunk, storedBlocks } from '../../src/common/zip/pack/deflate';
import { readSmallFile } from '../../src/common/zip/pack/read-small';
import { SyncGate } from '../../src/common/zip/pack/sync-gate';
import { listFolder } from '../../src/common/zip/pack/walk';
import { OrderedPool, type Task } from '../../src/common/zip/pack/ordered-pool';
import { mayNeedZip64 } from '../../src/common/zip/pack/zip-writer';
import {
  centralHeader,
  dataDescriptor,
  dosDateTime,
  endOfCentralDirectory,
  localHeader,
  MAX_UINT32,
  METHOD_DEFLATED,
} from '../../src/common/zip/pack/zip-format';
import { listZip, unzipSafe } from '../../src/common/zip/safe-unzip';
import { craftZip, csvText, hasCommand, randomBytesSeeded, tempDir } from './zip-helpers';

/** A gate that is always shut: the asynchronous paths, as on a slow file system. */
class ShutGate extends SyncGate {
  override get open(): boolean {
    return false;
  }
}

const GiB = 2 ** 30;
const fields = {
  name: Buffer.from('big.bin'),
  method: METHOD_DEFLATED,
  isDirectory: false,
  mtime: new Date(2024, 5, 7, 8, 9, 10),
  mode: 0o100644,
};

/** The extra fields of a local (fixed part 30 bytes) or central (46) header, by id. */
function extras(header: Buffer, fixed: 30 | 46): Map<number, Buffer> {
  const lengths = fixed === 30 ? 26 : 28;
  const nameLength = header.readUInt16LE(lengths);
  const extraLength = header.readUInt16LE(lengths + 2);
  const result = new Map<number, Buffer>();
  for (let i = fixed + nameLength; i < fixed + nameLength + extraLength;) {
    const id = header.readUInt16LE(i);
    const size = header.readUInt16LE(i + 2);
    result.set(id, header.subarray(i + 4, i + 4 + size));
    i += 4 + size;
  }
  return result;
}

const u64s = (b: Buffer) => Array.from({ length: b.length / 8 }, (_, i) => Number(b.readBigUInt64LE(8 * i)));

describe('zip format encoders (ZIP64 without writing 4 GiB)', () => {
  it('encodes DOS date and time, clamped to 1980..2107', () => {
    const { date, time } = dosDateTime(new Date(2024, 5, 7, 8, 9, 10));
    assert.strictEqual(date, ((2024 - 1980) << 9) | (6 << 5) | 7);
    assert.strictEqual(time, (8 << 11) | (9 << 5) | 5);
    assert.deepStrictEqual(dosDateTime(new Date(1970, 0, 1)), { date: 33, time: 0 });
    assert.strictEqual(dosDateTime(new Date(2200, 0, 1)).date >> 9, 127);
  });

  it('writes a classic local header: UTF-8 flag, sizes, extended timestamp', () => {
    const h = localHeader(fields, { crc: 0x12345678, size: 1000, compressedSize: 400 }, false);
    assert.strictEqual(h.readUInt32LE(0), 0x04034b50);
    assert.strictEqual(h.readUInt16LE(4), 20);
    assert.strictEqual(h.readUInt16LE(6), 0x0800);
    assert.strictEqual(h.readUInt32LE(14), 0x12345678);
    assert.strictEqual(h.readUInt32LE(18), 400);
    assert.strictEqual(h.readUInt32LE(22), 1000);
    assert.strictEqual(h.subarray(30, 37).toString(), 'big.bin');
    const ut = extras(h, 30).get(0x5455)!;
    assert.strictEqual(ut.readUInt32LE(1), Math.floor(fields.mtime.getTime() / 1000));
    assert.ok(!extras(h, 30).has(0x0001));
  });

  it('writes a ZIP64 local header for an entry over 4 GiB, and one with a data descriptor', () => {
    const h = localHeader(fields, { crc: 1, size: 5 * GiB, compressedSize: 4.5 * GiB }, true);
    assert.strictEqual(h.readUInt16LE(4), 45);
    assert.strictEqual(h.readUInt32LE(18), MAX_UINT32);
    assert.strictEqual(h.readUInt32LE(22), MAX_UINT32);
    assert.deepStrictEqual(u64s(extras(h, 30).get(0x0001)!), [5 * GiB, 4.5 * GiB]);
    const streamed = localHeader(fields, undefined, true);
    assert.strictEqual(streamed.readUInt16LE(6), 0x0808);
    assert.strictEqual(streamed.readUInt32LE(14), 0);
    assert.deepStrictEqual(u64s(extras(streamed, 30).get(0x0001)!), [0, 0]);
  });

  it('writes 8-byte data descriptors for ZIP64 entries, and refuses 4 GiB in a 4-byte one', () => {
    const d = dataDescriptor({ crc: 7, size: 6 * GiB, compressedSize: 5 * GiB }, true);
    assert.strictEqual(d.length, 24);
    assert.strictEqual(d.readUInt32LE(0), 0x08074b50);
    assert.deepStrictEqual([Number(d.readBigUInt64LE(8)), Number(d.readBigUInt64LE(16))], [5 * GiB, 6 * GiB]);
    assert.strictEqual(dataDescriptor({ crc: 7, size: 10, compressedSize: 5 }, false).length, 16);
    assert.throws(() => dataDescriptor({ crc: 7, size: 4 * GiB, compressedSize: 5 }, false), /needs ZIP64/);
  });

  it('moves to the ZIP64 field only the central header values that overflow, in order', () => {
    const all = centralHeader(fields, { crc: 1, size: 5 * GiB, compressedSize: 4.5 * GiB }, 6 * GiB);
    assert.strictEqual(all.readUInt16LE(4), (3 << 8) | 63, 'made by unix');
    assert.strictEqual(all.readUInt16LE(6), 45);
    assert.deepStrictEqual(
      [all.readUInt32LE(20), all.readUInt32LE(24), all.readUInt32LE(42)],
      [MAX_UINT32, MAX_UINT32, MAX_UINT32],
    );
    assert.deepStrictEqual(u64s(extras(all, 46).get(0x0001)!), [5 * GiB, 4.5 * GiB, 6 * GiB]);
    assert.strictEqual(all.readUInt32LE(38) >>> 16, 0o100644, 'unix mode in the external attributes');

    const offsetOnly = centralHeader(fields, { crc: 1, size: 100, compressedSize: 50 }, 4 * GiB + 1);
    assert.deepStrictEqual([offsetOnly.readUInt32LE(20), offsetOnly.readUInt32LE(24)], [50, 100]);
    assert.deepStrictEqual(u64s(extras(offsetOnly, 46).get(0x0001)!), [4 * GiB + 1]);

    const small = centralHeader(fields, { crc: 1, size: 100, compressedSize: 50 }, 1000);
    assert.strictEqual(small.readUInt16LE(6), 20);
    assert.ok(!extras(small, 46).has(0x0001));

    const folder = centralHeader(
      { ...fields, name: Buffer.from('d/'), isDirectory: true, mode: 0o40755 },
      { crc: 0, size: 0, compressedSize: 0 },
      0,
    );
    assert.strictEqual(folder.readUInt32LE(38), ((0o40755 << 16) | 0x10) >>> 0);
  });

  it('adds the ZIP64 end records for more than 65535 entries or a directory past 4 GiB', () => {
    const classic = endOfCentralDirectory({ entries: 10, offset: 1000, size: 500 });
    assert.strictEqual(classic.length, 22);
    assert.strictEqual(classic.readUInt16LE(10), 10);

    const many = endOfCentralDirectory({ entries: 70000, offset: 1000, size: 500 });
    assert.strictEqual(many.length, 56 + 20 + 22);
    assert.strictEqual(many.readUInt32LE(0), 0x06064b50);
    assert.strictEqual(Number(many.readBigUInt64LE(32)), 70000);
    assert.strictEqual(many.readUInt32LE(56), 0x07064b50);
    assert.strictEqual(Number(many.readBigUInt64LE(64)), 1500, 'the locator points at the ZIP64 record');
    assert.strictEqual(many.readUInt16LE(76 + 10), 0xffff);

    const far = endOfCentralDirectory({ entries: 3, offset: 5 * GiB, size: 500 });
    assert.deepStrictEqual([Number(far.readBigUInt64LE(40)), Number(far.readBigUInt64LE(48))], [500, 5 * GiB]);
    assert.strictEqual(far.readUInt32LE(76 + 16), MAX_UINT32);
    assert.strictEqual(far.readUInt32LE(76 + 12), 500);
  });

  it('declares ZIP64 for deflated entries that could reach 4 GiB', () => {
    assert.ok(!mayNeedZip64(4 * 10 ** 9));
    assert.ok(mayNeedZip64(MAX_UINT32 - 1000));
    assert.ok(mayNeedZip64(5 * GiB));
  });

  it('makes ZIP64 records that yauzl and Info-ZIP read (forced on a small zip)', async function () {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'forced64.zip');
      const data = randomBytesSeeded(5000, 3);
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
      assert.deepStrictEqual(
        (await listZip(file)).map((e) => [e.name, e.size]),
        [
          ['d/', 0],
          ['d/a.bin', 5000],
        ],
      );
      await unzipSafe(file, path.join(dir, 'out'));
      assert.ok(fs.readFileSync(path.join(dir, 'out/d/a.bin')).equals(data));
      if (hasCommand('unzip')) {
        const test = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
        assert.strictEqual(test.status, 0, test.stdout + test.stderr);
      }
    } finally {
      cleanup();
    }
  });
});

describe('zip building blocks: crc32, chunked deflate, ordered pool', () => {
  it('computes the same CRC-32 with the portable fallback as with zlib, in one go or in pieces', () => {
    const data = randomBytesSeeded(100_003, 9);
    const expected = zlib.crc32(data);
    assert.strictEqual(crc32(data), expected);
    assert.strictEqual(crc32Portable(data), expected);
    assert.strictEqual(crc32Portable(data.subarray(5000), crc32Portable(data.subarray(0, 5000))), expected);
    assert.strictEqual(crc32Portable(Buffer.from('123456789')), 0xcbf43926);
  });

  it('returns results in order, runs at most `concurrency` tasks, and holds at most the budget', async () => {
    let running = 0;
    let maxRunning = 0;
    const tasks: Array<Task<number>> = Array.from({ length: 50 }, (_, i) => ({
      cost: 10,
      run: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, (i * 7) % 5));
        running--;
        return i;
      },
    }));
    let started = 0;
    const source = (function* () {
      for (const t of tasks) {
        started++;
        yield t;
      }
    })();
    const pool = new OrderedPool(source, 3, 45);
    const results: number[] = [];
    for (let i = 0; i < 50; i++) {
      results.push(await pool.next());
      assert.ok(started - i <= 6, 'no more than the budget (4 results) plus the lookahead ahead of the consumer');
    }
    assert.deepStrictEqual(
      results,
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.ok(maxRunning <= 3 && maxRunning >= 2, `max running ${maxRunning}`);
  });

  it('passes a task error to the consumer in order, and stop() waits for the running tasks', async () => {
    let finished = 0;
    const tasks: Array<Task<number>> = [0, 1, 2, 3].map((i) => ({
      cost: 1,
      run: async () => {
        await new Promise((r) => setTimeout(r, 10));
        finished++;
        if (i === 1) {
          throw new Error('task 1 failed');
        }
        return i;
      },
    }));
    const pool = new OrderedPool(tasks[Symbol.iterator](), 4, 100);
    assert.strictEqual(await pool.next(), 0);
    await assert.rejects(pool.next(), /task 1 failed/);
    await pool.stop();
    assert.strictEqual(finished, 4);
  });
});

describe('zip building blocks: deflate pieces, synchronous and asynchronous file access, hashing', () => {
  it('writes stored blocks that inflate back, final or not, empty or over 64 KiB', () => {
    for (const size of [0, 1, 65535, 65536, 200_000]) {
      const data = randomBytesSeeded(size, size);
      assert.ok(zlib.inflateRawSync(storedBlocks(data, true)).equals(data), `size ${size}`);
    }
    // not final: inflate needs more input, so it must be followed by a final piece
    const head = storedBlocks(Buffer.from('abc'), false);
    const tail = storedBlocks(Buffer.from('def'), true);
    assert.strictEqual(zlib.inflateRawSync(Buffer.concat([head, tail])).toString(), 'abcdef');
  });

  it('chains chunks of text and random data into one valid deflate stream', async () => {
    const parts = [
      randomBytesSeeded(1 << 20, 1),
      csvText(1 << 20, 2),
      randomBytesSeeded(1 << 20, 3),
      csvText(700_000, 4),
    ];
    const whole = Buffer.concat(parts);
    const pieces: Buffer[] = [];
    let start = 0;
    for (const [i, part] of parts.entries()) {
      const dictionary = whole.subarray(Math.max(0, start - 32768), start);
      pieces.push(await deflateChunk(part, 6, dictionary, i === parts.length - 1));
      start += part.length;
    }
    assert.ok(pieces[0].length > parts[0].length, 'random data stored');
    assert.ok(pieces[1].length < parts[1].length / 2, 'text deflated');
    assert.ok(zlib.inflateRawSync(Buffer.concat(pieces)).equals(whole));
  });

  it('lists and reads the same with the synchronous and the asynchronous paths', async () => {
    const { dir, cleanup } = tempDir();
    try {
      fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'a/b/x.csv'), csvText(300_000, 1));
      fs.writeFileSync(path.join(dir, 'y.txt'), 'y');
      fs.symlinkSync('a', path.join(dir, 'link-to-a'));
      const names = (l: Awaited<ReturnType<typeof listFolder>>) => l.entries.map((e) => `${e.name}:${e.size}`);
      const fast = await listFolder(dir, { gate: new SyncGate() });
      const slow = await listFolder(dir, { gate: new ShutGate() });
      assert.deepStrictEqual(names(slow), names(fast));
      assert.deepStrictEqual(names(fast), [
        'a/:0',
        'a/b/:0',
        'a/b/x.csv:300000',
        'link-to-a/:0',
        'link-to-a/b/:0',
        'link-to-a/b/x.csv:300000',
        'y.txt:1',
      ]);
      const file = path.join(dir, 'a/b/x.csv');
      const expected = fs.readFileSync(file);
      assert.ok((await readSmallFile(file, expected.length, new SyncGate())).equals(expected));
      assert.ok((await readSmallFile(file, expected.length, new ShutGate())).equals(expected));
      // a file that shrank since the walk gives what it holds now
      assert.strictEqual((await readSmallFile(path.join(dir, 'y.txt'), 10, new ShutGate())).toString(), 'y');
    } finally {
      cleanup();
    }
  });

  it('hashes a file as sha256, and cancels with an AbortError', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'data.bin');
      const data = randomBytesSeeded(3 * (1 << 20) + 17, 5);
      fs.writeFileSync(file, data);
      const expected = createHash('sha256').update(data).digest('hex');
      assert.strictEqual(await sha256File(file), expected);
      fs.writeFileSync(path.join(dir, 'empty'), '');
      assert.strictEqual(
        await sha256File(path.join(dir, 'empty')),
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      );
      await assert.rejects(sha256File(file, AbortSignal.abort()), { name: 'AbortError' });
    } finally {
      cleanup();
    }
  });
});

import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packFolder } from '../../src/common/zip/pack';
import { unzipSafe } from '../../src/common/zip/safe-unzip';
import { hasCommand, tempDir } from './zip-helpers';

const FILES = 70_000;
const FOLDERS = 7;

describe('zip packaging: more than 65535 entries (ZIP64 end records, for real)', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  before(() => ({ dir, cleanup } = tempDir()));
  after(() => cleanup());

  it(`round-trips ${FILES} tiny files`, async () => {
    const source = path.join(dir, 'many');
    for (let f = 0; f < FOLDERS; f++) {
      fs.mkdirSync(path.join(source, `folder-${f}`), { recursive: true });
    }
    for (let i = 0; i < FILES; i++) {
      fs.writeFileSync(path.join(source, `folder-${i % FOLDERS}`, `file-${i}.txt`), `file number ${i}\n`);
    }
    const zipFile = path.join(dir, 'many.zip');
    const result = await packFolder(source, zipFile);
    assert.strictEqual(result.files, FILES);

    // the ZIP64 end of central directory record and its locator come before the classic end record
    const tail = Buffer.alloc(98);
    const fd = fs.openSync(zipFile, 'r');
    fs.readSync(fd, tail, 0, tail.length, result.bytesOut - tail.length);
    fs.closeSync(fd);
    assert.strictEqual(tail.readUInt32LE(0), 0x06064b50);
    assert.strictEqual(Number(tail.readBigUInt64LE(32)), FILES + FOLDERS);
    assert.strictEqual(tail.readUInt32LE(56), 0x07064b50);
    assert.strictEqual(tail.readUInt16LE(76 + 10), 0xffff);

    if (hasCommand('unzip')) {
      const test = spawnSync('unzip', ['-tq', zipFile], { encoding: 'utf8', maxBuffer: 1 << 26 });
      assert.strictEqual(test.status, 0, test.stdout.slice(-2000) + test.stderr);
    }

    const dest = path.join(dir, 'unpacked');
    const unpacked = await unzipSafe(zipFile, dest);
    assert.strictEqual(unpacked.files, FILES);
    for (let i = 0; i < FILES; i += 997) {
      const content = fs.readFileSync(path.join(dest, `folder-${i % FOLDERS}`, `file-${i}.txt`), 'utf8');
      assert.strictEqual(content, `file number ${i}\n`);
    }
    const counted = fs.readdirSync(dest).reduce((n, f) => n + fs.readdirSync(path.join(dest, f)).length, 0);
    assert.strictEqual(counted, FILES);
  });
});

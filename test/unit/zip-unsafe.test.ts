import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { ByteBudget } from '../../src/common/zip/byte-budget';
import { entryPath } from '../../src/common/zip/entry-paths';
import { listZip, unzipSafe, UnsafeZipError } from '../../src/common/zip/safe-unzip';
import { craftZip, tempDir, type CraftedEntry } from './zip-helpers';

const LINK = 0o120777;

describe('zip unpacking: malicious and broken zips are refused, leaving nothing behind', function () {
  this.timeout(60000);
  let dir: string;
  let cleanup: () => void;
  let dest: string;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    dest = path.join(dir, 'work', 'dest');
  });
  afterEach(() => cleanup());

  const zipOf = (entries: CraftedEntry[]) => {
    const file = path.join(dir, `crafted-${Math.random().toString(36).slice(2)}.zip`);
    fs.writeFileSync(file, craftZip(entries));
    return file;
  };

  /** Unpacking must fail with UnsafeZipError matching `message`, and leave no trace. */
  async function refused(entries: CraftedEntry[], message: RegExp, limits = {}): Promise<void> {
    await assert.rejects(unzipSafe(zipOf(entries), dest, limits), (e: Error) => {
      assert.ok(e instanceof UnsafeZipError, `${e.name}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    });
    assert.ok(!fs.existsSync(dest), 'the destination was not created');
    assert.deepStrictEqual(fs.readdirSync(path.dirname(dest)), [], 'no temporary folder is left');
  }

  it('refuses zip-slip: ../evil.txt and a/../../evil.txt', async () => {
    await refused(
      [
        { name: 'ok.txt', data: Buffer.from('ok') },
        { name: '../evil.txt', data: Buffer.from('x') },
      ],
      /"\.\.\/evil\.txt" goes up out of the destination/,
    );
    await refused([{ name: 'a/../../evil.txt', data: Buffer.from('x') }], /"a\/\.\.\/\.\.\/evil\.txt" goes up/);
    assert.ok(!fs.existsSync(path.join(dir, 'work', 'evil.txt')) && !fs.existsSync(path.join(dir, 'evil.txt')));
  });

  it('refuses absolute paths and backslash tricks: /etc/x, C:\\x, ..\\evil.txt, \\x', async () => {
    await refused([{ name: '/etc/x', data: Buffer.from('x') }], /"\/etc\/x" is an absolute path/);
    await refused([{ name: 'C:\\x', data: Buffer.from('x') }], /is an absolute path/);
    await refused([{ name: 'C:/x', data: Buffer.from('x') }], /is an absolute path/);
    await refused([{ name: '..\\evil.txt', data: Buffer.from('x') }], /goes up out of the destination/);
    await refused([{ name: 'a\\..\\..\\evil.txt', data: Buffer.from('x') }], /goes up out of the destination/);
    await refused([{ name: '\\x', data: Buffer.from('x') }], /is an absolute path/);
  });

  it('refuses a symbolic link escaping the destination (link -> ../../outside, then link/file)', async () => {
    await refused(
      [
        { name: 'link', data: Buffer.from('../../outside'), mode: LINK },
        { name: 'link/file', data: Buffer.from('pwned') },
      ],
      /"link" is a symbolic link that leads outside the destination folder \("\.\.\/\.\.\/outside"\)/,
    );
    assert.ok(!fs.existsSync(path.join(dir, 'outside')));
    await refused([{ name: 'etc', data: Buffer.from('/etc'), mode: LINK }], /"etc" is a symbolic link to an absolute/);
    await refused([{ name: 'a/b/up', data: Buffer.from('../../..'), mode: LINK }], /leads outside/);
  });

  it('refuses writing through a symbolic link, even one that stays inside', async () => {
    await refused(
      [
        { name: 'sub/', mode: 0o40755 },
        { name: 'dirlink', data: Buffer.from('sub'), mode: LINK },
        { name: 'dirlink/file', data: Buffer.from('x') },
      ],
      /"dirlink\/file" would be written through the symbolic link "dirlink"/,
    );
  });

  it('refuses a link whose target goes through another link (x -> a/b, y -> x/..)', async () => {
    await refused(
      [
        { name: 'a/b/', mode: 0o40755 },
        { name: 'x', data: Buffer.from('a/b'), mode: LINK },
        { name: 'y', data: Buffer.from('x/..'), mode: LINK },
      ],
      /"y" is a symbolic link through another link/,
    );
  });

  it('creates symbolic links that stay inside as links', async () => {
    const file = zipOf([
      { name: 'sub/target.txt', data: Buffer.from('target') },
      { name: 'sub/link.txt', data: Buffer.from('target.txt'), mode: LINK },
      { name: 'top-link', data: Buffer.from('sub/target.txt'), mode: LINK },
    ]);
    const result = await unzipSafe(file, dest);
    assert.strictEqual(result.files, 3);
    assert.strictEqual(fs.readlinkSync(path.join(dest, 'sub/link.txt')), 'target.txt');
    assert.strictEqual(fs.readFileSync(path.join(dest, 'top-link'), 'utf8'), 'target');
  });

  it('refuses duplicate entries that would overwrite, and a file where a folder is needed', async () => {
    await refused(
      [
        { name: 'a.txt', data: Buffer.from('1') },
        { name: 'a.txt', data: Buffer.from('2') },
      ],
      /"a\.txt" would overwrite the entry "a\.txt"/,
    );
    await refused(
      [
        { name: 'a/b.txt', data: Buffer.from('1') },
        { name: 'a/./b.txt', data: Buffer.from('2') },
      ],
      /would overwrite/,
    );
    await refused(
      [
        { name: 'a', data: Buffer.from('1') },
        { name: 'a/b.txt', data: Buffer.from('2') },
      ],
      /needs "a" to be a folder/,
    );
    await refused(
      [
        { name: 'a/b.txt', data: Buffer.from('1') },
        { name: 'a', data: Buffer.from('2') },
      ],
      /same name as a folder/,
    );
  });

  it('refuses a zip bomb by the total it unpacks to: 200 MB of zeros with maxTotalBytes 50 MB', async () => {
    const bomb = [{ name: 'bomb.bin', data: Buffer.alloc(200 << 20), deflate: true }];
    await refused(bomb, /bring the total past the limit of 50\.0 MiB/, { maxTotalBytes: 50 << 20 });
  });

  it('unpacks honest data however well it compresses (200 MB of zeros, 1000:1 and more)', async () => {
    const file = zipOf([{ name: 'zeros.bin', data: Buffer.alloc(200 << 20), deflate: true }]);
    const result = await unzipSafe(file, dest);
    assert.strictEqual(result.bytes, 200 << 20);
    assert.strictEqual(fs.statSync(path.join(dest, 'zeros.bin')).size, 200 << 20);
  });

  it('enforces the limits on the bytes written, not only on the sizes declared', async () => {
    // the header claims 1 MiB; the data inflates to 200 MB
    const liar = [{ name: 'liar.bin', data: Buffer.alloc(200 << 20), deflate: true, declaredSize: 1 << 20 }];
    await refused(liar, /"liar\.bin" holds more data than its header says/);
    // and the counter the unpacked bytes go through stops them at the limit, whatever was declared
    const budget = new ByteBudget({ maxTotalBytes: 50 << 20, freeBytes: async () => Infinity }, dir);
    const count = budget.counter('x', 1 << 30);
    await assert.rejects(async () => {
      for (let i = 0; i < 60; i++) {
        await count.add(1 << 20);
      }
    }, /past the limit of 50\.0 MiB/);
    assert.strictEqual(budget.written, 51 << 20);
  });

  it('refuses more entries than maxEntries', async () => {
    const entries = Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from('x') }));
    await refused(entries, /has 5 entries, more than the limit of 3/, { maxEntries: 3 });
  });

  it('refuses a destination that exists, and a file that is not a zip, without leaving anything', async () => {
    const file = zipOf([{ name: 'a.txt', data: Buffer.from('a') }]);
    fs.mkdirSync(dest, { recursive: true });
    await assert.rejects(unzipSafe(file, dest), /already exists/);
    fs.rmdirSync(dest);
    const notZip = path.join(dir, 'not.zip');
    fs.writeFileSync(notZip, 'not a zip at all');
    await assert.rejects(unzipSafe(notZip, dest));
    assert.deepStrictEqual(fs.readdirSync(path.dirname(dest)), []);
  });

  it('cancels with an AbortError and removes the partial folder', async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({
      name: `f${i}.bin`,
      data: Buffer.alloc(10 << 20, i),
      deflate: true,
    }));
    const file = zipOf(entries);
    const controller = new AbortController();
    const unpacking = unzipSafe(file, dest, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(unpacking, { name: 'AbortError' });
    assert.deepStrictEqual(fs.readdirSync(path.dirname(dest)), []);
  });

  it('lists entries with sizes', async () => {
    const file = zipOf([
      { name: 'd/', mode: 0o40755 },
      { name: 'd/a.txt', data: Buffer.alloc(1000, 97), deflate: true },
    ]);
    const list = await listZip(file);
    assert.deepStrictEqual(
      list.map((e) => [e.name, e.size, e.isDirectory]),
      [
        ['d/', 0, true],
        ['d/a.txt', 1000, false],
      ],
    );
    assert.ok(list[1].compressedSize < 100);
  });

  it('checks names by the rules of the platform unpacking them', () => {
    assert.deepStrictEqual(entryPath('a/./b//c.txt', 'linux'), { parts: ['a', 'b', 'c.txt'], isDirectory: false });
    assert.deepStrictEqual(entryPath('a\\b\\', 'linux'), { parts: ['a', 'b'], isDirectory: true });
    assert.doesNotThrow(() => entryPath('x/a:b/con.txt', 'linux'));
    assert.throws(() => entryPath('a:b', 'linux'), /absolute path/); // a drive letter on Windows
    assert.throws(() => entryPath('x/a:b', 'win32'), UnsafeZipError);
    assert.throws(() => entryPath('dir/CON.txt', 'win32'), UnsafeZipError);
    assert.throws(() => entryPath('trailing.', 'win32'), UnsafeZipError);
    assert.throws(() => entryPath('nul\0byte', 'linux'), /NUL character/);
    assert.throws(() => entryPath('', 'linux'), /has no file name/);
  });
});

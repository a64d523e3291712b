import * as assert from 'assert';
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough, Writable } from 'stream';
import * as yauzl from 'yauzl';
import { sha256File } from '../../src/backend/files/hash';
import { packFolder, STORED_EXTENSIONS, type PackProgress } from '../../src/common/zip/pack';
import { unzipSafe } from '../../src/common/zip/safe-unzip';
import { csvText, hasCommand, randomBytesSeeded, readTree, tempDir, treeDifferences } from './zip-helpers';

/** Methods (0 stored, 8 deflated) of a zip's entries, by name. */
async function methods(zipFile: string): Promise<Map<string, number>> {
  const zip = await yauzl.openPromise(zipFile, { lazyEntries: true });
  const result = new Map<string, number>();
  for await (const entry of zip.eachEntry()) {
    result.set(entry.fileName, entry.compressionMethod);
  }
  return result;
}

/** The folder every round trip packages: the cases the packager must get right. */
function makeSource(root: string): void {
  const file = (rel: string, content: Buffer | string) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), content);
  };
  file('données/модель-数据.csv', csvText(5000, 8));
  file('données/empty.txt', '');
  file('nested/a/b/c/deep.json', JSON.stringify({ deep: true }));
  file('random-20mb.bin', randomBytesSeeded(20 << 20, 1));
  file('big-text.csv', csvText(30 << 20, 2)); // chunked deflate, many chunks
  file('odd-size.csv', csvText((1 << 20) + 12345, 3)); // just over one chunk
  file('one-chunk.csv', csvText(1 << 20, 4)); // exactly one chunk: read whole
  file('photo.png', csvText(300_000, 5)); // compressible, but stored by extension
  file('big.parquet', randomBytesSeeded(3 << 20, 6)); // stored, in several reads
  file('small.bin', randomBytesSeeded(1000, 7)); // deflate cannot shrink it: stored
  // chunks of random data become stored blocks, text chunks deflate, in one stream
  file(
    'mixed.dat',
    Buffer.concat([randomBytesSeeded(1_500_000, 9), csvText(1 << 20, 10), randomBytesSeeded(700_000, 11)]),
  );
  fs.mkdirSync(path.join(root, 'empty-dir/inner-empty'), { recursive: true });
  fs.chmodSync(path.join(root, 'nested/a/b/c/deep.json'), 0o600);
}

describe('zip packaging: packFolder -> unzipSafe round trips', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  let source: string;
  let zipFile: string;
  let result: Awaited<ReturnType<typeof packFolder>>;

  before(async () => {
    ({ dir, cleanup } = tempDir());
    source = path.join(dir, 'source');
    makeSource(source);
    zipFile = path.join(dir, 'out.zip');
    result = await packFolder(source, zipFile);
  });
  after(() => cleanup());

  it('unpacks byte-identical: unicode names, empty files and folders, nested, 20 MB random, large text', async () => {
    const dest = path.join(dir, 'unpacked');
    const unpacked = await unzipSafe(zipFile, dest);
    assert.deepStrictEqual(treeDifferences(readTree(source), readTree(dest)), []);
    assert.strictEqual(unpacked.files, 11);
    assert.strictEqual(unpacked.bytes, result.bytesIn);
    assert.strictEqual(fs.statSync(path.join(dest, 'nested/a/b/c/deep.json')).mode & 0o777, 0o600);
  });

  it('reports files, sizes and the sha256 of the bytes it wrote', async () => {
    const sizes = [...readTree(source).values()].map((i) => (i.kind === 'file' ? i.content.length : 0));
    assert.strictEqual(result.files, 11);
    assert.strictEqual(
      result.bytesIn,
      sizes.reduce((a, b) => a + b),
    );
    assert.strictEqual(result.bytesOut, fs.statSync(zipFile).size);
    assert.strictEqual(result.sha256, await sha256File(zipFile));
    assert.ok(result.bytesOut < result.bytesIn * 0.75, 'the text compressed');
  });

  it('is valid for Info-ZIP: unzip -t and zipinfo succeed', function () {
    if (!hasCommand('unzip') || !hasCommand('zipinfo')) {
      this.skip(); // Info-ZIP is not installed here: the check needs `unzip` and `zipinfo`
    }
    // Info-ZIP prints names outside ASCII only in a UTF-8 locale (else as #U00e9): whatever the user's
    const env = { ...process.env, LC_ALL: 'C.UTF-8' };
    const test = spawnSync('unzip', ['-t', zipFile], { encoding: 'utf8', env });
    assert.strictEqual(test.status, 0, test.stdout + test.stderr);
    assert.match(test.stdout, /No errors detected/);
    const info = spawnSync('zipinfo', [zipFile], { encoding: 'utf8', env });
    assert.strictEqual(info.status, 0, info.stderr);
    assert.match(info.stdout, /données\/модель-数据\.csv/);
    assert.match(info.stdout, /-rw------- .* unx .* nested\/a\/b\/c\/deep\.json/);
    assert.match(info.stdout, /drwx.* empty-dir\/inner-empty\//);
  });

  it('stores entries by extension (and what deflate cannot shrink), deflates the rest', async () => {
    assert.ok(STORED_EXTENSIONS.has('.png') && STORED_EXTENSIONS.has('.parquet') && !STORED_EXTENSIONS.has('.csv'));
    const m = await methods(zipFile);
    assert.strictEqual(m.get('photo.png'), 0);
    assert.strictEqual(m.get('big.parquet'), 0);
    assert.strictEqual(m.get('small.bin'), 0);
    assert.strictEqual(m.get('big-text.csv'), 8);
    assert.strictEqual(m.get('one-chunk.csv'), 8);
    assert.strictEqual(m.get('données/модель-数据.csv'), 8);
    assert.strictEqual(m.get('empty-dir/'), 0);
    assert.strictEqual(m.get('mixed.dat'), 8);
  });

  it('lists entries in sorted order, with / separators and folders ending in /', async () => {
    const names = [...(await methods(zipFile)).keys()];
    const sorted = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepStrictEqual(names, sorted);
    assert.ok(names.includes('empty-dir/') && names.includes('nested/a/b/'));
  });

  it('makes the same zip every time, whatever the concurrency, to a path or a stream', async () => {
    const again = await packFolder(source, path.join(dir, 'again.zip'), { concurrency: 1 });
    assert.strictEqual(again.sha256, result.sha256);
    const stream = new PassThrough();
    const hash = createHash('sha256');
    stream.on('data', (chunk: Buffer) => hash.update(chunk));
    const streamed = await packFolder(source, stream, { concurrency: 7 });
    assert.strictEqual(streamed.sha256, result.sha256);
    assert.strictEqual(hash.digest('hex'), result.sha256);
  });

  it('reports progress at most about 10 times a second, ending with the totals', async () => {
    const calls: PackProgress[] = [];
    const started = Date.now();
    await packFolder(source, path.join(dir, 'progress.zip'), { onProgress: (p) => calls.push(p) });
    const elapsed = Date.now() - started;
    assert.ok(calls.length >= 2);
    assert.ok(calls.length <= elapsed / 100 + 2, `${calls.length} calls in ${elapsed} ms`);
    const last = calls[calls.length - 1];
    assert.deepStrictEqual(last, { files: 11, totalFiles: 11, bytes: result.bytesIn, totalBytes: result.bytesIn });
    for (let i = 1; i < calls.length; i++) {
      assert.ok(calls[i].bytes >= calls[i - 1].bytes && calls[i].files >= calls[i - 1].files);
    }
  });

  it('leaves out the zip itself when it is written inside the folder', async () => {
    const inside = path.join(source, 'self.zip');
    try {
      const packed = await packFolder(source, inside);
      assert.strictEqual(packed.files, 11);
      assert.ok(!(await methods(inside)).has('self.zip'));
    } finally {
      fs.rmSync(inside, { force: true });
    }
  });

  it('follows symbolic links to files and folders, as zip -r does', async () => {
    const linked = path.join(dir, 'linked');
    fs.mkdirSync(linked);
    fs.writeFileSync(path.join(dir, 'outside.txt'), 'from outside');
    fs.symlinkSync(path.join(dir, 'outside.txt'), path.join(linked, 'file-link.txt'));
    fs.symlinkSync(path.join(source, 'nested'), path.join(linked, 'dir-link'));
    const out = path.join(dir, 'linked.zip');
    await packFolder(linked, out);
    const dest = path.join(dir, 'linked-unpacked');
    await unzipSafe(out, dest);
    assert.strictEqual(fs.readFileSync(path.join(dest, 'file-link.txt'), 'utf8'), 'from outside');
    assert.ok(fs.lstatSync(path.join(dest, 'dir-link')).isDirectory());
    assert.strictEqual(fs.readFileSync(path.join(dest, 'dir-link/a/b/c/deep.json'), 'utf8'), '{"deep":true}');
  });

  it('rejects with the error of a stream that fails, and leaves the stream to its owner', async () => {
    let written = 0;
    const failing = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        callback(written > 5_000_000 ? new Error('disk full (simulated)') : null);
      },
    });
    await assert.rejects(packFolder(source, failing), /disk full \(simulated\)/);
  });
});

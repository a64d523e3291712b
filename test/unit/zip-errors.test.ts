import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { packFolder } from '../../src/common/zip/pack';
import { csvText, tempDir } from './zip-helpers';

describe('zip packaging: errors and cancelling', function () {
  this.timeout(60000);
  let dir: string;
  let cleanup: () => void;
  let out: string;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    out = path.join(dir, 'out.zip');
  });
  afterEach(() => cleanup());

  const folder = (name: string) => {
    const p = path.join(dir, name);
    fs.mkdirSync(p, { recursive: true });
    return p;
  };

  it('cancels mid-way with an AbortError and removes the partial zip', async () => {
    const source = folder('big');
    for (let i = 0; i < 8; i++) {
      fs.writeFileSync(path.join(source, `part-${i}.csv`), csvText(8 << 20, i));
    }
    const controller = new AbortController();
    let sawBytes = false;
    const packing = packFolder(source, out, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytes > 0 && !sawBytes) {
          sawBytes = true;
          controller.abort();
        }
      },
    });
    await assert.rejects(packing, (e: Error) => e.name === 'AbortError');
    assert.ok(sawBytes, 'cancelled after it started writing');
    assert.ok(!fs.existsSync(out), 'the partial zip was removed');
  });

  it('rejects at once with an AbortError when already cancelled', async () => {
    const source = folder('small');
    fs.writeFileSync(path.join(source, 'a.txt'), 'a');
    await assert.rejects(packFolder(source, out, { signal: AbortSignal.abort() }), { name: 'AbortError' });
    assert.ok(!fs.existsSync(out));
  });

  it('refuses an empty folder, and one with only empty folders, saying there is nothing to package', async () => {
    await assert.rejects(packFolder(folder('empty'), out), /empty\b.*is empty: nothing to package/);
    assert.ok(!fs.existsSync(out));
    const hollow = folder('hollow/a/b');
    await assert.rejects(
      packFolder(path.dirname(path.dirname(hollow)), out),
      /is empty \(only 2 empty folders\): nothing to package/,
    );
    await assert.rejects(packFolder(path.join(dir, 'missing'), out), /does not exist/);
  });

  it('refuses a folder bigger than a package may unpack to, before writing anything, saying what to do', async () => {
    const source = folder('data');
    fs.writeFileSync(path.join(source, 'a.csv'), csvText(3000, 1));
    fs.writeFileSync(path.join(source, 'b.csv'), csvText(3000, 2));
    await assert.rejects(packFolder(source, out, { maxUnpackBytes: 5000 }), (e: Error & { reason?: string }) => {
      assert.strictEqual(e.reason, 'too_big_to_unpack');
      assert.match(e.message, /holds 6000 bytes, more than the 5000 bytes a package may unpack to when it is loaded/);
      assert.match(e.message, /MLLAB_MAX_UNPACK_BYTES/);
      return true;
    });
    assert.ok(!fs.existsSync(out), 'nothing was written');
    // at the limit it packages, and the environment's limit is the default
    await packFolder(source, out, { maxUnpackBytes: 6000 });
    const before = process.env.MLLAB_MAX_UNPACK_BYTES;
    process.env.MLLAB_MAX_UNPACK_BYTES = '100';
    try {
      await assert.rejects(packFolder(source, path.join(dir, 'again.zip')), /more than the 100 bytes/);
    } finally {
      if (before === undefined) {
        delete process.env.MLLAB_MAX_UNPACK_BYTES;
      } else {
        process.env.MLLAB_MAX_UNPACK_BYTES = before;
      }
    }
  });

  it('refuses a file it cannot read (a named pipe), naming it and saying what to do', async () => {
    const source = folder('with-fifo');
    fs.writeFileSync(path.join(source, 'ok.txt'), 'ok');
    execFileSync('mkfifo', [path.join(source, 'pipe')]);
    await assert.rejects(packFolder(source, out), (e: Error) => {
      assert.match(e.message, /with-fifo\/pipe is a named pipe \(FIFO\), which cannot be packaged\. Move it out/);
      return true;
    });
    assert.ok(!fs.existsSync(out));
  });

  it('refuses a symbolic link to nothing, saying it is a dangling link and naming its target', async () => {
    const source = folder('dangling');
    fs.writeFileSync(path.join(source, 'ok.txt'), 'ok');
    fs.symlinkSync(path.join(dir, 'gone'), path.join(source, 'broken-link'));
    await assert.rejects(
      packFolder(source, out),
      /dangling\/broken-link is a dangling link: it points to .*\/gone, which does not exist\. Remove the link/,
    );
    assert.ok(!fs.existsSync(out));
  });

  it('refuses a file without read permission, naming it (not as root, who can read anything)', async function () {
    if (process.getuid?.() === 0) {
      this.skip(); // root reads files with mode 000; the named pipe and broken link cases cover read failures
    }
    const source = folder('locked');
    fs.writeFileSync(path.join(source, 'secret.txt'), 'secret');
    fs.chmodSync(path.join(source, 'secret.txt'), 0o000);
    await assert.rejects(
      packFolder(source, out),
      /Cannot read .*locked\/secret\.txt: permission denied\. Make it readable/,
    );
  });

  it('detects a symbolic link that loops back to a folder above it', async () => {
    const source = folder('loop/a/b');
    fs.writeFileSync(path.join(source, 'x.txt'), 'x');
    fs.symlinkSync('../..', path.join(source, 'up'));
    await assert.rejects(
      packFolder(path.join(dir, 'loop'), out),
      /loop\/a\/b\/up is a symbolic link to .*loop, a folder that contains it/,
    );
    assert.ok(!fs.existsSync(out));
  });
});

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { appendAt } from '../../src/backend/experiments/upload/events-append';
import { OpenAppends } from '../../src/backend/experiments/upload/open-appends';

describe('the append-only files of uploaded runs kept open between requests', () => {
  let dir: string;
  let appends: OpenAppends;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-appends-'));
    appends = new OpenAppends();
  });
  afterEach(async () => {
    await appends.closeAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('appends through one handle, and opens the file afresh once its path is another file', async () => {
    const file = path.join(dir, 'events.jsonl');
    assert.deepStrictEqual(await appendAt(dir, 'events.jsonl', 0, Buffer.from('a\n'), appends), { size: 2 });
    const held = (await appends.get(file, () => Promise.reject(new Error('not opened again')))).handle;
    assert.deepStrictEqual(await appendAt(dir, 'events.jsonl', 2, Buffer.from('b\n'), appends), { size: 4 });
    assert.ok(appends.holds(file, held), 'the same handle serves the next request');
    assert.strictEqual(fs.readFileSync(file, 'utf8'), 'a\nb\n');

    // the run deleted and sent again meanwhile: the new file is written, never the old one
    fs.renameSync(file, path.join(dir, 'old.jsonl'));
    const ahead = await appendAt(dir, 'events.jsonl', 4, Buffer.from('c\n'), appends);
    assert.strictEqual(ahead.size, 0);
    assert.strictEqual(ahead.error?.code, 'offset_ahead');
    assert.deepStrictEqual(await appendAt(dir, 'events.jsonl', 0, Buffer.from('x\n'), appends), { size: 2 });
    assert.strictEqual(fs.readFileSync(file, 'utf8'), 'x\n');
    assert.strictEqual(
      fs.readFileSync(path.join(dir, 'old.jsonl'), 'utf8'),
      'a\nb\n',
      'the old file is left as it was',
    );
    assert.ok(!appends.holds(file, held));
  });

  it('closes a file unused for a while, and keeps at most its number open', async () => {
    const few = new OpenAppends(50, 2);
    try {
      for (const name of ['a.log', 'b.log', 'c.log']) {
        await appendAt(dir, name, 0, Buffer.from('x'), few);
      }
      const first = path.join(dir, 'a.log');
      let opened = 0;
      const reopen = async () => {
        opened++;
        return fs.promises.open(first, 'a+');
      };
      await few.get(first, reopen);
      assert.strictEqual(opened, 1, 'the oldest was closed when a third was opened');
      await new Promise((r) => setTimeout(r, 150));
      await few.get(first, reopen);
      assert.strictEqual(opened, 2, 'closed after being unused');
    } finally {
      await few.closeAll();
    }
  });
});

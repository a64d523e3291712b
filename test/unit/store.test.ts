import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { MemoryLogger } from '../../src/backend/log';
import { Store, StoreCorruptError } from '../../src/backend/store/database';
import { MIGRATIONS } from '../../src/backend/store/migrations';
import { tempHome } from './helpers';

async function insert(store: Store, name: string): Promise<void> {
  await store.write((tx) => {
    tx.run("INSERT INTO projects (id, name, created_at, updated_at) VALUES (?, ?, 'now', 'now')", [name, name]);
  });
}

const names = (store: Store) => store.all('SELECT name FROM projects ORDER BY name').map((r) => String(r.name));

describe('metadata store (sql.js + journal + snapshots)', () => {
  let home: string;
  let cleanup: () => void;
  let dir: string;
  beforeEach(() => {
    ({ home, cleanup } = tempHome());
    dir = path.join(home, 'db');
  });
  afterEach(() => cleanup());

  it('creates a new store with the current schema', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    assert.strictEqual(store.schemaVersion, MIGRATIONS.length);
    assert.deepStrictEqual(names(store), []);
    store.close();
  });

  it('keeps every committed write across a reopen without a clean close (journal replay)', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    for (const n of ['a', 'b', 'c']) {
      await insert(store, n);
    }
    // no close(): as if the process had been killed
    const log = new MemoryLogger();
    const reopened = await Store.open(dir, log);
    assert.deepStrictEqual(names(reopened), ['a', 'b', 'c']);
    assert.ok(
      log.lines.some((l) => l.includes(`replayed ${3 + MIGRATIONS.length} journaled transactions`)),
      log.lines.join('\n'),
    );
    reopened.close();
  });

  it('rolls back a failed transaction and journals nothing of it', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    await insert(store, 'a');
    await assert.rejects(
      store.write((tx) => {
        tx.run("INSERT INTO projects (id, name, created_at, updated_at) VALUES ('b', 'b', 'now', 'now')");
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepStrictEqual(names(store), ['a']);
    const reopened = await Store.open(dir, new MemoryLogger());
    assert.deepStrictEqual(names(reopened), ['a']);
  });

  it('ignores a torn last record, keeps everything before it, and appends after it', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    await insert(store, 'a');
    await insert(store, 'b');
    const journal = path.join(dir, 'journal-000000.log');
    fs.appendFileSync(journal, '0123456789abcdef [["INSERT INTO projects'); // a crash mid-write
    const log = new MemoryLogger();
    const reopened = await Store.open(dir, log);
    assert.deepStrictEqual(names(reopened), ['a', 'b']);
    assert.ok(
      log.lines.some((l) => /unfinished write/.test(l)),
      log.lines.join('\n'),
    );
    await insert(reopened, 'c');
    const again = await Store.open(dir, new MemoryLogger());
    assert.deepStrictEqual(names(again), ['a', 'b', 'c']);
  });

  it('checkpoints into a new generation and keeps exactly one older generation', async () => {
    const store = await Store.open(dir, new MemoryLogger(), { checkpointBytes: 600 });
    for (let i = 0; i < 30; i++) {
      await insert(store, `p${String(i).padStart(2, '0')}`);
    }
    assert.ok(store.currentGeneration >= 3, `generation ${store.currentGeneration}`);
    const files = fs
      .readdirSync(dir)
      .filter((f) => /^(snapshot|journal)-/.test(f))
      .sort();
    const gens = new Set(files.map((f) => Number(/(\d+)/.exec(f)?.[1])));
    assert.deepStrictEqual(
      [...gens].sort((a, b) => a - b),
      [store.currentGeneration - 1, store.currentGeneration],
    );
    const reopened = await Store.open(dir, new MemoryLogger());
    assert.strictEqual(names(reopened).length, 30);
  });

  it('recovers from a damaged newest snapshot through the previous generation, losing nothing', async () => {
    const store = await Store.open(dir, new MemoryLogger(), { checkpointBytes: 400 });
    for (let i = 0; i < 20; i++) {
      await insert(store, `p${String(i).padStart(2, '0')}`);
    }
    const gen = store.currentGeneration;
    assert.ok(gen >= 2);
    const snapshot = path.join(dir, `snapshot-${String(gen).padStart(6, '0')}.sqlite`);
    const bytes = fs.readFileSync(snapshot);
    bytes.fill(0x42, 100, 4000); // overwrite a stretch in the middle, as a bad disk would
    fs.writeFileSync(snapshot, bytes);
    const log = new MemoryLogger();
    const reopened = await Store.open(dir, log);
    assert.strictEqual(names(reopened).length, 20);
    assert.ok(
      log.lines.some((l) => /error store: recovered the metadata store from generation/.test(l)),
      log.lines.join('\n'),
    );
    assert.ok(log.lines.some((l) => /is damaged/.test(l)));
    // the recovery wrote a fresh good generation
    const third = await Store.open(dir, new MemoryLogger());
    assert.strictEqual(names(third).length, 20);
  });

  it('refuses to start rather than replace an unrecoverable store with an empty one', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    await insert(store, 'precious');
    store.close(); // generations 0 and 1 now exist
    for (const f of fs.readdirSync(dir)) {
      fs.writeFileSync(path.join(dir, f), 'garbage');
    }
    await assert.rejects(Store.open(dir, new MemoryLogger()), (e: Error) => {
      assert.ok(e instanceof StoreCorruptError);
      assert.match(e.message, /damaged and no good state could be recovered/);
      assert.match(e.message, /move the folder aside/);
      return true;
    });
    // nothing was overwritten
    assert.ok(fs.readdirSync(dir).every((f) => fs.readFileSync(path.join(dir, f), 'utf8') === 'garbage'));
  });

  it('refuses to start on a damaged record in the middle of a journal, names it, and changes nothing', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    for (const n of ['a', 'b', 'c']) {
      await insert(store, n);
    }
    const journal = path.join(dir, 'journal-000000.log');
    const lines = fs.readFileSync(journal, 'utf8').split('\n');
    // lines: header, migrations, a, b, c, '' -> damage the record of "b"
    const b = lines.findIndex((l) => l.includes('"b","b"'));
    lines[b] = lines[b].replace('"b","b"', '"x","b"');
    fs.writeFileSync(journal, lines.join('\n'));
    const before = fs.readFileSync(journal);
    await assert.rejects(Store.open(dir, new MemoryLogger()), (e: Error) => {
      assert.ok(e instanceof StoreCorruptError);
      assert.match(
        e.message,
        new RegExp(
          `journal-000000.log is damaged at record ${b}: it holds ${b - 1} whole records, but ${b + 1} had been acknowledged`,
        ),
      );
      assert.match(e.message, /create an empty file named accept-loss/);
      return true;
    });
    assert.deepStrictEqual(fs.readFileSync(journal), before);
    // accepting the loss starts from the records before the damaged one
    fs.writeFileSync(path.join(dir, 'accept-loss'), '');
    const log = new MemoryLogger();
    const reopened = await Store.open(dir, log);
    assert.deepStrictEqual(names(reopened), ['a']);
    assert.ok(
      log.lines.some((l) =>
        /error store: accept-loss accepts losing acknowledged writes: journal-000000.log is damaged/.test(l),
      ),
      log.lines.join('\n'),
    );
    reopened.close();
  });

  it('records how far the journal was acknowledged after every write, before the write is acknowledged', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    await Promise.all(['a', 'b', 'c'].map((n) => insert(store, n)));
    const ack = JSON.parse(fs.readFileSync(path.join(dir, 'acknowledged'), 'utf8').trimEnd().slice(17)) as {
      generation: number;
      records: number;
      bytes: number;
    };
    const journal = path.join(dir, 'journal-000000.log');
    assert.strictEqual(ack.generation, 0);
    assert.strictEqual(ack.bytes, fs.statSync(journal).size);
    assert.strictEqual(ack.records, fs.readFileSync(journal, 'utf8').split('\n').length - 2);
    store.close();
  });

  it('recognizes a checkpoint interrupted between its journal and its snapshot: nothing lost, no alarm', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    await insert(store, 'a');
    await insert(store, 'b');
    const ack = fs.readFileSync(path.join(dir, 'acknowledged'));
    assert.ok(store.checkpoint());
    // as if killed after the new journal's header and before its snapshot (and the marker)
    fs.rmSync(path.join(dir, 'snapshot-000001.sqlite'));
    fs.writeFileSync(path.join(dir, 'acknowledged'), ack);
    const log = new MemoryLogger();
    const reopened = await Store.open(dir, log);
    assert.deepStrictEqual(names(reopened), ['a', 'b']);
    assert.ok(
      log.lines.some((l) =>
        /info store: a checkpoint was interrupted before it wrote snapshot-000001.sqlite; nothing was lost/.test(l),
      ),
      log.lines.join('\n'),
    );
    assert.deepStrictEqual(
      log.lines.filter((l) => /^(warn|error)/.test(l)),
      [],
    );
    assert.strictEqual(fs.existsSync(path.join(dir, 'journal-000001.log')), false);
    await insert(reopened, 'c');
    assert.deepStrictEqual(names(await Store.open(dir, new MemoryLogger())), ['a', 'b', 'c']);
  });

  it('writes journal headers that an earlier version finds invalid (it refuses rather than lose the chained records)', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    store.close();
    for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('journal-'))) {
      const header = fs.readFileSync(path.join(dir, f), 'utf8').split('\n')[0];
      // an earlier version checks sha256(json)[0:16] of each line, the header included
      assert.notStrictEqual(
        header.slice(0, 16),
        createHash('sha256').update(header.slice(17)).digest('hex').slice(0, 16),
      );
    }
  });

  it('opens a store written in the journal format of earlier versions and converts it', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    await insert(store, 'a');
    store.close(); // generations 0 and 1
    const again = await Store.open(dir, new MemoryLogger());
    await insert(again, 'b'); // in journal 1; no close, as after a kill
    // format 1: no format or previous in the header, each record checksummed alone, no marker
    for (const f of ['journal-000000.log', 'journal-000001.log']) {
      const file = path.join(dir, f);
      const out = fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .slice(0, -1)
        .map((line, i) => {
          let json = line.slice(17);
          if (i === 0) {
            const h = JSON.parse(json) as Record<string, unknown>;
            json = JSON.stringify({ generation: h.generation, snapshotSha256: h.snapshotSha256 });
          }
          return `${createHash('sha256').update(json).digest('hex').slice(0, 16)} ${json}\n`;
        });
      fs.writeFileSync(file, out.join('') + '0123456789abcdef [["INSERT'); // and a torn tail
    }
    fs.rmSync(path.join(dir, 'acknowledged'));
    const log = new MemoryLogger();
    const converted = await Store.open(dir, log);
    assert.deepStrictEqual(names(converted), ['a', 'b']);
    const text = log.lines.join('\n');
    assert.match(text, /unfinished write at the end of journal-000001.log/);
    assert.match(text, /the journal is in the format of an earlier version; writing a checkpoint in the current one/);
    assert.doesNotMatch(text, /^error/m);
    const header = JSON.parse(
      fs.readFileSync(path.join(dir, 'journal-000002.log'), 'utf8').split('\n')[0].slice(17),
    ) as {
      format: number;
    };
    assert.strictEqual(header.format, 2);
    await insert(converted, 'c');
    const log2 = new MemoryLogger();
    assert.deepStrictEqual(names(await Store.open(dir, log2)), ['a', 'b', 'c']);
    assert.deepStrictEqual(
      log2.lines.filter((l) => /^(warn|error)/.test(l)),
      [],
    );
  });
});

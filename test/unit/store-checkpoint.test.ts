import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MemoryLogger } from '../../src/backend/log';
import { ACK_FILE, AckMarker } from '../../src/backend/store/ack';
import { SNAPSHOT_RETRY_FIRST_MS, SNAPSHOT_RETRY_MAX_MS, Store } from '../../src/backend/store/database';
import { snapshotName } from '../../src/backend/store/recovery';
import { tempHome } from './helpers';

async function insert(store: Store, name: string): Promise<void> {
  await store.write((tx) => {
    tx.run("INSERT INTO projects (id, name, created_at, updated_at) VALUES (?, ?, 'now', 'now')", [
      name,
      name.padEnd(200, '.'),
    ]);
  });
}

const count = (store: Store) => Number(store.get('SELECT COUNT(*) AS n FROM projects')?.n);
const failures = (log: MemoryLogger) => log.lines.filter((l) => l.includes('could not write a snapshot'));

/** Opens files until the process has no descriptor left; returns them (to close) once EMFILE is seen. */
function exhaustDescriptors(): number[] {
  const held: number[] = [];
  for (;;) {
    try {
      held.push(fs.openSync(os.devNull, 'r'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EMFILE' || (e as NodeJS.ErrnoException).code === 'ENFILE') {
        return held;
      }
      held.forEach((fd) => fs.closeSync(fd));
      throw e;
    }
  }
}

describe('metadata store checkpoints under pressure', () => {
  let home: string;
  let cleanup: () => void;
  let dir: string;
  beforeEach(() => {
    ({ home, cleanup } = tempHome());
    dir = path.join(home, 'db');
  });
  afterEach(() => cleanup());

  it('writes its checkpoint with the process out of descriptors (the ingest used them all up)', async () => {
    const log = new MemoryLogger();
    const store = await Store.open(dir, log, { checkpointBytes: 2000 });
    const before = store.currentGeneration;
    const held = exhaustDescriptors();
    let generations: number[];
    try {
      assert.throws(() => fs.openSync(os.devNull, 'r'), /EMFILE|ENFILE/); // nothing left for anyone
      for (let i = 0; i < 30; i++) {
        await insert(store, `p${i}`); // 30 x ~300 bytes: past 2,000 bytes several times
      }
      generations = [store.currentGeneration];
    } finally {
      held.forEach((fd) => fs.closeSync(fd));
    }
    assert.deepStrictEqual(failures(log), []);
    assert.ok(generations[0] >= before + 2, `generation ${generations[0]} after ${before}:\n${log.lines.join('\n')}`);
    store.close();
    const reopened = await Store.open(dir, new MemoryLogger());
    assert.strictEqual(count(reopened), 30);
    assert.ok(reopened.currentGeneration > generations[0]);
    reopened.close();
  });

  /** Copies the store's files as they are on disk now, as a kill -9 would leave them. */
  function killedCopy(name: string): string {
    const copy = path.join(home, name);
    fs.mkdirSync(copy);
    for (const f of fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile())) {
      fs.copyFileSync(path.join(dir, f), path.join(copy, f));
    }
    return copy;
  }

  /** Inserts until a checkpoint has begun in the background; returns how many were inserted. */
  async function untilCheckpointBegins(store: Store): Promise<number> {
    const attempts = store.checkpointAttempts;
    let n = 0;
    while (store.checkpointAttempts === attempts) {
      await insert(store, `a${n++}`);
    }
    return n;
  }

  it('checkpoints beside writes: applied at once, journaled once in the new generation, none lost at any moment', async () => {
    const store = await Store.open(dir, new MemoryLogger(), { checkpointBytes: 2000 });
    const generation = store.currentGeneration;
    const before = await untilCheckpointBegins(store);
    assert.strictEqual(store.currentGeneration, generation, 'the checkpoint runs in the background');
    // writes while the snapshot is written: visible at once, acknowledged once their journal is on disk
    const during = Array.from({ length: 20 }, (_, i) => insert(store, `b${i}`));
    assert.strictEqual(count(store), before + 20);
    const midway = killedCopy('midway'); // everything acknowledged so far is on disk
    await Promise.all(during);
    await store.settled();
    assert.strictEqual(store.currentGeneration, generation + 1);
    const afterwards = killedCopy('afterwards');

    const a = await Store.open(midway, new MemoryLogger());
    assert.ok(count(a) >= before, `${count(a)} of the ${before} acknowledged writes after a kill mid-checkpoint`);
    a.close();
    const b = await Store.open(afterwards, new MemoryLogger());
    assert.strictEqual(count(b), before + 20);
    b.close();
    // the fallback path replays both journals in turn: a record in both would be inserted twice (refused)
    const snapshot = path.join(afterwards, snapshotName(generation + 1));
    fs.writeFileSync(snapshot, Buffer.alloc(fs.statSync(snapshot).size, 0x42));
    const log = new MemoryLogger();
    const c = await Store.open(afterwards, log);
    assert.strictEqual(count(c), before + 20, log.lines.join('\n'));
    c.close();
    store.close();
  });

  it('a close during a checkpoint in the background keeps every write, and the next start finds one generation', async () => {
    const store = await Store.open(dir, new MemoryLogger(), { checkpointBytes: 2000 });
    const generation = store.currentGeneration;
    const before = await untilCheckpointBegins(store);
    assert.strictEqual(store.currentGeneration, generation, 'the checkpoint runs in the background');
    const during = Array.from({ length: 5 }, (_, i) => insert(store, `c${i}`));
    store.close();
    await Promise.all(during); // journaled in the old journal by the close
    await new Promise((r) => setTimeout(r, 200)); // the abandoned checkpoint finishes its file work
    const log = new MemoryLogger();
    const reopened = await Store.open(dir, log);
    assert.strictEqual(count(reopened), before + 5);
    assert.deepStrictEqual(
      log.lines.filter((l) => /^(warn|error) /.test(l)),
      [],
      log.lines.join('\n'),
    );
    assert.deepStrictEqual(
      fs.readdirSync(dir).filter((f) => f.includes('.tmp-')),
      [],
      'no temporary file is left behind',
    );
    reopened.close();
  });

  it('a quick close of a large database leaves the snapshot to the next start, which replays the journal', async () => {
    const store = await Store.open(dir, new MemoryLogger(), { quickCloseBytes: 0 });
    for (let i = 0; i < 10; i++) {
      await insert(store, `q${i}`);
    }
    const generation = store.currentGeneration;
    store.close({ quick: true });
    const log = new MemoryLogger();
    const reopened = await Store.open(dir, log);
    assert.strictEqual(count(reopened), 10);
    assert.strictEqual(reopened.currentGeneration, generation, 'no checkpoint at the close');
    const replayed = Number(/replayed (\d+) journaled transactions/.exec(log.lines.join('\n'))?.[1]);
    assert.ok(replayed >= 10, log.lines.join('\n')); // the 10 writes (and the schema's, never snapshotted)
    reopened.close({ quick: true }); // small (the default limit): a snapshot as always
    const third = await Store.open(dir, new MemoryLogger());
    assert.strictEqual(third.currentGeneration, generation + 1);
    assert.strictEqual(count(third), 10);
    third.close();
  });

  it('retries a failing snapshot after 1 s, doubling to 5 minutes, logs each kind of failure once and says when one succeeds', async () => {
    const log = new MemoryLogger();
    let now = 1_000_000;
    const store = await Store.open(dir, log, { checkpointBytes: 2000, now: () => now });
    const generation = store.currentGeneration;
    const blocker = path.join(dir, snapshotName(generation + 1));
    fs.mkdirSync(blocker); // the snapshot cannot be renamed into place: EISDIR
    const attempts = store.checkpointAttempts;
    let tries = 0;
    let n = 0;
    const writes = async (k: number) => {
      for (let i = 0; i < k; i++) {
        await insert(store, `p${n++}`);
        await store.settled(); // a checkpoint runs beside the writes: wait for its outcome
      }
      tries = store.checkpointAttempts - attempts;
    };
    await writes(40); // past 2,000 bytes after ~7 writes, then every write
    assert.strictEqual(tries, 1);
    assert.strictEqual(failures(log).length, 1, log.lines.join('\n'));
    assert.match(failures(log)[0], /EISDIR/);
    // the failed checkpoint did not move the ack marker to the generation it could not write
    const ack = AckMarker.read(path.join(dir, ACK_FILE));
    assert.ok(typeof ack === 'object' && ack.generation === generation, JSON.stringify(ack));

    // each next try waits twice as long as the one before, up to 5 minutes
    const expected = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300].map((s) => s * 1000);
    assert.strictEqual(expected[0], SNAPSHOT_RETRY_FIRST_MS);
    assert.strictEqual(expected[expected.length - 1], SNAPSHOT_RETRY_MAX_MS);
    for (const delay of expected) {
      const before: number = tries;
      now += delay - 1;
      await writes(2);
      assert.strictEqual(tries, before, `a try before ${delay} ms had passed`);
      now += 1;
      await writes(1);
      assert.strictEqual(tries, before + 1, `no try after ${delay} ms`);
    }
    assert.strictEqual(failures(log).length, 1, 'one line per kind of failure, not per try');
    assert.strictEqual(store.currentGeneration, generation);

    // a kill now loses nothing: the journal kept every write
    const copy = path.join(home, 'killed');
    fs.mkdirSync(copy);
    for (const f of fs.readdirSync(dir).filter((f) => !fs.statSync(path.join(dir, f)).isDirectory())) {
      fs.copyFileSync(path.join(dir, f), path.join(copy, f));
    }
    const killed = await Store.open(copy, new MemoryLogger());
    assert.strictEqual(count(killed), n);

    fs.rmdirSync(blocker);
    now += SNAPSHOT_RETRY_MAX_MS;
    await writes(1);
    assert.strictEqual(store.currentGeneration, generation + 1);
    const again = log.lines.filter((l) => l.includes('a snapshot was written again'));
    assert.strictEqual(again.length, 1, log.lines.join('\n'));
    assert.match(again[0], new RegExp(`after ${tries - 1} failed tries \\(EISDIR\\)`));
    // back to normal: the next time the journal grows past its size, a checkpoint follows at once
    const triesSoFar: number = tries;
    await writes(10);
    assert.ok(tries > triesSoFar && store.currentGeneration > generation + 1);
    store.close();
    killed.close();
  });
});

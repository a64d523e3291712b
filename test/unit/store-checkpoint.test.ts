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

  it('retries a failing snapshot after 1 s, doubling to 5 minutes, logs each kind of failure once and says when one succeeds', async () => {
    const log = new MemoryLogger();
    let now = 1_000_000;
    const store = await Store.open(dir, log, { checkpointBytes: 2000, now: () => now });
    const generation = store.currentGeneration;
    const blocker = path.join(dir, snapshotName(generation + 1));
    fs.mkdirSync(blocker); // the snapshot cannot be renamed into place: EISDIR
    let tries = 0;
    const checkpoint = store.checkpoint.bind(store);
    store.checkpoint = () => {
      tries++;
      return checkpoint();
    };
    let n = 0;
    const writes = async (k: number) => {
      for (let i = 0; i < k; i++) {
        await insert(store, `p${n++}`);
      }
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

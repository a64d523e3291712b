import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { homePaths } from '../../src/common/home';
import { tempHome } from './helpers';
import { spawnBackend, waitForExit } from './process-helpers';

describe('durability of the backend process (kill -9, damaged files)', function () {
  this.timeout(60000);
  let home: string;
  let cleanup: () => void;
  beforeEach(() => ({ home, cleanup } = tempHome()));
  afterEach(() => cleanup());

  it('keeps every acknowledged write when the backend is killed with SIGKILL in a burst of writes', async () => {
    // three kills at different points; small checkpoints so that kills also land during checkpoints
    const env = { MLLAB_STORE_CHECKPOINT_BYTES: '20000' };
    const acknowledged: string[] = [];
    for (const [round, killAfter] of [150, 420, 777].entries()) {
      const { child, client } = await spawnBackend(home, env);
      let stop = false;
      const target = acknowledged.length + killAfter;
      // 8 concurrent writers, as several windows and scripts would be
      const writers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const name = `r${round}-w${w}-${i}`;
          try {
            await client.createProject(name);
            acknowledged.push(name);
          } catch {
            return; // the backend is gone
          }
        }
      });
      while (acknowledged.length < target) {
        await new Promise((r) => setImmediate(r));
      }
      child.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await waitForExit(child);
      client.dispose();
    }

    const again = await spawnBackend(home);
    const stored = new Set((await again.client.listProjects()).map((p) => p.name));
    const lost = acknowledged.filter((n) => !stored.has(n));
    assert.deepStrictEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged writes were lost`);
    await again.client.shutdown();
    await waitForExit(again.child);
    again.client.dispose();
    const log = fs.readFileSync(homePaths(home).log, 'utf8');
    assert.match(
      log,
      /process \d+ which is no longer running; taking over/,
      'the dead process registration was taken over',
    );
    assert.ok((log.match(/store: checkpoint/g) ?? []).length >= 3, 'the burst crossed checkpoints');
    // a kill, even in the middle of a checkpoint, is never taken for damage
    assert.doesNotMatch(
      log,
      /store: .*(is damaged|is missing|cut short|newer than|recovered the metadata store|accept-loss)/,
    );
  });

  it('takes kills that land in checkpoints for crashes that lost nothing, never for damage', async () => {
    // a checkpoint every few writes, so that kills land before, inside and after them
    const env = { MLLAB_STORE_CHECKPOINT_BYTES: '1500' };
    const acknowledged: string[] = [];
    for (let round = 0; round < 6; round++) {
      const { child, client } = await spawnBackend(home, env);
      let stop = false;
      const target = acknowledged.length + 20 + round * 7;
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          try {
            await client.createProject(`k${round}-w${w}-${i}`);
            acknowledged.push(`k${round}-w${w}-${i}`);
          } catch {
            return;
          }
        }
      });
      while (acknowledged.length < target) {
        await new Promise((r) => setImmediate(r));
      }
      child.kill('SIGKILL');
      stop = true;
      await Promise.all(writers);
      await waitForExit(child);
      client.dispose();
    }
    const again = await spawnBackend(home);
    const stored = new Set((await again.client.listProjects()).map((p) => p.name));
    assert.deepStrictEqual(
      acknowledged.filter((n) => !stored.has(n)),
      [],
    );
    await again.client.shutdown();
    await waitForExit(again.child);
    again.client.dispose();
    const log = fs.readFileSync(homePaths(home).log, 'utf8');
    assert.ok((log.match(/store: checkpoint/g) ?? []).length >= 12, 'the kills fell among checkpoints');
    assert.doesNotMatch(
      log,
      /store: .*(is damaged|is missing|cut short|newer than|recovered the metadata store|accept-loss)/,
    );
  });

  it('detects a damaged snapshot at start, recovers the last good state and logs it', async () => {
    const first = await spawnBackend(home);
    for (let i = 0; i < 10; i++) {
      await first.client.createProject(`p${i}`);
    }
    await first.client.shutdown(); // clean stop: writes snapshot generation 1
    await waitForExit(first.child);
    first.client.dispose();
    const second = await spawnBackend(home);
    await second.client.createProject('after-restart');
    await second.client.shutdown(); // generation 2
    await waitForExit(second.child);
    second.client.dispose();

    const db = homePaths(home).db;
    const newest = fs
      .readdirSync(db)
      .filter((f) => f.startsWith('snapshot-'))
      .sort()
      .pop()!;
    const file = path.join(db, newest);
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length / 2)); // torn: half a file

    const third = await spawnBackend(home);
    const names = (await third.client.listProjects()).map((p) => p.name).sort();
    assert.deepStrictEqual(names, ['after-restart', ...Array.from({ length: 10 }, (_, i) => `p${i}`)].sort());
    await third.client.shutdown();
    await waitForExit(third.child);
    third.client.dispose();
    const log = fs.readFileSync(homePaths(home).log, 'utf8');
    assert.match(log, new RegExp(`${newest} is damaged`));
    assert.match(log, /recovered the metadata store from generation 1/);
  });

  it('refuses to start on an unrecoverable store, says what to do, and overwrites nothing', async () => {
    const first = await spawnBackend(home);
    await first.client.createProject('precious');
    await first.client.shutdown();
    await waitForExit(first.child);
    first.client.dispose();
    const db = homePaths(home).db;
    for (const f of fs.readdirSync(db)) {
      fs.writeFileSync(path.join(db, f), 'not a database');
    }
    await assert.rejects(spawnBackend(home), /damaged and no good state could be recovered.*move the folder aside/s);
    assert.ok(fs.readdirSync(db).every((f) => fs.readFileSync(path.join(db, f), 'utf8') === 'not a database'));
    assert.strictEqual(fs.existsSync(homePaths(home).registration), false, 'a failed start leaves no registration');
  });
});

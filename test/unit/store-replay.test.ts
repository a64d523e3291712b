import * as assert from 'assert';
import * as path from 'path';
import { MemoryLogger } from '../../src/backend/log';
import { Store } from '../../src/backend/store/database';
import { Replayer } from '../../src/backend/store/replay';
import { loadSqlJs } from '../../src/backend/store/sqljs';
import { tempHome } from './helpers';

/** Values whose binding differs most between encoders and number types. */
const VALUES: (string | number | null)[] = [
  '',
  'plain',
  'é ü ß',
  '日本語のテキスト',
  '🙂 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 beyond the basic plane',
  'a\u0000b (a NUL inside)',
  'x'.repeat(100_000),
  '🙂'.repeat(30_000), // longer than any buffer before it: the bind buffer grows
  0,
  -0,
  1,
  -1,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  2 ** 53 - 1,
  1.5,
  -1e-300,
  1e308,
  null,
];

describe('journal replay', () => {
  let cleanup: () => void;
  let dir: string;
  beforeEach(() => {
    let home: string;
    ({ home, cleanup } = tempHome());
    dir = path.join(home, 'db');
  });
  afterEach(() => cleanup());

  it('gives back exactly what was written: text of every kind, integers, doubles, nulls', async () => {
    const store = await Store.open(dir, new MemoryLogger());
    await store.write((tx) => tx.run('CREATE TABLE t (i INTEGER, v)'));
    for (let i = 0; i < VALUES.length; i++) {
      await store.write((tx) => tx.run('INSERT INTO t (i, v) VALUES (?, ?)', [i, VALUES[i]]));
    }
    await store.write((tx) => tx.run('UPDATE t SET v = ? WHERE i = ?', ['changed 🙂', 1]));
    const written = store.all('SELECT i, v, typeof(v) AS type FROM t ORDER BY i');
    // no close(): as if the process had been killed, so the reopen replays the journal
    const log = new MemoryLogger();
    const reopened = await Store.open(dir, log);
    assert.ok(log.lines.some((l) => /replayed \d+ journaled transactions/.test(l)));
    assert.deepStrictEqual(reopened.all('SELECT i, v, typeof(v) AS type FROM t ORDER BY i'), written);
    assert.deepStrictEqual(
      written.map((r) => r.type),
      VALUES.map((v, i) =>
        // sql.js binds a number as an integer only when it fits 32 bits
        i === 1 ? 'text' : v === null ? 'null' : typeof v === 'string' ? 'text' : v === (v | 0) ? 'integer' : 'real',
      ),
    );
    reopened.close();
  });

  it('runs statements around sql.js binding with the same results and errors as sql.js', async () => {
    const SQL = await loadSqlJs();
    const fast = new SQL.Database();
    const api = new SQL.Database();
    for (const db of [fast, api]) {
      db.run('CREATE TABLE t (i INTEGER PRIMARY KEY, v)');
    }
    const replayer = new Replayer(SQL, fast);
    const insert = 'INSERT INTO t (i, v) VALUES (?, ?)';
    VALUES.forEach((v, i) => {
      replayer.run([[insert, [i, v]]]);
      api.run(insert, [i, v]);
    });
    assert.strictEqual(replayer.counts.fast, VALUES.length, 'the fast path was not taken');
    assert.strictEqual(replayer.counts.api, 0);
    const rows = (db: typeof fast) => db.exec('SELECT i, v, typeof(v) FROM t ORDER BY i')[0].values;
    assert.deepStrictEqual(rows(fast), rows(api));
    let expected: Error | undefined;
    try {
      api.run(insert, [3, 'duplicate']);
    } catch (e) {
      expected = e as Error;
    }
    assert.ok(expected, 'sql.js accepted a duplicate key');
    assert.throws(() => replayer.run([[insert, [3, 'duplicate']]]), { message: expected.message });
    assert.deepStrictEqual(rows(fast), rows(api)); // the failed statement changed nothing
    replayer.free();
    fast.close();
    api.close();
  });
});

import * as assert from 'assert';
import * as path from 'path';
import { findByName, getByNameOrId, nameTaken } from '../../src/backend/common/named';
import { takeNextVersion } from '../../src/backend/common/versions';
import { ApiError } from '../../src/backend/errors';
import { MemoryLogger } from '../../src/backend/log';
import { Store } from '../../src/backend/store/database';
import { tempHome } from './helpers';

describe('backend: named rows and their versions, one implementation', () => {
  let cleanup: () => void;
  let store: Store;
  let dir: string;
  beforeEach(async () => {
    let home: string;
    ({ home, cleanup } = tempHome());
    dir = path.join(home, 'db');
    store = await Store.open(dir, new MemoryLogger());
  });
  afterEach(() => {
    store.close();
    cleanup();
  });

  for (const table of ['datasets', 'models'] as const) {
    it(`numbers the versions of ${table} v1..vN per name, case-insensitively, never twice, across a restart`, async () => {
      const take = (project: string, name: string) =>
        store.write((tx) => takeNextVersion(tx, table, project, name, '2026-01-01T00:00:00.000Z'));
      const first = await take('p1', 'Iris');
      assert.strictEqual(first.version, 1);
      assert.deepStrictEqual(await take('p1', 'iris'), { id: first.id, version: 2 });
      assert.strictEqual((await take('p2', 'iris')).version, 1, 'another project counts on its own');
      assert.strictEqual((await take('p1', 'digits')).version, 1);
      const row = store.get(`SELECT name, created_at FROM ${table} WHERE id = ?`, [first.id]);
      assert.deepStrictEqual({ ...row }, { name: 'Iris', created_at: '2026-01-01T00:00:00.000Z' });
      store.close();
      store = await Store.open(dir, new MemoryLogger());
      assert.deepStrictEqual(await take('p1', 'IRIS'), { id: first.id, version: 3 });
    });
  }

  for (const [table, kind] of [
    ['jobs', 'job'],
    ['services', 'service'],
  ] as const) {
    it(`finds ${table} by id or by name (case-insensitively), within the project, with a 404 that says what to do`, async () => {
      await store.write((tx) => {
        const columns = table === 'jobs' ? 'updated_at' : 'status';
        tx.run(
          `INSERT INTO ${table} (id, project_id, name, spec, created_at, ${columns}) VALUES (?, ?, ?, '{}', 'now', 'x')`,
          ['id-1', 'p1', 'Train'],
        );
      });
      assert.strictEqual(getByNameOrId(store, table, 'p1', 'id-1').name, 'Train');
      assert.strictEqual(getByNameOrId(store, table, 'p1', 'train').id, 'id-1');
      assert.strictEqual(findByName(store, table, 'p1', 'TRAIN')?.id, 'id-1');
      assert.strictEqual(findByName(store, table, 'p2', 'train'), undefined);
      assert.throws(
        () => getByNameOrId(store, table, 'p2', 'train'),
        (e: unknown) =>
          e instanceof ApiError &&
          e.statusCode === 404 &&
          e.message === `No ${kind} called "train" in this project: list them with "mllab ${kind} list".`,
      );
      const taken = nameTaken(table, 'Train');
      assert.strictEqual(taken.statusCode, 409);
      assert.strictEqual(
        taken.message,
        `A ${kind} called "Train" already exists in this project: pick another name, or remove it first.`,
      );
    });
  }
});

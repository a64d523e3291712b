import * as assert from 'assert';
import * as path from 'path';
import { ExperimentRepository } from '../../src/backend/experiments/repository';
import { MemoryLogger } from '../../src/backend/log';
import { Store } from '../../src/backend/store/database';
import { listingAsRowsMigration } from '../../src/backend/store/migration-listing-rows';
import { fromList, fromRow, toRow } from '../../src/protocol/experiment-list';
import type { Experiment } from '../../src/protocol/experiments';
import { tempHome } from './helpers';

const experiment = (id: string, startedAt: string): Experiment => ({
  id,
  projectId: 'p1',
  name: 'train ✓',
  status: 'completed',
  startedAt,
  endedAt: '2026-01-01T00:01:00.000Z',
  durationMs: 60000,
  exitCode: 0,
  operator: 'ada',
  params: { lr: 0.1, größe: [1, 2], nested: { a: null } },
  tags: { kind: 'test' },
  metrics: [
    { key: 'loss', count: 3, last: null, lastStep: 2, min: 0.1, max: 0.9, lastRaw: 'NaN' },
    { key: 'acc', count: 1, last: 0.5, lastStep: 0, min: 0.5, max: 0.5, lastRaw: 0.5 },
  ],
  dir: '/runs/x',
});

describe('experiment listing (row tuples on the wire, cached until a write)', () => {
  it('leaves out the dir of a run in the list’s runs folder, and gives it back', () => {
    const e = {
      ...experiment('20260101-000000-aaaaaa', '2026-01-01T00:00:00.000Z'),
      dir: '/lab/runs/20260101-000000-aaaaaa',
    };
    const row = toRow(e, '/lab/runs/');
    assert.strictEqual(row[11], null);
    assert.deepStrictEqual(fromList({ projectId: 'p1', runs: '/lab/runs/', rows: [row] }), [e]);
    const elsewhere = { ...e, dir: '/elsewhere/20260101-000000-aaaaaa' };
    assert.strictEqual(toRow(elsewhere, '/lab/runs/')[11], '/elsewhere/20260101-000000-aaaaaa');
    assert.deepStrictEqual(fromList({ projectId: 'p1', runs: '/lab/runs/', rows: [toRow(elsewhere, '/lab/runs/')] }), [
      elsewhere,
    ]);
  });

  it('round-trips every field of an Experiment through its row', () => {
    const e = experiment('20260101-000000-aaaaaa', '2026-01-01T00:00:00.000Z');
    const row = JSON.parse(JSON.stringify(toRow(e))) as ReturnType<typeof toRow>;
    assert.deepStrictEqual(fromRow('p1', row), e);
    assert.deepStrictEqual(fromList({ projectId: 'p1', rows: [row] }), [e]);
  });

  describe('in the store', () => {
    let cleanup: () => void;
    let store: Store;
    beforeEach(async () => {
      let home: string;
      ({ home, cleanup } = tempHome());
      store = await Store.open(path.join(home, 'db'), new MemoryLogger());
      await store.write((tx) =>
        tx.run("INSERT INTO projects (id, name, created_at, updated_at) VALUES ('p1', 'p', 'now', 'now')"),
      );
    });
    afterEach(() => {
      store.close();
      cleanup();
    });

    /** A row as schema version 4 wrote it: `listing` = the Experiment object. */
    const insertLegacy = (e: Experiment) =>
      store.write((tx) =>
        tx.run(
          `INSERT INTO experiments (id, project_id, name, status, started_at, ended_at, exit_code, operator, params,
             tags, dir, manifest, logged, events_offset, corrupt_lines, skipped_points, listing)
           VALUES (?, 'p1', ?, ?, ?, ?, 0, ?, '{}', '{}', ?, '{}', '{}', 0, 0, 0, ?)`,
          [e.id, e.name, e.status, e.startedAt, e.endedAt, e.operator, e.dir, JSON.stringify(e)],
        ),
      );

    it('migration 5 rewrites listings written as Experiment objects into rows, losing nothing', async () => {
      const older = experiment('20260101-000000-aaaaaa', '2026-01-01T00:00:00.000Z');
      const newer = experiment('20260102-000000-bbbbbb', '2026-01-02T00:00:00.000Z');
      await insertLegacy(older);
      await insertLegacy(newer);
      await store.write((tx) => listingAsRowsMigration(tx));
      const repo = new ExperimentRepository(store);
      assert.deepStrictEqual(repo.list('p1'), [newer, older]);
      assert.deepStrictEqual(repo.get(older.id), older);
      assert.ok(!repo.listJson('p1').includes('"lastStep"'), 'the listing holds rows, not objects');
    });

    it('lists thousands of runs in chunks, newest first, with ties at the chunk boundaries in id order', async () => {
      // 4,500 runs; every 7 share a start time, so ties fall on the boundaries of the 2,000-run chunks
      const all: Experiment[] = [];
      await store.write((tx) => {
        for (let i = 0; i < 4500; i++) {
          const startedAt = new Date(Date.UTC(2026, 0, 1) + Math.floor(i / 7) * 1000).toISOString();
          const e = experiment(`20260101-${String(i).padStart(6, '0')}-${(i * 7919) % 997}`, startedAt);
          all.push(e);
          tx.run(
            `INSERT INTO experiments (id, project_id, name, status, started_at, ended_at, exit_code, operator, params,
               tags, dir, manifest, logged, events_offset, corrupt_lines, skipped_points, listing)
             VALUES (?, 'p1', ?, ?, ?, ?, 0, ?, '{}', '{}', ?, '{}', '{}', 0, 0, 0, ?)`,
            [e.id, e.name, e.status, e.startedAt, e.endedAt, e.operator, e.dir, JSON.stringify(toRow(e))],
          );
        }
      });
      const expected = all
        .slice()
        .sort((a, b) => (a.startedAt !== b.startedAt ? (a.startedAt < b.startedAt ? 1 : -1) : a.id < b.id ? 1 : -1));
      const listed = new ExperimentRepository(store).list('p1');
      assert.strictEqual(listed.length, 4500);
      assert.deepStrictEqual(
        listed.map((e) => e.id),
        expected.map((e) => e.id),
      );
    });

    it('a listing taken before a write is never served after it', async () => {
      // (rows are inserted behind the repository's back here, so each phase starts a new one)
      await insertLegacy(experiment('20260101-000000-aaaaaa', '2026-01-01T00:00:00.000Z'));
      await insertLegacy(experiment('20260103-000000-cccccc', '2026-01-03T00:00:00.000Z'));
      await store.write((tx) => listingAsRowsMigration(tx));
      const repo = new ExperimentRepository(store);
      assert.strictEqual(repo.list('p1').length, 2);
      assert.strictEqual(repo.listJson('p1'), repo.listJson('p1'), 'unchanged: the same listing');
      await store.write((tx) => assert.ok(repo.remove(tx, '20260101-000000-aaaaaa')));
      assert.strictEqual(repo.list('p1').length, 1);
      // a write that fails is rolled back: the listing read after it shows the state before it
      await assert.rejects(
        store.write((tx) => {
          repo.remove(tx, '20260103-000000-cccccc');
          throw new Error('disk full');
        }),
        /disk full/,
      );
      assert.deepStrictEqual(
        repo.list('p1').map((e) => e.id),
        ['20260103-000000-cccccc'],
      );
    });
  });
});

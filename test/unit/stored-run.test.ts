import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { emptyLogged, type Logged } from '../../src/backend/experiments/repository';
import { loggedOf, manifestOfRow, storedLogged, storedManifest } from '../../src/backend/experiments/stored-run';
import { MemoryLogger } from '../../src/backend/log';
import { Store } from '../../src/backend/store/database';
import { storedManifestsMigration } from '../../src/backend/store/migration-stored-manifests';
import { ApiClient } from '../../src/client/api-client';
import { appendEvents, DEAD_PID, manifest, metricLine, until, writeManifest } from './experiments-helpers';
import { startBackend, tempHome, TEST_TOKEN } from './helpers';

const ID = '20260102-030405-abcdef';

describe('stored manifests: the run.json stays in the run directory, the row keeps what the ingest needs', function () {
  this.timeout(60000);
  let home: string;
  let cleanup: () => void;
  let backend: Backend | undefined;
  let client: ApiClient | undefined;
  beforeEach(() => ({ home, cleanup } = tempHome()));
  afterEach(async () => {
    client?.dispose();
    await backend?.stop('test step');
    backend = undefined;
    cleanup();
  });

  async function start(): Promise<ApiClient> {
    backend = await startBackend(home, new MemoryLogger());
    client = new ApiClient(backend.port, TEST_TOKEN);
    return client;
  }

  it('keeps no field twice and none of what only the file needs, and gives back the rest', () => {
    const m = manifest(ID, {
      status: 'completed',
      endedAt: '2026-01-02T03:05:05.000Z',
      exitCode: 0,
      packages: 'packages.txt',
      git: { commit: 'a'.repeat(40), branch: 'main', dirty: true, diff: 'git.diff' },
    });
    const kept = JSON.parse(storedManifest(m)) as Record<string, unknown>;
    assert.deepStrictEqual(Object.keys(kept).sort(), [
      'endedAt',
      'exitCode',
      'format',
      'host',
      'pid',
      'project',
      'status',
    ]);
    assert.deepStrictEqual(kept.host, { hostname: m.host.hostname });
    const row = {
      id: ID,
      name: m.name,
      operator: m.operator,
      started_at: m.startedAt,
      params: JSON.stringify(m.params),
      tags: JSON.stringify(m.tags),
      manifest: storedManifest(m),
    };
    const back = manifestOfRow(row);
    for (const f of [
      'format',
      'id',
      'name',
      'project',
      'status',
      'startedAt',
      'endedAt',
      'exitCode',
      'pid',
      'operator',
    ] as const) {
      assert.deepStrictEqual(back[f], m[f], f);
    }
    assert.deepStrictEqual(back.params, m.params);
    assert.deepStrictEqual(back.tags, m.tags);
    assert.strictEqual(back.host.hostname, m.host.hostname);
    assert.deepStrictEqual(
      [back.command, back.git, back.packages],
      [[], null, null],
      'what only the file holds is empty',
    );
    // unknown fields a newer client writes are kept
    assert.strictEqual(
      (JSON.parse(storedManifest({ ...m, newField: 1 } as typeof m)) as { newField: number }).newField,
      1,
    );
  });

  it('keeps what a run logged without its empty fields, and reads both forms back whole', () => {
    const full: Logged = {
      params: { epochs: 3 },
      tags: {},
      artifacts: [],
      inputs: [{ dataset: 'iris.csv', version: 2 }],
      outputs: [],
      result: 0,
      final: null,
    };
    const text = storedLogged(full);
    assert.strictEqual(text, '{"params":{"epochs":3},"inputs":[{"dataset":"iris.csv","version":2}],"result":0}');
    assert.deepStrictEqual(loggedOf(text), full);
    assert.deepStrictEqual(loggedOf(JSON.stringify(emptyLogged())), emptyLogged(), 'a row written whole');
    assert.deepStrictEqual(loggedOf(storedLogged(emptyLogged())), emptyLogged());
    assert.strictEqual(storedLogged({ ...emptyLogged(), warnings: [], moreWarnings: 0 }), '{}');
  });

  it('migration 8 turns whole manifests into kept fields and the manifest’s own params and tags', async () => {
    const store = await Store.open(path.join(home, 'db'), new MemoryLogger());
    const m = manifest(ID, { params: { lr: 0.5 }, tags: { a: 'b' } });
    await store.write((tx) =>
      tx.run(
        `INSERT INTO experiments (id, project_id, name, status, started_at, ended_at, exit_code, operator, params,
           tags, dir, manifest, logged, events_offset, corrupt_lines, skipped_points, listing)
         VALUES (?, 'p1', ?, 'running', ?, NULL, NULL, ?, ?, ?, '/runs/x', ?, '{}', 0, 0, 0, '[]')`,
        // params and tags as version 7 wrote them: merged with the logged ones
        [ID, m.name, m.startedAt, m.operator, '{"lr":0.5,"epochs":3}', '{"a":"b","c":"d"}', JSON.stringify(m)],
      ),
    );
    await store.write((tx) => storedManifestsMigration(tx));
    const row = store.get('SELECT * FROM experiments WHERE id = ?', [ID])!;
    assert.strictEqual(row.manifest, storedManifest(m));
    assert.deepStrictEqual([row.params, row.tags], ['{"lr":0.5}', '{"a":"b"}']);
    store.close();
  });

  it('details read run.json from the run directory, and say what is missing when it cannot be read', async () => {
    writeManifest(
      home,
      manifest(ID, {
        status: 'completed',
        endedAt: '2026-01-02T03:05:05.000Z',
        exitCode: 0,
        pid: DEAD_PID,
        command: ['python', 'x.py'],
      }),
    );
    appendEvents(home, ID, metricLine('loss', 0.5, 0));
    const c = await start();
    await c.setActiveProject((await c.createProject('Lab')).id);
    await until('the run', async () => (await c.listExperiments()).find((e) => e.id === ID));
    const whole = await c.getExperiment(ID);
    assert.deepStrictEqual(whole.manifest.command, ['python', 'x.py']);
    assert.deepStrictEqual(whole.warnings, []);

    // run.json replaced by a link: not followed; the details show what the lab kept, and say so
    const file = path.join(home, 'runs', ID, 'run.json');
    fs.renameSync(file, `${file}.real`);
    fs.symlinkSync(`${file}.real`, file);
    const kept = await c.getExperiment(ID);
    assert.strictEqual(kept.manifest.name, `run ${ID}`);
    assert.deepStrictEqual(kept.manifest.params, { lr: 0.01 });
    assert.deepStrictEqual(kept.manifest.command, []);
    assert.match(
      kept.warnings?.[0] ?? '',
      /^run\.json could not be read \(.*symbolic link.*\): its command, working folder, script, runtime, packages, git state and host details are not shown/,
    );
  });

  it('a stored run whose run.json is refused after a restart keeps its name, params and tags while its events go in', async () => {
    writeManifest(
      home,
      manifest(ID, { pid: DEAD_PID, status: 'completed', endedAt: '2026-01-02T03:05:05.000Z', exitCode: 0 }),
    );
    appendEvents(home, ID, metricLine('loss', 0.5, 0));
    let c = await start();
    await c.setActiveProject((await c.createProject('Lab')).id);
    await until('the run', async () => (await c.listExperiments()).find((e) => e.id === ID));
    c.dispose();
    await backend!.stop('test step');
    const file = path.join(home, 'runs', ID, 'run.json');
    fs.renameSync(file, `${file}.real`);
    fs.symlinkSync(`${file}.real`, file);
    appendEvents(home, ID, metricLine('loss', 0.25, 1));
    c = await start();
    const e = await until('the new point', async () =>
      (await c.listExperiments()).find((x) => x.id === ID && x.metrics[0]?.count === 2),
    );
    assert.strictEqual(e.name, `run ${ID}`);
    assert.strictEqual(e.status, 'completed');
    assert.deepStrictEqual(e.params, { lr: 0.01 });
    assert.deepStrictEqual(e.tags, { kind: 'test' });
  });
});

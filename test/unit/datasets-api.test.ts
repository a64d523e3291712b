import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { ApiClient, BackendError } from '../../src/client/api-client';
import { localPath } from '../../src/client/datasets';
import { EventStream } from '../../src/client/event-stream';
import type { BackendEvent } from '../../src/protocol/api';
import { errorOf, raw, startBackend, tempHome, TEST_TOKEN } from './helpers';

function write(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

const sha256 = (data: Buffer | string) => crypto.createHash('sha256').update(data).digest('hex');

describe('datasets over the REST API (real files, real blob store)', function () {
  this.timeout(60000);
  let backend: Backend;
  let client: ApiClient;
  let home: string;
  let root: string;
  let cleanup: () => void;

  beforeEach(async () => {
    const t = tempHome();
    ({ home, cleanup } = t);
    root = path.dirname(home);
    backend = await startBackend(home);
    client = new ApiClient(backend.port, TEST_TOKEN);
    const project = await client.createProject('Lab');
    await client.setActiveProject(project.id);
  });
  afterEach(async () => {
    client.dispose();
    await backend.stop('test done');
    cleanup();
  });

  it('adds a file as v1, v2, ... with its details, storing identical content once', async () => {
    const csv = path.join(root, 'iris.csv');
    write(csv, 'sepal,petal\n1,2\n');
    const v1 = await client.addDataset({ path: csv, description: 'first', tags: ['raw'] });
    assert.strictEqual(v1.name, 'iris.csv');
    assert.strictEqual(v1.version, 1);
    assert.strictEqual(v1.kind, 'file');
    assert.strictEqual(v1.mediaType, 'text/csv');
    assert.strictEqual(v1.size, 16);
    assert.strictEqual(v1.sha256, sha256('sepal,petal\n1,2\n'));
    assert.deepStrictEqual(v1.tags, ['raw']);
    assert.strictEqual(v1.description, 'first');
    assert.ok(v1.operator.length > 0);
    assert.strictEqual(fs.readFileSync(v1.path, 'utf8'), 'sepal,petal\n1,2\n');
    assert.strictEqual(fs.statSync(v1.path).mode & 0o222, 0, 'stored content is read-only');

    const v2 = await client.addDataset({ path: csv, name: 'iris.csv' });
    assert.strictEqual(v2.version, 2);
    assert.strictEqual(v2.path, v1.path, 'same content, same blob');
    write(csv, 'sepal,petal\n3,4\n');
    const v3 = await client.addDataset({ path: csv });
    assert.strictEqual(v3.version, 3);
    assert.notStrictEqual(v3.sha256, v1.sha256);

    const [dataset] = await client.listDatasets();
    assert.deepStrictEqual(
      dataset.versions.map((v) => v.version),
      [1, 2, 3],
    );
    assert.strictEqual((await client.getDatasetVersion('IRIS.csv')).version, 3, 'latest, name case-insensitive');
    assert.strictEqual((await client.getDatasetVersion('iris.csv', 2)).sha256, v1.sha256);
    assert.strictEqual(fs.readdirSync(path.join(home, 'blobs', 'sha256')).length, 2);
  });

  it('packages a folder into one zip that unpacks to byte-identical files', async () => {
    const folder = path.join(root, 'images');
    const random = crypto.randomBytes(300_000);
    write(path.join(folder, 'a.txt'), 'hello\n');
    write(path.join(folder, 'nested', 'deeper', 'b.bin'), random);
    write(path.join(folder, 'données', 'модель.csv'), 'x,y\n');
    write(path.join(folder, 'empty.txt'), '');
    fs.mkdirSync(path.join(folder, 'empty-dir'));
    const v = await client.addDataset({ path: folder });
    assert.strictEqual(v.name, 'images');
    assert.strictEqual(v.kind, 'package');
    assert.strictEqual(v.mediaType, 'application/zip');
    assert.strictEqual(v.fileName, 'images.zip');
    assert.strictEqual(v.fileCount, 4);
    assert.strictEqual(v.unpackedSize, 6 + 300_000 + 4);
    assert.strictEqual(sha256(fs.readFileSync(v.path)), v.sha256);
    const unpacked = await localPath(home, v, true);
    assert.strictEqual(unpacked, path.join(home, 'cache', 'datasets', v.sha256));
    assert.ok(fs.readFileSync(path.join(unpacked, 'nested', 'deeper', 'b.bin')).equals(random));
    assert.strictEqual(fs.readFileSync(path.join(unpacked, 'données', 'модель.csv'), 'utf8'), 'x,y\n');
    assert.strictEqual(fs.readFileSync(path.join(unpacked, 'empty.txt'), 'utf8'), '');
    assert.ok(fs.statSync(path.join(unpacked, 'empty-dir')).isDirectory());
    assert.strictEqual(await localPath(home, v, true), unpacked, 'unpacked once, then reused');
    assert.strictEqual(await localPath(home, v, false), v.path);
  });

  it('reports packaging progress on the event stream', async () => {
    const folder = path.join(root, 'many');
    for (let i = 0; i < 200; i++) {
      write(path.join(folder, `f${i}.bin`), crypto.randomBytes(50_000));
    }
    const events: BackendEvent[] = [];
    const stream = new EventStream(
      client,
      (e) => events.push(e),
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 100));
    const v = await client.addDataset({ path: folder, operationId: 'op-1' });
    await waitUntil(() => events.some((e) => e.type === 'datasetVersionAdded'));
    stream.dispose();
    const progress = events.flatMap((e) => (e.type === 'operationProgress' ? [e.progress] : []));
    assert.ok(progress.length >= 1);
    assert.ok(progress.every((p) => p.operationId === 'op-1' && p.phase === 'packaging'));
    const last = progress[progress.length - 1];
    assert.strictEqual(last.files, 200);
    assert.strictEqual(last.totalFiles, 200);
    assert.strictEqual(last.bytes, last.totalBytes);
    assert.ok(events.some((e) => e.type === 'datasetVersionAdded' && e.version.id === v.id));
  });

  it('cancels an add when the client goes away, leaving nothing behind', async () => {
    const folder = path.join(root, 'big');
    for (let i = 0; i < 40; i++) {
      write(path.join(folder, `f${i}.bin`), crypto.randomBytes(5_000_000));
    }
    const abort = new AbortController();
    const adding = client.addDataset({ path: folder, operationId: 'op-cancel' }, abort.signal);
    setTimeout(() => abort.abort(), 150);
    await assert.rejects(adding, (e: BackendError) => e.code === 'cancelled');
    await waitUntil(() => fs.readdirSync(path.join(home, 'tmp')).length === 0);
    assert.deepStrictEqual(await client.listDatasets(), []);
    assert.ok(!fs.existsSync(path.join(home, 'blobs')) || listBlobs(home).length === 0);
  });

  it('cancels an add through POST /api/operations/:id/cancel', async () => {
    const folder = path.join(root, 'big2');
    for (let i = 0; i < 40; i++) {
      write(path.join(folder, `f${i}.bin`), crypto.randomBytes(5_000_000));
    }
    const adding = raw(backend.port, 'POST', '/api/datasets', {
      body: JSON.stringify({ path: folder, operationId: 'op-2' }),
    });
    await new Promise((r) => setTimeout(r, 150));
    const cancel = await raw(backend.port, 'POST', '/api/operations/op-2/cancel');
    assert.strictEqual(cancel.status, 202);
    const res = await adding;
    assert.strictEqual(res.status, 499);
    assert.match(errorOf(res).message, /cancelled; nothing was stored/);
    assert.deepStrictEqual(fs.readdirSync(path.join(home, 'tmp')), []);
  });

  it('deletes versions, removing content no other version shares; deleting the project removes its datasets', async () => {
    const csv = path.join(root, 'd.csv');
    write(csv, 'a\n1\n');
    const v1 = await client.addDataset({ path: csv });
    const v2 = await client.addDataset({ path: csv });
    await client.deleteDatasetVersion('d.csv', 1);
    assert.ok(fs.existsSync(v2.path), 'shared content stays while v2 uses it');
    await client.deleteDatasetVersion('d.csv', 2);
    assert.ok(!fs.existsSync(v1.path), 'unshared content is removed');
    const v3 = await client.addDataset({ path: csv });
    assert.strictEqual(v3.version, 3, 'version numbers are never reused');

    const active = (await client.activeProject()).projectId!;
    const contents = await client.projectContents(active);
    assert.deepStrictEqual(contents.records, { datasets: 1, 'dataset versions': 1, experiments: 0 });
    await client.deleteProject(active);
    assert.ok(!fs.existsSync(v3.path));
  });

  it('answers bad input with messages a person can act on, storing nothing', async () => {
    const port = backend.port;
    const cases: Array<[string, () => Promise<{ status: number; text: string }>, number, RegExp]> = [
      [
        'relative path',
        () => raw(port, 'POST', '/api/datasets', { body: '{"path":"data/x.csv"}' }),
        400,
        /not an absolute path/,
      ],
      [
        'missing path',
        () => raw(port, 'POST', '/api/datasets', { body: JSON.stringify({ path: path.join(root, 'nope.csv') }) }),
        400,
        /does not exist/,
      ],
      [
        'bad name',
        () => raw(port, 'POST', '/api/datasets', { body: JSON.stringify({ path: root, name: '../x' }) }),
        400,
        /looks like a path/,
      ],
      [
        'empty folder',
        () => {
          fs.mkdirSync(path.join(root, 'empty'));
          return raw(port, 'POST', '/api/datasets', { body: JSON.stringify({ path: path.join(root, 'empty') }) });
        },
        400,
        /empty/,
      ],
      [
        'unknown dataset',
        () => raw(port, 'GET', '/api/datasets/ghost/versions/latest'),
        404,
        /No dataset called "ghost"/,
      ],
      ['bad version', () => raw(port, 'GET', '/api/datasets/ghost/versions/v0'), 400, /Invalid request/],
      [
        'delete latest',
        () => raw(port, 'DELETE', '/api/datasets/ghost/versions/latest'),
        400,
        /Name the version to delete/,
      ],
      ['unknown project', () => raw(port, 'GET', '/api/datasets?project=nope'), 404, /No project is called/],
      [
        'unknown operation',
        () => raw(port, 'POST', '/api/operations/nope/cancel'),
        404,
        /No operation "nope" is running/,
      ],
    ];
    for (const [what, send, status, message] of cases) {
      const res = await send();
      assert.strictEqual(res.status, status, `${what}: ${res.text}`);
      assert.match((JSON.parse(res.text) as { error: { message: string } }).error.message, message, what);
    }
    await client.setActiveProject(null);
    const none = await raw(port, 'GET', '/api/datasets');
    assert.strictEqual(none.status, 400);
    assert.match(errorOf(none).message, /No project is active/);
    assert.deepStrictEqual(fs.existsSync(path.join(home, 'tmp')) ? fs.readdirSync(path.join(home, 'tmp')) : [], []);
  });
});

describe('datasets when the disk fills up', function () {
  this.timeout(60000);

  it('fails with a clear message, removes the partial file and keeps the store consistent', async function () {
    const { home, cleanup } = tempHome();
    fs.mkdirSync(home, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', home], { stdio: 'ignore' });
    } catch {
      cleanup();
      this.skip(); // needs root to mount a small file system; the logic is the same without it
    }
    const backend = await startBackend(home);
    const client = new ApiClient(backend.port, TEST_TOKEN);
    try {
      const project = await client.createProject('Full');
      await client.setActiveProject(project.id);
      const big = path.join(path.dirname(home), 'big.bin');
      fs.writeFileSync(big, crypto.randomBytes(20_000_000));
      await assert.rejects(client.addDataset({ path: big }), (e: BackendError) => {
        assert.strictEqual(e.status, 507);
        assert.match(e.message, /disk of the lab home is full: free some space/);
        return true;
      });
      assert.deepStrictEqual(fs.readdirSync(path.join(home, 'tmp')), []);
      assert.deepStrictEqual(await client.listDatasets(), []);
      // a full disk also refuses metadata writes: rolled back, nothing half-written in the journal
      const filler = path.join(home, 'filler');
      assert.throws(() => fs.writeFileSync(filler, Buffer.alloc(9_000_000)), /ENOSPC/);
      // (9 KB of description: more than the room left in the journal's last allocated page)
      await assert.rejects(
        client.createProject('Refused', 'x'.repeat(9_000)),
        (e: BackendError) => e.status === 507 && /disk .* is full/.test(e.message),
      );
      fs.rmSync(filler);
      assert.deepStrictEqual(
        (await client.listProjects()).map((p) => p.name),
        ['Full'],
      );
      const small = path.join(path.dirname(home), 'small.csv');
      fs.writeFileSync(small, 'a\n1\n');
      const v = await client.addDataset({ path: small });
      assert.strictEqual(v.version, 1, 'the store still works once there is room');
      await backend.stop('restart');
      const again = await startBackend(home);
      const c2 = new ApiClient(again.port, TEST_TOKEN);
      assert.deepStrictEqual(
        (await c2.listProjects()).map((p) => p.name),
        ['Full'],
        'the journal replays cleanly',
      );
      assert.strictEqual((await c2.listDatasets(project.id)).length, 1);
      c2.dispose();
      await again.stop('test done');
    } finally {
      client.dispose();
      await backend.stop('test done');
      execFileSync('umount', [home]);
      cleanup();
    }
  });
});

function listBlobs(home: string): string[] {
  const root = path.join(home, 'blobs', 'sha256');
  return fs.existsSync(root) ? fs.readdirSync(root).flatMap((d) => fs.readdirSync(path.join(root, d))) : [];
}

async function waitUntil(predicate: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

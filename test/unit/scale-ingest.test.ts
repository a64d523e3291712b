import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import { MemoryLogger } from '../../src/backend/log';
import { ApiClient } from '../../src/client/api-client';
import { EventStream } from '../../src/client/event-stream';
import type { BackendEvent } from '../../src/protocol/api';
import { manifest, metricLine, until, writeManifest } from './experiments-helpers';
import { startBackend, tempHome, TEST_TOKEN } from './helpers';

/** the fs module itself (the import above is a read-only view of it): its opens are made to fail */
const nodeFs = require('fs') as { openSync: typeof fs.openSync };

/** `n` finished runs of `points` points each, as copied into the lab home; returns their ids. */
function copyRuns(home: string, n: number, points: number, prefix = '20260101-0000'): string[] {
  const ids: string[] = [];
  let events = '';
  for (let s = 0; s < points; s++) {
    events += metricLine('loss', 1 / (1 + s), s);
  }
  for (let i = 0; i < n; i++) {
    const id = `${prefix}${String(Math.floor(i / 60) % 60).padStart(2, '0')}-${i.toString(16).padStart(6, '0')}`;
    const dir = writeManifest(
      home,
      manifest(id, { status: 'completed', endedAt: '2026-01-02T03:14:05.000Z', exitCode: 0, pid: 1 }),
    );
    fs.writeFileSync(path.join(dir, 'events.jsonl'), events);
    ids.push(id);
  }
  return ids;
}

describe('scale: a backlog of runs is ingested whole, said once, and survives running out of descriptors', function () {
  this.timeout(300000);
  let backend: Backend | undefined;
  let client: ApiClient | undefined;
  let stream: EventStream | undefined;
  let home: string;
  let cleanup: () => void;
  let log: MemoryLogger;
  const realOpen = fs.openSync;

  beforeEach(() => {
    ({ home, cleanup } = tempHome());
    log = new MemoryLogger();
  });
  afterEach(async () => {
    nodeFs.openSync = realOpen;
    stream?.dispose();
    client?.dispose();
    await backend?.stop('test step');
    backend = undefined;
    cleanup();
  });

  it('says once how many runs wait for a project, then ingests all of them with progress events', async () => {
    const ids = copyRuns(home, 300, 3);
    backend = await startBackend(home, log);
    client = new ApiClient(backend.port, TEST_TOKEN);
    await until('the waiting runs', async () => ((await client!.status()).waitingRuns === 300 ? true : undefined));
    const isWaiting = (l: string) => l.includes('wait for an active project') || l.includes(' waits for');
    await until('the line that says so', () => (log.lines.some(isWaiting) ? true : undefined));
    await new Promise((r) => setTimeout(r, 300)); // any other line would come now
    const waiting = log.lines.filter(isWaiting);
    assert.deepStrictEqual(
      waiting.map((l) => l.replace(/^.*experiments: /, '')),
      ['300 runs wait for an active project: they are ingested once one is active'],
    );
    const events: BackendEvent[] = [];
    stream = new EventStream(
      client,
      (e) => events.push(e),
      () => undefined,
    );
    await until('the event stream', () => (events.length > 0 ? true : undefined));
    const p = await client.createProject('Lab'); // the first project becomes the active one
    const listed = await until('every run', async () => {
      const list = await client!.listExperiments(p.id);
      return list.length === ids.length ? list : undefined;
    });
    assert.deepStrictEqual(
      listed.map((e) => [e.metrics[0]?.count, e.metrics[0]?.last]),
      ids.map(() => [3, 1 / 3]),
    );
    const last = await until('the last progress event', () =>
      events.find((e) => e.type === 'ingestProgress' && e.done === e.total),
    );
    assert.deepStrictEqual(last, { type: 'ingestProgress', done: 300, total: 300 });
    // a backlog is not announced run by run
    assert.ok(events.filter((e) => e.type === 'experimentUpdated').length < 300);
    assert.strictEqual((await client.status()).waitingRuns, 0);
  });

  it('retries every run whose files could not be opened for want of descriptors (EMFILE), dropping none', async () => {
    backend = await startBackend(home, log);
    client = new ApiClient(backend.port, TEST_TOKEN);
    const p = await client.createProject('Lab');
    // from now on, a third of the opens of run and metric files fail as they do at the limit (300 of them)
    let seed = 7;
    let refused = 0;
    const runs = path.join(home, 'runs');
    const metrics = path.join(home, 'metrics');
    nodeFs.openSync = ((file: fs.PathLike, ...rest: unknown[]) => {
      const name = String(file);
      seed = (seed * 1103515245 + 12345) % 2147483648;
      if ((name.startsWith(runs) || name.startsWith(metrics)) && seed % 3 === 0 && refused < 300) {
        refused++;
        throw Object.assign(new Error(`EMFILE: too many open files, open '${name}'`), { code: 'EMFILE' });
      }
      return (realOpen as (...a: unknown[]) => number)(file, ...rest);
    }) as typeof fs.openSync;
    const ids = copyRuns(home, 200, 5);
    const listed = await until(
      'every run with every point',
      async () => {
        const list = await client!.listExperiments(p.id);
        return list.length === ids.length && list.every((e) => e.metrics[0]?.count === 5) ? list : undefined;
      },
      60000,
    ).catch(async (e: Error) => {
      const list = await client!.listExperiments(p.id);
      throw new Error(
        `${e.message}: ${list.length} listed, ${list.filter((x) => x.metrics[0]?.count === 5).length} complete, backlog ${backend!.experiments.backlog}\n${log.lines.slice(-30).join('\n')}`,
      );
    });
    nodeFs.openSync = realOpen;
    assert.ok(refused > 50, `opens refused: ${refused}`);
    assert.deepStrictEqual(listed.map((e) => e.id).sort(), [...ids].sort());
    const series = await client.getMetricSeries(ids[17], 'loss');
    assert.deepStrictEqual(series.steps, [0, 1, 2, 3, 4]);
    assert.ok(
      log.lines.filter((l) => l.includes('EMFILE')).length <= 2,
      `EMFILE is said once per backlog, not per run:\n${log.lines.filter((l) => l.includes('EMFILE')).join('\n')}`,
    );
    assert.ok(!log.lines.some((l) => l.includes('ingest failed')), log.lines.join('\n'));
  });

  it('stops within one slice while a backlog is being ingested; the next start ingests the rest', async () => {
    const ids = copyRuns(home, 3000, 2);
    backend = await startBackend(home, log);
    client = new ApiClient(backend.port, TEST_TOKEN);
    await client.createProject('Lab');
    await until('the ingest to start', () => (backend!.experiments.backlog < 3000 ? true : undefined));
    assert.ok(backend.experiments.backlog > 0, 'stopped in the middle of the backlog');
    client.dispose();
    client = undefined;
    await backend.stop('test step');
    backend = await startBackend(home, log);
    client = new ApiClient(backend.port, TEST_TOKEN);
    // 3,000 runs on a loaded machine take longer than the default wait
    const listed = await until(
      'every run',
      async () => {
        const list = await client!.listExperiments();
        return list.length === ids.length ? list : undefined;
      },
      120000,
    );
    assert.ok(listed.every((e) => e.metrics[0]?.count === 2));
  });
});

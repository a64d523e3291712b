import * as assert from 'assert';
import type { Backend } from '../../src/backend/app';
import { ApiClient, BackendError } from '../../src/client/api-client';
import { errorOf, raw, startBackend, tempHome, TEST_TOKEN } from './helpers';

describe('schedules and dependencies over the API (bad input, no Docker needed)', function () {
  this.timeout(30000);
  let home: string;
  let cleanup: () => void;
  let backend: Backend;
  let client: ApiClient;

  before(async () => {
    ({ home, cleanup } = tempHome());
    backend = await startBackend(home);
    client = new ApiClient(backend.port, TEST_TOKEN);
    const project = await client.createProject('Lab');
    await client.setActiveProject(project.id);
    for (const name of ['a', 'b', 'c']) {
      await client.createJob({ name, image: 'example/none:1', command: ['true'] });
    }
  });
  after(async () => {
    client.dispose();
    await backend.stop('test done');
    cleanup();
  });

  async function failure(p: Promise<unknown>): Promise<BackendError> {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof BackendError, String(e));
      return e;
    }
    throw new Error('it succeeded');
  }

  it('refuses an invalid cron expression naming the field, and an unknown time zone', async () => {
    const e = await failure(client.scheduleJob('a', { cron: '0 25 * * *' }));
    assert.strictEqual(e.status, 400);
    assert.strictEqual(e.message, `Invalid cron expression "0 25 * * *": field 2 (hours) '25' is out of range 0-23.`);
    const z = await failure(client.scheduleJob('a', { cron: '0 2 * * *', timeZone: 'Europe/Atlantis' }));
    assert.strictEqual(z.status, 400);
    assert.match(z.message, /Unknown time zone "Europe\/Atlantis"/);
    const res = await raw(backend.port, 'PUT', '/api/jobs/a/schedule', {
      body: JSON.stringify({ cron: '@daily', overlap: 'never' }),
    });
    assert.strictEqual(res.status, 400);
    assert.match(errorOf(res).message, /overlap/);
    const never = await failure(client.scheduleJob('a', { cron: '0 0 30 2 *' }));
    assert.deepStrictEqual([never.status, never.code], [400, 'invalid_cron']);
    assert.strictEqual((await client.listSchedules()).length, 0, 'nothing saved');
    const none = await failure(client.scheduleJob('nope', { cron: '@daily' }));
    assert.strictEqual(none.status, 404);
    assert.match(none.message, /No job called "nope"/);
  });

  it('schedules, describes, disables, edits and removes', async () => {
    const s = await client.scheduleJob('a', { cron: '30 2 * * 1', timeZone: 'Europe/Berlin', missed: 'runOnce' });
    assert.strictEqual(s.description, 'At 02:30, only on Monday');
    assert.strictEqual(s.nextRuns.length, 5);
    assert.ok(
      s.nextRuns.every((t) => /T02:30:00\.000\+0[12]:00$/.test(t)),
      s.nextRuns.join(' '),
    );
    assert.deepStrictEqual([s.overlap, s.missed, s.enabled], ['skip', 'runOnce', true]);
    const off = await client.updateSchedule('a', { enabled: false });
    assert.deepStrictEqual([off.enabled, off.nextRuns], [false, []]);
    const edited = await client.updateSchedule('a', { cron: '@hourly', enabled: true });
    assert.deepStrictEqual(
      [edited.cron, edited.timeZone, edited.description],
      ['@hourly', 'Europe/Berlin', 'Every hour'],
    );
    assert.deepStrictEqual(
      (await client.listSchedules()).map((x) => x.jobName),
      ['a'],
    );
    const preview = await client.previewSchedule('*/15 * * * * *', 'UTC');
    assert.strictEqual(preview.description, 'Every 15 seconds');
    await client.unscheduleJob('a');
    const gone = await failure(client.getSchedule('a'));
    assert.deepStrictEqual([gone.status, gone.code], [404, 'no_schedule']);
    assert.match(gone.message, /mllab job schedule a CRON/);
  });

  it('refuses a cycle and a dependency on a missing job; shows the pipeline', async () => {
    await client.setJobUpstreams('b', ['a']);
    await client.setJobUpstreams('c', ['b']);
    const cycle = await failure(client.setJobUpstreams('a', ['c']));
    assert.strictEqual(cycle.status, 409);
    assert.strictEqual(cycle.message, '"a" cannot run after "c": that makes a cycle a -> b -> c -> a.');
    const missing = await failure(client.setJobUpstreams('c', ['deleted-job']));
    assert.strictEqual(missing.status, 404);
    assert.match(missing.message, /"deleted-job" does not exist/);
    await client.scheduleJob('a', { cron: '0 3 * * *', timeZone: 'UTC' });
    const p = await client.pipeline();
    assert.deepStrictEqual(
      p.edges.map((e) => `${e.from}->${e.to}`),
      ['a->b', 'b->c'],
    );
    assert.deepStrictEqual(p.jobs.find((j) => j.name === 'a')?.schedule?.description, 'At 03:00');
    // the edge goes with the job
    await client.deleteJob('b');
    for (let i = 0; i < 50 && (await client.pipeline()).edges.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepStrictEqual((await client.pipeline()).edges, []);
    await client.setJobUpstreams('c', []);
  });
});

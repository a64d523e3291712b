import * as assert from 'assert';
import type { Backend } from '../../src/backend/app';
import { ApiClient, BackendError } from '../../src/client/api-client';
import { raw, startBackend, tempHome, TEST_TOKEN } from './helpers';

/** Feb 29 at 00:00 UTC of the leap years from `year` on. */
function leapDays(year: number, count: number): string[] {
  const out: string[] = [];
  for (let y = year; out.length < count; y++) {
    if ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0) {
      out.push(`${y}-02-29T00:00:00.000Z`);
    }
  }
  return out;
}

describe('rare and never-firing cron expressions over the real API', function () {
  this.timeout(30000);
  let cleanup: () => void;
  let backend: Backend;
  let client: ApiClient;

  before(async () => {
    let home: string;
    ({ home, cleanup } = tempHome());
    backend = await startBackend(home);
    client = new ApiClient(backend.port, TEST_TOKEN);
    const project = await client.createProject('Rare');
    await client.setActiveProject(project.id);
    for (const name of ['leap', 'daily', 'broken']) {
      await client.createJob({ name, image: 'example/none:1', command: ['true'] });
    }
  });
  after(async () => {
    client.dispose();
    await backend.stop('test done');
    cleanup();
  });

  it('previews, saves and lists 29 February (once in four years) with its next runs, never a 5xx', async () => {
    const now = new Date();
    const firstLeap =
      now.getUTCMonth() < 1 || (now.getUTCMonth() === 1 && now.getUTCDate() < 29)
        ? now.getUTCFullYear()
        : now.getUTCFullYear() + 1;
    const expected = leapDays(firstLeap, 5);
    const preview = await client.previewSchedule('0 0 29 2 *', 'UTC');
    assert.deepStrictEqual(preview.nextRuns, expected);
    assert.strictEqual(preview.nextRun, expected[0]);
    assert.strictEqual(preview.description, 'At 00:00, on day 29 of the month, only in February');
    const saved = await client.scheduleJob('leap', { cron: '0 0 29 2 *', timeZone: 'UTC' });
    assert.deepStrictEqual([saved.nextRuns, saved.nextRun, saved.error], [expected, expected[0], null]);
    await client.scheduleJob('daily', { cron: '@annually', timeZone: 'Europe/Berlin' });
    const list = await client.listSchedules();
    assert.deepStrictEqual(
      list.map((s) => [s.jobName, s.nextRuns.length, s.error]).sort(),
      [
        ['daily', 5, null],
        ['leap', 5, null],
      ].sort(),
    );
  });

  it('still refuses an expression that never fires (30 February), with a 400', async () => {
    const res = await raw(backend.port, 'POST', '/api/schedules/preview', {
      body: JSON.stringify({ cron: '0 0 30 2 *', timeZone: 'UTC' }),
    });
    assert.strictEqual(res.status, 400);
    try {
      await client.scheduleJob('broken', { cron: '0 0 31 4 *' });
      assert.fail('accepted');
    } catch (e) {
      assert.ok(e instanceof BackendError);
      assert.deepStrictEqual([e.status, e.code], [400, 'invalid_cron']);
      assert.match(e.message, /"0 0 31 4 \*" never fires/);
    }
  });

  it('lists a stored schedule that cannot be read any more with an error, and the others as usual', async () => {
    await client.scheduleJob('broken', { cron: '0 3 * * *', timeZone: 'UTC' });
    // as if written by another version: an expression and a zone this one does not take
    await backend.store.write((tx) =>
      tx.run(
        "UPDATE schedules SET cron = '0 0 30 2 *', time_zone = 'Mars/Olympus' WHERE job_id = (SELECT id FROM jobs WHERE name = 'broken')",
      ),
    );
    const list = await client.listSchedules();
    const broken = list.find((s) => s.jobName === 'broken')!;
    assert.deepStrictEqual([broken.nextRuns, broken.nextRun, broken.description], [[], null, '0 0 30 2 *']);
    assert.match(broken.error ?? '', /This schedule cannot fire: .*Mars\/Olympus/);
    assert.strictEqual(list.find((s) => s.jobName === 'leap')?.error, null);
    assert.strictEqual((await client.getSchedule('broken')).error, broken.error);
    assert.strictEqual((await client.pipeline()).jobs.length, 3);
  });
});

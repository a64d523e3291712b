import * as assert from 'assert';
import type { Fire } from '../../src/backend/scheduler/cron-scheduler';
import { CronScheduler } from '../../src/backend/scheduler/cron-scheduler';
import { checkCron, CronExpression, describeCron } from '../../src/backend/scheduler/cron';
import { SchedulerRepository, type ScheduleFields } from '../../src/backend/scheduler/repository';
import { ApiError } from '../../src/backend/errors';
import { at, defineJob, FakeClock, PROJECT, schedulerStore } from './scheduler-helpers';

function cronError(expression: string): string {
  try {
    checkCron(expression);
  } catch (e) {
    assert.ok(e instanceof ApiError && e.statusCode === 400, String(e));
    return e.message;
  }
  throw new Error(`"${expression}" was accepted`);
}

describe('cron expressions (the cron package, checked field by field)', () => {
  it('names the field that is wrong', () => {
    assert.match(cronError('0 25 * * *'), /field 2 \(hours\) '25' is out of range 0-23/);
    assert.match(cronError('61 * * * * *'), /field 1 \(seconds\) '61' is out of range 0-59/);
    assert.match(cronError('* * 0 * *'), /field 3 \(day of month\) '0' is out of range 1-31/);
    assert.match(cronError('* * * 13 *'), /field 4 \(month\) '13' is out of range 1-12/);
    assert.match(cronError('* * * * 9'), /field 5 \(day of week\) '9' is out of range 0-7/);
    assert.match(cronError('*/0 * * * *'), /field 1 \(minutes\) '\*\/0' has a step of zero/);
    assert.match(cronError('* 5-2 * * *'), /field 2 \(hours\) '5-2' has a range whose start is after its end/);
    assert.match(cronError('* * * foo *'), /field 4 \(month\) 'foo' has an unknown name/);
    assert.match(cronError('* * *'), /5 fields .* or 6 .*, not 3/);
    assert.match(cronError('@sometimes'), /Unknown cron shortcut "@sometimes"/);
    assert.throws(() => new CronExpression('0 0 30 2 *', 'UTC'), /"0 0 30 2 \*" never fires/);
  });

  it('takes five and six fields, names and shortcuts, and describes them in words', () => {
    for (const ok of ['0 2 * * *', '*/10 * * * * *', '0 9 * jan-mar mon-fri', '@daily', '@HOURLY', '@weekdays']) {
      checkCron(ok);
    }
    assert.strictEqual(describeCron('30 2 * * 1'), 'At 02:30, only on Monday');
    assert.strictEqual(describeCron('@daily'), 'At 00:00');
    assert.strictEqual(describeCron('*/5 * * * * *'), 'Every 5 seconds');
    assert.strictEqual(new CronExpression('@weekdays', 'UTC').describe(), 'At 00:00, Monday through Friday');
  });

  it('reads an expression in its time zone', () => {
    const from = at('2026-06-01T00:00:00Z');
    assert.strictEqual(new CronExpression('0 9 * * *', 'UTC').nextAfter(from), at('2026-06-01T09:00:00Z'));
    assert.strictEqual(new CronExpression('0 9 * * *', 'Asia/Tokyo').nextAfter(from), at('2026-06-02T00:00:00Z'));
    assert.strictEqual(new CronExpression('0 9 * * *', 'America/New_York').nextAfter(from), at('2026-06-01T13:00:00Z'));
    assert.throws(() => new CronExpression('0 9 * * *', 'Mars/Olympus'), /Unknown time zone "Mars\/Olympus"/);
  });

  it('gives the next five runs across DST changes (Europe/Berlin, America/New_York)', () => {
    // Berlin springs forward on 29 March 2026: 02:30 does not exist that night, it runs at 03:00 CEST
    assert.deepStrictEqual(new CronExpression('30 2 * * *', 'Europe/Berlin').nextRuns(at('2026-03-27T12:00:00Z')), [
      '2026-03-28T02:30:00.000+01:00',
      '2026-03-29T03:00:00.000+02:00',
      '2026-03-30T02:30:00.000+02:00',
      '2026-03-31T02:30:00.000+02:00',
      '2026-04-01T02:30:00.000+02:00',
    ]);
    // and falls back on 25 October: 02:30 happens twice, it runs once
    assert.deepStrictEqual(new CronExpression('30 2 * * *', 'Europe/Berlin').nextRuns(at('2026-10-24T12:00:00Z'), 3), [
      '2026-10-25T02:30:00.000+02:00',
      '2026-10-26T02:30:00.000+01:00',
      '2026-10-27T02:30:00.000+01:00',
    ]);
    assert.deepStrictEqual(
      new CronExpression('30 2 * * *', 'America/New_York').nextRuns(at('2026-03-07T12:00:00Z'), 2),
      ['2026-03-08T03:00:00.000-04:00', '2026-03-09T02:30:00.000-04:00'],
    );
  });
});

describe('the cron scheduler with a fake clock', () => {
  let ctx: Awaited<ReturnType<typeof schedulerStore>>;
  let repo: SchedulerRepository;
  let clock: FakeClock;
  let fires: Fire[];
  let active: Set<string>;
  let scheduler: CronScheduler;

  const fields = (cron: string, more: Partial<ScheduleFields> = {}): ScheduleFields => ({
    cron,
    timeZone: 'UTC',
    overlap: 'skip',
    missed: 'skip',
    enabled: true,
    ...more,
  });

  function newScheduler(): CronScheduler {
    return new CronScheduler({
      repo,
      clock,
      log: ctx.log,
      isActive: (jobId) => active.has(jobId),
      fire: async (f) => {
        fires.push(...f);
        return new Map();
      },
    });
  }

  async function schedule(name: string, cron: string, more: Partial<ScheduleFields> = {}): Promise<string> {
    const job = await defineJob(ctx.jobs, name);
    await repo.saveSchedule(PROJECT, job.id, fields(cron, more));
    return job.id;
  }

  const advance = (iso: string) => clock.advanceTo(at(iso), () => scheduler.settled());
  const fired = () => fires.map((f) => `${f.schedule.jobName}@${new Date(f.at).toISOString()}`);

  beforeEach(async () => {
    ctx = await schedulerStore();
    clock = new FakeClock(at('2026-10-24T12:00:00Z'));
    repo = new SchedulerRepository(ctx.store, () => clock.now());
    fires = [];
    active = new Set();
    scheduler = newScheduler();
  });
  afterEach(() => {
    scheduler.stop();
    ctx.cleanup();
  });

  it('fires each schedule at its times, with one timer for all of them', async () => {
    await schedule('hourly', '0 * * * *');
    await schedule('every-20-min', '*/20 * * * *');
    await scheduler.start();
    assert.strictEqual(clock.pending, 1);
    await advance('2026-10-24T14:00:00Z');
    assert.deepStrictEqual(fired(), [
      'every-20-min@2026-10-24T12:20:00.000Z',
      'every-20-min@2026-10-24T12:40:00.000Z',
      'every-20-min@2026-10-24T13:00:00.000Z',
      'hourly@2026-10-24T13:00:00.000Z',
      'every-20-min@2026-10-24T13:20:00.000Z',
      'every-20-min@2026-10-24T13:40:00.000Z',
      'every-20-min@2026-10-24T14:00:00.000Z',
      'hourly@2026-10-24T14:00:00.000Z',
    ]);
    assert.strictEqual(clock.pending, 1);
    const row = repo.schedules(PROJECT).find((s) => s.jobName === 'hourly')!;
    assert.strictEqual(row.lastFiredAt, '2026-10-24T14:00:00.000Z');
  });

  it('keeps one timer for 1,000 schedules, and none while all are disabled', async () => {
    for (let i = 0; i < 1000; i++) {
      await schedule(`job-${i}`, `${i % 60} ${i % 24} * * *`, { enabled: i % 2 === 0 });
    }
    await scheduler.start();
    assert.strictEqual(scheduler.size, 1000);
    assert.strictEqual(clock.pending, 1);
    assert.strictEqual(scheduler.armedAt, at('2026-10-24T12:12:00Z'));
    scheduler.stop();
    const none = new CronScheduler({
      repo: new SchedulerRepository(ctx.store, () => clock.now()),
      clock,
      log: ctx.log,
      isActive: () => false,
      fire: async () => new Map(),
    });
    for (const s of repo.schedules(PROJECT)) {
      await repo.saveSchedule(PROJECT, s.jobId, fields(s.cron, { enabled: false }));
    }
    await none.start();
    assert.strictEqual(clock.pending, 0);
    none.stop();
  });

  it('fires hourly through both DST changes of Europe/Berlin: 23 and 25 fires in those local days', async () => {
    clock = new FakeClock(at('2026-03-28T22:59:59Z')); // just before 00:00 CET on 29 March
    repo = new SchedulerRepository(ctx.store, () => clock.now());
    scheduler = newScheduler();
    await schedule('hourly', '0 * * * *', { timeZone: 'Europe/Berlin' });
    await scheduler.start();
    await advance('2026-03-29T21:59:59Z'); // 23:59:59 CEST
    assert.strictEqual(fires.length, 23, fired().join(' '));
    scheduler.stop();

    fires = [];
    clock = new FakeClock(at('2026-10-24T21:59:59Z')); // just before 00:00 CEST on 25 October
    repo = new SchedulerRepository(ctx.store, () => clock.now());
    scheduler = newScheduler();
    await scheduler.start();
    await advance('2026-10-25T22:59:59Z'); // 23:59:59 CET
    assert.strictEqual(fires.length, 25, fired().join(' '));
  });

  it('fires a daily 02:30 once in the night Berlin falls back, and at 03:00 in the night it springs forward', async () => {
    await schedule('nightly', '30 2 * * *', { timeZone: 'Europe/Berlin' });
    await scheduler.start();
    await advance('2026-10-26T12:00:00Z');
    assert.deepStrictEqual(fired(), ['nightly@2026-10-25T00:30:00.000Z', 'nightly@2026-10-26T01:30:00.000Z']);
  });

  it('skips fires missed while the backend was down, with one log line', async () => {
    await schedule('hourly', '0 * * * *', { missed: 'skip' });
    clock = new FakeClock(at('2026-10-24T15:30:00Z')); // "the backend was down" from 12:00 to 15:30
    repo = new SchedulerRepository(ctx.store, () => clock.now());
    scheduler = newScheduler();
    await scheduler.start();
    assert.deepStrictEqual(fires, []);
    const lines = ctx.log.lines.filter((l) => l.includes('missed'));
    assert.strictEqual(lines.length, 1);
    assert.match(
      lines[0],
      /job "hourly" \(0 \* \* \* \*, UTC\) missed 3 fires while the backend was not running \(first 2026-10-24T13:00:00.000Z, last 2026-10-24T15:00:00.000Z\): policy skip, not run/,
    );
    await advance('2026-10-24T16:00:00Z');
    assert.deepStrictEqual(fired(), ['hourly@2026-10-24T16:00:00.000Z']);
    // decided once: a second restart does not decide about the same fires again
    scheduler.stop();
    ctx.log.lines.length = 0;
    scheduler = newScheduler();
    await scheduler.start();
    assert.deepStrictEqual(
      ctx.log.lines.filter((l) => l.includes('missed')),
      [],
    );
  });

  it('runs once for fires missed while the backend was down (policy run-once)', async () => {
    await schedule('hourly', '0 * * * *', { missed: 'runOnce' });
    await schedule('daily', '@daily', { missed: 'runOnce' });
    clock = new FakeClock(at('2026-10-24T15:30:00Z'));
    repo = new SchedulerRepository(ctx.store, () => clock.now());
    scheduler = newScheduler();
    await scheduler.start();
    assert.deepStrictEqual(fired(), ['hourly@2026-10-24T15:00:00.000Z']);
    assert.strictEqual(fires[0].note, 'made up for the missed fire of 2026-10-24T15:00:00.000Z');
    assert.strictEqual(ctx.log.lines.filter((l) => /missed \d+ fires?/.test(l)).length, 1);
    assert.match(
      ctx.log.lines.find((l) => l.includes('missed 3 fires'))!,
      /policy run-once, running it once now/,
    );
  });

  it('skips a fire while the previous run still runs (overlap skip)', async () => {
    const id = await schedule('hourly', '0 * * * *', { overlap: 'skip' });
    await scheduler.start();
    active.add(id);
    await advance('2026-10-24T13:00:00Z');
    assert.deepStrictEqual(fires, []);
    assert.ok(
      ctx.log.lines.some((l) => /"hourly" still runs: its fire of .* is skipped \(overlap policy skip\)/.test(l)),
    );
    active.delete(id);
    scheduler.jobEnded(id);
    await scheduler.settled();
    assert.deepStrictEqual(fires, []);
    await advance('2026-10-24T14:00:00Z');
    assert.deepStrictEqual(fired(), ['hourly@2026-10-24T14:00:00.000Z']);
  });

  it('queues one fire while the previous run still runs, and starts it at its end (overlap queue)', async () => {
    const id = await schedule('hourly', '0 * * * *', { overlap: 'queue' });
    await scheduler.start();
    active.add(id);
    await advance('2026-10-24T15:00:00Z'); // three fires while it runs: one is queued, two are dropped
    assert.deepStrictEqual(fires, []);
    assert.strictEqual(repo.scheduleOfJob(id)?.queuedAt, '2026-10-24T13:00:00.000Z');
    assert.strictEqual(ctx.log.lines.filter((l) => l.includes('one fire is queued already')).length, 2);
    active.delete(id);
    scheduler.jobEnded(id);
    await scheduler.settled();
    assert.deepStrictEqual(fired(), ['hourly@2026-10-24T13:00:00.000Z']);
    assert.strictEqual((fires as Fire[])[0].note, 'queued fire of 2026-10-24T13:00:00.000Z');
    assert.strictEqual(repo.scheduleOfJob(id)?.queuedAt, null);
  });

  it('starts a queued fire after a restart when the run it waited for ended meanwhile', async () => {
    const id = await schedule('hourly', '0 * * * *', { overlap: 'queue' });
    await scheduler.start();
    active.add(id);
    await advance('2026-10-24T13:00:00Z');
    assert.strictEqual(repo.scheduleOfJob(id)?.queuedAt, '2026-10-24T13:00:00.000Z');
    scheduler.stop();
    active.delete(id); // the run ended while the backend was down
    scheduler = newScheduler();
    await scheduler.start();
    await scheduler.settled();
    assert.deepStrictEqual(fired(), ['hourly@2026-10-24T13:00:00.000Z']);
    assert.strictEqual(repo.scheduleOfJob(id)?.queuedAt, null);
  });

  it('follows edits, disabling and deletion of a schedule', async () => {
    const id = await schedule('job', '0 * * * *');
    await scheduler.start();
    await repo.saveSchedule(PROJECT, id, fields('30 * * * *'));
    scheduler.reload(id);
    await advance('2026-10-24T13:00:00Z');
    assert.deepStrictEqual(fired(), ['job@2026-10-24T12:30:00.000Z']);
    await repo.saveSchedule(PROJECT, id, fields('30 * * * *', { enabled: false }));
    scheduler.reload(id);
    assert.strictEqual(clock.pending, 0);
    await repo.saveSchedule(PROJECT, id, fields('30 * * * *'));
    scheduler.reload(id);
    await repo.deleteSchedule(id);
    scheduler.reload(id);
    await advance('2026-10-24T20:00:00Z');
    assert.strictEqual(fires.length, 1);
    assert.strictEqual(clock.pending, 0);
  });
});

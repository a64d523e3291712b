import * as assert from 'assert';
import { CronExpression } from '../../src/backend/scheduler/cron';
import type { Fire } from '../../src/backend/scheduler/cron-scheduler';
import { CronScheduler } from '../../src/backend/scheduler/cron-scheduler';
import { SchedulerRepository } from '../../src/backend/scheduler/repository';
import { simulate, wallClock, oracle } from './cron-oracle';
import { at, defineJob, FakeClock, PROJECT, schedulerStore } from './scheduler-helpers';

const iso = (t: number) => new Date(t).toISOString();

/** The fires in (from, to] as UTC ISO times. */
function fires(expression: string, zone: string, from: string, to: string): string[] {
  const e = new CronExpression(expression, zone, at(from));
  const out: string[] = [];
  for (let t = e.nextAfter(at(from)); t !== undefined && t <= at(to); t = e.nextAfter(t)) {
    out.push(iso(t));
  }
  return out;
}

// The 2026 clock changes used below (local wall-clock times):
// Europe/Berlin        29 Mar 02:00 CET -> 03:00 CEST (01:00Z);  25 Oct 03:00 CEST -> 02:00 CET (01:00Z)
// America/New_York      8 Mar 02:00 EST -> 03:00 EDT (07:00Z);    1 Nov 02:00 EDT -> 01:00 EST (06:00Z)
// Australia/Sydney      5 Apr 03:00 AEDT -> 02:00 AEST (4 Apr 16:00Z); 4 Oct 02:00 AEST -> 03:00 AEDT (3 Oct 16:00Z)
// Australia/Lord_Howe   5 Apr 02:00 +11 -> 01:30 +10:30 (4 Apr 15:00Z); 4 Oct 02:00 +10:30 -> 02:30 +11 (3 Oct 15:30Z)
describe('cron and daylight saving time, as Vixie cron documents it', () => {
  it('Europe/Berlin: a fixed time in the skipped hour runs once right after it; wildcard jobs follow the clock', () => {
    const [from, to] = ['2026-03-28T23:00:00Z', '2026-03-29T23:00:00Z'];
    assert.deepStrictEqual(fires('30 2 * * *', 'Europe/Berlin', from, to), ['2026-03-29T01:00:00.000Z']);
    // two fixed times in the gap: still one run, at 03:00 CEST
    assert.deepStrictEqual(fires('0,30 2 * * *', 'Europe/Berlin', from, to), ['2026-03-29T01:00:00.000Z']);
    // `*` in the minute or hour: nothing in the skipped hour, never at 03:00 for "minute 30"
    assert.deepStrictEqual(fires('*/30 2 * * *', 'Europe/Berlin', from, to), []);
    assert.deepStrictEqual(fires('30 * * * *', 'Europe/Berlin', '2026-03-28T23:50:00Z', '2026-03-29T02:00:00Z'), [
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T01:30:00.000Z',
    ]);
    assert.deepStrictEqual(fires('*/15 * * * *', 'Europe/Berlin', '2026-03-29T00:40:00Z', '2026-03-29T01:20:00Z'), [
      '2026-03-29T00:45:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:15:00.000Z',
    ]);
  });

  it('Europe/Berlin: a fixed time in the repeated hour runs once; wildcard jobs run in both passes', () => {
    const [from, to] = ['2026-10-24T22:00:00Z', '2026-10-25T22:00:00Z'];
    assert.deepStrictEqual(fires('30 2 * * *', 'Europe/Berlin', from, to), ['2026-10-25T00:30:00.000Z']);
    // asked from inside the second pass: the 02:30 of that night has been
    assert.deepStrictEqual(new CronExpression('30 2 * * *', 'Europe/Berlin').nextRuns(at('2026-10-25T01:10:00Z'), 1), [
      '2026-10-26T02:30:00.000+01:00',
    ]);
    assert.deepStrictEqual(fires('*/30 * * * *', 'Europe/Berlin', '2026-10-24T23:50:00Z', '2026-10-25T02:00:00Z'), [
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
    // at 02:50 CEST, the next "minute 0-59/15 of hour 2" is 02:00 CET, ten minutes later
    assert.deepStrictEqual(
      new CronExpression('*/15 2 * * *', 'Europe/Berlin').nextRuns(at('2026-10-25T00:50:00Z'), 2),
      ['2026-10-25T02:00:00.000+01:00', '2026-10-25T02:15:00.000+01:00'],
    );
  });

  it('America/New_York', () => {
    assert.deepStrictEqual(fires('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', '2026-03-09T12:00:00Z'), [
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
    ]);
    assert.deepStrictEqual(fires('30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', '2026-11-02T12:00:00Z'), [
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
    assert.deepStrictEqual(fires('30 * * * *', 'America/New_York', '2026-11-01T04:00:00Z', '2026-11-01T08:00:00Z'), [
      '2026-11-01T04:30:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:30:00.000Z',
      '2026-11-01T07:30:00.000Z',
    ]);
  });

  it('Australia/Sydney (southern hemisphere: summer time from October to April)', () => {
    assert.deepStrictEqual(fires('30 2 * * *', 'Australia/Sydney', '2026-10-02T12:00:00Z', '2026-10-04T18:00:00Z'), [
      '2026-10-02T16:30:00.000Z',
      '2026-10-03T16:00:00.000Z',
      '2026-10-04T15:30:00.000Z',
    ]);
    assert.deepStrictEqual(fires('30 2 * * *', 'Australia/Sydney', '2026-04-03T12:00:00Z', '2026-04-05T18:00:00Z'), [
      '2026-04-03T15:30:00.000Z',
      '2026-04-04T15:30:00.000Z',
      '2026-04-05T16:30:00.000Z',
    ]);
  });

  it('Australia/Lord_Howe (clocks change by 30 minutes)', () => {
    assert.deepStrictEqual(
      new CronExpression('15 2 * * *', 'Australia/Lord_Howe').nextRuns(at('2026-10-03T00:00:00Z'), 2),
      ['2026-10-04T02:30:00.000+11:00', '2026-10-05T02:15:00.000+11:00'],
    );
    assert.deepStrictEqual(
      new CronExpression('*/10 * * * *', 'Australia/Lord_Howe').nextRuns(at('2026-10-03T15:00:00Z'), 4),
      [
        '2026-10-04T01:40:00.000+10:30',
        '2026-10-04T01:50:00.000+10:30',
        '2026-10-04T02:30:00.000+11:00',
        '2026-10-04T02:40:00.000+11:00',
      ],
    );
    assert.deepStrictEqual(
      new CronExpression('45 1 * * *', 'Australia/Lord_Howe').nextRuns(at('2026-04-04T00:00:00Z'), 2),
      ['2026-04-05T01:45:00.000+11:00', '2026-04-06T01:45:00.000+10:30'],
    );
    assert.deepStrictEqual(
      new CronExpression('*/15 1 * * *', 'Australia/Lord_Howe').nextRuns(at('2026-04-04T14:00:00Z'), 6),
      [
        '2026-04-05T01:15:00.000+11:00',
        '2026-04-05T01:30:00.000+11:00',
        '2026-04-05T01:45:00.000+11:00',
        '2026-04-05T01:30:00.000+10:30',
        '2026-04-05T01:45:00.000+10:30',
        '2026-04-06T01:00:00.000+10:30',
      ],
    );
  });

  it('never fires at a wall-clock time the expression does not match (except right after a gap), and agrees with a minute-by-minute simulation', () => {
    const changes: [string, string][] = [
      ['Europe/Berlin', '2026-03-29T01:00:00Z'],
      ['Europe/Berlin', '2026-10-25T01:00:00Z'],
      ['America/New_York', '2026-03-08T07:00:00Z'],
      ['America/New_York', '2026-11-01T06:00:00Z'],
      ['Australia/Sydney', '2026-10-03T16:00:00Z'],
      ['Australia/Sydney', '2026-04-04T16:00:00Z'],
      ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
      ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
    ];
    const expressions = [
      '30 2 * * *',
      '0,30 2 * * *',
      '45 1 * * *',
      '15 2 * * *',
      '0 3 * * *',
      '*/15 * * * *',
      '*/10 1,2 * * *',
      '30 * * * *',
      '7 1-3 * * 0',
      '0 2 1,15 * 0',
    ];
    for (const [zone, change] of changes) {
      const from = at(change) - 86_400_000;
      const to = at(change) + 86_400_000;
      for (const expression of expressions) {
        const ours = fires(expression, zone, iso(from), iso(to));
        assert.deepStrictEqual(ours, simulate(expression, zone, from, to).map(iso), `${expression} in ${zone}`);
        const cron = oracle(expression);
        for (const t of ours.map(at)) {
          const wall = wallClock(zone, t);
          const afterGap = wall - wallClock(zone, t - 1000) > 1000;
          assert.ok(cron.matches(new Date(wall)) || (!cron.wildcard && afterGap), `${expression} ${zone} ${iso(t)}`);
        }
      }
    }
  });
});

describe('the cron scheduler through clock changes in several zones (fake clock)', () => {
  it('fires each schedule at the exact instants', async () => {
    const ctx = await schedulerStore();
    const clock = new FakeClock(at('2026-10-03T12:00:00Z'));
    const repo = new SchedulerRepository(ctx.store, () => clock.now());
    const fired: Fire[] = [];
    const scheduler = new CronScheduler({
      repo,
      clock,
      log: ctx.log,
      isActive: () => false,
      fire: async (f) => {
        fired.push(...f);
        return new Map();
      },
    });
    try {
      for (const [name, cron, timeZone] of [
        ['sydney-0230', '30 2 * * *', 'Australia/Sydney'],
        ['lord-howe-0215', '15 2 * * *', 'Australia/Lord_Howe'],
        ['lord-howe-every-20', '*/20 1-2 * * *', 'Australia/Lord_Howe'],
        ['berlin-0230', '30 2 * * *', 'Europe/Berlin'],
      ]) {
        const job = await defineJob(ctx.jobs, name);
        await repo.saveSchedule(PROJECT, job.id, { cron, timeZone, overlap: 'skip', missed: 'skip', enabled: true });
      }
      await scheduler.start();
      await clock.advanceTo(at('2026-10-04T12:00:00Z'), () => scheduler.settled());
      assert.deepStrictEqual(
        fired.map((f) => `${f.schedule.jobName}@${iso(f.at)}`),
        [
          'lord-howe-every-20@2026-10-03T14:30:00.000Z', // 01:00 +10:30
          'lord-howe-every-20@2026-10-03T14:50:00.000Z', // 01:20
          'lord-howe-every-20@2026-10-03T15:10:00.000Z', // 01:40; 02:00 and 02:20 do not exist
          'lord-howe-0215@2026-10-03T15:30:00.000Z', // 02:15 does not exist: right after the gap, 02:30 +11
          'lord-howe-every-20@2026-10-03T15:40:00.000Z', // 02:40 +11
          'sydney-0230@2026-10-03T16:00:00.000Z', // 02:30 does not exist: 03:00 +11
          'berlin-0230@2026-10-04T00:30:00.000Z', // 02:30 CEST
        ],
      );
    } finally {
      scheduler.stop();
      ctx.cleanup();
    }
  });
});

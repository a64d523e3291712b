import * as assert from 'assert';
import { ApiError } from '../../src/backend/errors';
import { checkCron, CronExpression, describeCron } from '../../src/backend/scheduler/cron';
import { cronFields } from '../../src/backend/scheduler/cron-fields';
import { simulate } from './cron-oracle';

const at = (iso: string) => Date.parse(iso);
const DAY = 86_400_000;

/** The days (yyyy-mm-dd) an expression fires on in UTC, from `from` (exclusive) for `days` days. */
function firingDays(expression: string, from: string, days: number): string[] {
  const e = new CronExpression(expression, 'UTC', at(from));
  const out: string[] = [];
  const end = at(from) + days * DAY;
  for (let t = e.nextAfter(at(from)); t !== undefined && t <= end; t = e.nextAfter(t)) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/** Days of June 2026 as yyyy-mm-dd, from a list of day numbers. */
const june = (...days: number[]) => days.map((d) => `2026-06-${String(d).padStart(2, '0')}`);
const EVERY_DAY_OF_JUNE = june(...Array.from({ length: 30 }, (_, i) => i + 1));
const MONDAYS = june(1, 8, 15, 22, 29); // 1 June 2026 is a Monday

describe('cron days: day of month and day of week as crontab(5) reads them', () => {
  it('fires on either day when both day fields are restricted (the man page example "30 4 1,15 * 5")', () => {
    const runs = new CronExpression('30 4 1,15 * 5', 'UTC').nextRuns(at('2026-04-30T12:00:00Z'), 7);
    // "at 4:30 am on the 1st and 15th of each month, plus every Friday" (1 May 2026 is a Friday)
    assert.deepStrictEqual(runs, [
      '2026-05-01T04:30:00.000Z',
      '2026-05-08T04:30:00.000Z',
      '2026-05-15T04:30:00.000Z',
      '2026-05-22T04:30:00.000Z',
      '2026-05-29T04:30:00.000Z',
      '2026-06-01T04:30:00.000Z',
      '2026-06-05T04:30:00.000Z',
    ]);
    assert.deepStrictEqual(firingDays('0 0 1,15 * 1', '2026-05-31T12:00:00Z', 30), MONDAYS);
    assert.deepStrictEqual(firingDays('0 0 1,15 * 1', '2026-06-30T12:00:00Z', 7), ['2026-07-01', '2026-07-06']);
  });

  it('counts a day field as unrestricted only when it starts with *, as Vixie cron does', () => {
    const from = '2026-05-31T12:00:00Z';
    // */2 starts with *: both fields must match, odd days that are Mondays
    assert.deepStrictEqual(firingDays('0 0 */2 * 1', from, 30), june(1, 15, 29));
    assert.deepStrictEqual(firingDays('0 0 */1 * 1', from, 30), MONDAYS);
    assert.deepStrictEqual(firingDays('0 0 1 * */1', from, 30), june(1));
    assert.deepStrictEqual(firingDays('0 0 */2 * */3', from, 30), june(3, 7, 13, 17, 21, 27));
    // full ranges written out are restricted fields: with a weekday, every day matches
    for (const every of [
      '0 0 1-31 * 1',
      '0 0 1 * 0-6',
      '0 0 1 * 0-7',
      '0 0 1 * sun-sat',
      '0 0 1-31 * *',
      '0 0 * * 0-7',
    ]) {
      assert.deepStrictEqual(firingDays(every, from, 30), EVERY_DAY_OF_JUNE, every);
    }
    // lists, ranges, steps and names of weekdays, 7 = Sunday
    assert.deepStrictEqual(firingDays('0 0 1 * 7', from, 30), june(1, 7, 14, 21, 28));
    assert.deepStrictEqual(firingDays('0 0 10 * MON', from, 30), [...MONDAYS.slice(0, 2), ...june(10, 15, 22, 29)]);
    assert.deepStrictEqual(firingDays('0 0 20-22 * sat', from, 30), june(6, 13, 20, 21, 22, 27));
    assert.deepStrictEqual(firingDays('0 0 1-10/5 * 5', from, 30), june(1, 5, 6, 12, 19, 26));
    assert.deepStrictEqual(firingDays('0 0 * * 1-5/2', from, 30), june(1, 3, 5, 8, 10, 12, 15, 17, 19, 22, 24, 26, 29));
    // the month always has to match
    assert.deepStrictEqual(firingDays('0 0 1 jul 1', from, 40), ['2026-07-01', '2026-07-06']);
  });

  it('reads six fields (seconds first) and the @ shortcuts the same way', () => {
    assert.deepStrictEqual(new CronExpression('15 0 0 1,15 * 1', 'UTC').nextRuns(at('2026-05-31T12:00:00Z'), 3), [
      '2026-06-01T00:00:15.000Z',
      '2026-06-08T00:00:15.000Z',
      '2026-06-15T00:00:15.000Z',
    ]);
    assert.deepStrictEqual(new CronExpression('0 0 0 */2 * 1', 'UTC').nextRuns(at('2026-05-31T12:00:00Z'), 3), [
      '2026-06-01T00:00:00.000Z',
      '2026-06-15T00:00:00.000Z',
      '2026-06-29T00:00:00.000Z',
    ]);
    assert.deepStrictEqual(firingDays('@weekly', '2026-05-31T12:00:00Z', 30), june(7, 14, 21, 28));
    assert.deepStrictEqual(firingDays('@annually', '2026-05-31T12:00:00Z', 400), ['2027-01-01']);
    assert.deepStrictEqual(firingDays('@midnight', '2026-05-31T12:00:00Z', 30), EVERY_DAY_OF_JUNE);
    assert.deepStrictEqual(firingDays('@weekends', '2026-05-31T12:00:00Z', 10), june(6, 7));
  });

  it('agrees with a plain reading of crontab(5), minute by minute', () => {
    const from = at('2026-01-29T00:00:00Z');
    const to = at('2026-03-03T00:00:00Z');
    for (const expression of [
      '30 4 1,15 * 5',
      '0 12 */2 * 1',
      '15 3 1-31 * 1',
      '0 0 1 * 0-7',
      '0 9 28-31 * sun',
      '*/20 10 29 2 *',
      '0 0 */3 feb 1-5',
      '5 0 * * 7',
    ]) {
      const e = new CronExpression(expression, 'UTC', from);
      const ours: number[] = [];
      for (let t = e.nextAfter(from); t !== undefined && t <= to; t = e.nextAfter(t)) {
        ours.push(t);
      }
      assert.deepStrictEqual(ours.map(iso), simulate(expression, 'UTC', from, to).map(iso), expression);
    }
  });

  it('refuses ? and other forms crontab(5) does not have, naming the field', () => {
    for (const [expression, field] of [
      ['0 0 ? * 1', /field 3 \(day of month\) '\?'/],
      ['0 0 L * *', /field 3 \(day of month\)/],
      ['0 0 * * 1#2', /field 5 \(day of week\)/],
    ] as const) {
      assert.throws(
        () => checkCron(expression),
        (e: unknown) => e instanceof ApiError && e.statusCode === 400 && field.test(e.message),
      );
    }
  });

  it('describes the days as they fire', () => {
    assert.strictEqual(describeCron('0 0 1,15 * 1'), 'At 00:00, on day 1 and 15 of the month, and on Monday');
    assert.strictEqual(describeCron('30 4 1,15 * 5'), 'At 04:30, on day 1 and 15 of the month, and on Friday');
    assert.strictEqual(describeCron('0 0 1 * mon-fri'), 'At 00:00, on day 1 of the month, and Monday through Friday');
    assert.strictEqual(describeCron('0 0 */2 * 1'), 'At 00:00, every 2 days in a month, only on Monday');
    assert.strictEqual(describeCron('0 0 1-31 * 1'), 'At 00:00');
    assert.strictEqual(describeCron('0 0 1 * 0-7'), 'At 00:00');
    assert.strictEqual(describeCron('0 0 * * 0-7'), 'At 00:00');
    assert.strictEqual(describeCron('0 0 1 2 1'), 'At 00:00, on day 1 of the month, and on Monday, only in February');
    assert.strictEqual(describeCron('0 0 * * 7'), 'At 00:00, only on Sunday');
    assert.strictEqual(describeCron('0 0 0 1,15 * 1'), 'At 00:00, on day 1 and 15 of the month, and on Monday');
    assert.strictEqual(describeCron('@annually'), 'At 00:00, on day 1 of the month, only in January');
    assert.strictEqual(describeCron('0 0 29 2 *'), 'At 00:00, on day 29 of the month, only in February');
  });

  it('reads the sets the cron package parsed (fails here if a new version changes their shape)', () => {
    const f = cronFields('0 5-10/5 * 1,15 jan 0-7');
    assert.deepStrictEqual(
      [f.minute.has.flatMap((v, i) => (v ? [i] : [])), f.month.full, f.dayOfWeek.full, f.domStar, f.dowStar],
      [[5, 10], false, true, false, false],
    );
    assert.deepStrictEqual(cronFields('0 * 2 */2 * 1').wildcardTime, true);
    assert.deepStrictEqual(cronFields('0 30 2 */2 * 1').domStar, true);
  });
});

const iso = (t: number) => new Date(t).toISOString();

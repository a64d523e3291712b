import { CronTime } from 'cron';

/** The values one field allows, and `next[v]`: the smallest allowed value >= v (-1: none). */
export interface FieldSet {
  readonly has: readonly boolean[];
  readonly next: readonly number[];
  /** every value of the field's range is allowed */
  readonly full: boolean;
}

/**
 * A six-field expression (seconds first) as sets of values, with the flags Vixie cron derives from how
 * the day fields are written (crontab(5)): a day field counts as unrestricted only when it starts
 * with `*`, and when both are restricted a day matches if EITHER matches.
 */
export interface CronFields {
  readonly second: FieldSet;
  readonly minute: FieldSet;
  readonly hour: FieldSet;
  readonly dayOfMonth: FieldSet;
  readonly month: FieldSet;
  /** 0-6, Sunday = 0 (7 is read as Sunday) */
  readonly dayOfWeek: FieldSet;
  /** the day-of-month field starts with `*` (Vixie's DOM_STAR) */
  readonly domStar: boolean;
  /** the day-of-week field starts with `*` (Vixie's DOW_STAR) */
  readonly dowStar: boolean;
  /**
   * the minute or the hour field starts with `*` (Vixie's MIN_STAR / HR_STAR): such a job follows the
   * clock through daylight saving changes; the others are "fixed-time" jobs, made up for once after a
   * skipped hour and not repeated in a repeated hour
   */
  readonly wildcardTime: boolean;
}

const UNITS = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'] as const;
const RANGES: Readonly<Record<(typeof UNITS)[number], readonly [number, number]>> = {
  second: [0, 59],
  minute: [0, 59],
  hour: [0, 23],
  dayOfMonth: [1, 31],
  month: [1, 12],
  dayOfWeek: [0, 6],
};

function fieldSet(values: Readonly<Record<string, boolean>>, low: number, high: number): FieldSet {
  const has: boolean[] = [];
  for (let v = 0; v <= high; v++) {
    has.push(v >= low && values[v] === true);
  }
  const next = new Array<number>(high + 2).fill(-1);
  for (let v = high; v >= 0; v--) {
    next[v] = has[v] ? v : next[v + 1];
  }
  let full = true;
  for (let v = low; v <= high; v++) {
    full &&= has[v];
  }
  return { has, next, full };
}

/**
 * Reads a six-field expression that `checkCron` accepted. The `cron` package parses the fields (lists,
 * ranges, steps, names, 7 = Sunday); its own search for the next date is not used (see cron-next.ts),
 * so the sets it parsed are read from the `CronTime`. They are private in its typings: the shape is
 * checked here, and a unit test fails if a new version of the package changes it.
 */
export function cronFields(sixFields: string): CronFields {
  const parts = sixFields.split(' ');
  const parsed = new CronTime(sixFields, 'UTC') as unknown as Record<string, unknown>;
  const sets = UNITS.map((unit) => {
    const values = parsed[unit];
    if (typeof values !== 'object' || values === null) {
      throw new Error(`the cron package no longer exposes the ${unit} field it parsed`);
    }
    const [low, high] = RANGES[unit];
    return fieldSet(values as Record<string, boolean>, low, high);
  });
  return {
    second: sets[0],
    minute: sets[1],
    hour: sets[2],
    dayOfMonth: sets[3],
    month: sets[4],
    dayOfWeek: sets[5],
    domStar: parts[3].startsWith('*'),
    dowStar: parts[5].startsWith('*'),
    wildcardTime: parts[1].startsWith('*') || parts[2].startsWith('*'),
  };
}

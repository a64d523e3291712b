import { CronTime } from 'cron';
import cronstrue from 'cronstrue';
import { ApiError } from '../errors';

/** The `cron` package's shortcuts and the six-field expressions they stand for. */
const PRESETS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
  '@minutely': '0 * * * * *',
  '@secondly': '* * * * * *',
  '@weekdays': '0 0 0 * * 1-5',
  '@weekends': '0 0 0 * * 0,6',
};

const FIELDS = [
  { name: 'seconds', range: '0-59' },
  { name: 'minutes', range: '0-59' },
  { name: 'hours', range: '0-23' },
  { name: 'day of month', range: '1-31' },
  { name: 'month', range: '1-12 or jan-dec' },
  { name: 'day of week', range: '0-7 or sun-sat' },
] as const;

const invalid = (message: string) => new ApiError(400, 'invalid_cron', message);

/** What the `cron` package says about one field, in words that say how to fix it. */
function fieldProblem(libraryMessage: string, range: string): string {
  if (/out of range/.test(libraryMessage)) {
    return `is out of range ${range}`;
  }
  if (/step of zero/.test(libraryMessage)) {
    return 'has a step of zero (use */N with N above 0)';
  }
  if (/invalid range/.test(libraryMessage)) {
    return 'has a range whose start is after its end';
  }
  if (/wildcard/.test(libraryMessage)) {
    return 'has a * that is not at its start';
  }
  if (/alias/i.test(libraryMessage)) {
    return `has an unknown name (${range})`;
  }
  return `cannot be read (expected ${range}, a range A-B, a list A,B or a step */N)`;
}

/**
 * Checks an expression field by field. The `cron` package parses the whole expression and its errors
 * do not say which field is wrong ("Field value (25) is out of range"): each field is given to it on
 * its own, inside an expression that is otherwise valid, so the error can name the field.
 */
export function checkCron(expression: string): string {
  const source = expression.trim();
  if (source.startsWith('@')) {
    if (!PRESETS[source.toLowerCase()]) {
      throw invalid(`Unknown cron shortcut "${source}": use one of ${Object.keys(PRESETS).join(', ')}.`);
    }
    return source.toLowerCase();
  }
  const fields = source.split(/\s+/).filter((f) => f !== '');
  if (fields.length < 5 || fields.length > 6) {
    throw invalid(
      `A cron expression has 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), not ${fields.length}: "${source}".`,
    );
  }
  const offset = 6 - fields.length;
  fields.forEach((value, i) => {
    const probe = ['0', '0', '0', '1', '1', '*'];
    probe[i + offset] = value;
    try {
      new CronTime(probe.join(' '));
    } catch (e) {
      const field = FIELDS[i + offset];
      throw invalid(
        `Invalid cron expression "${source}": field ${i + 1} (${field.name}) '${value}' ${fieldProblem((e as Error).message, field.range)}.`,
      );
    }
  });
  try {
    new CronTime(fields.join(' '));
  } catch (e) {
    throw invalid(`Invalid cron expression "${source}": ${(e as Error).message}.`);
  }
  return fields.join(' ');
}

export function checkTimeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    throw new ApiError(
      400,
      'invalid_time_zone',
      `Unknown time zone "${zone}": use an IANA name such as "Europe/Berlin", "America/New_York" or "UTC".`,
    );
  }
  return zone;
}

/** The machine's own time zone (the default of a schedule). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** A parsed schedule expression in a time zone; the `cron` package does the calendar arithmetic. */
export class CronExpression {
  private readonly time: CronTime;

  constructor(
    readonly source: string,
    readonly timeZone: string,
  ) {
    this.time = new CronTime(checkCron(source), checkTimeZone(timeZone));
    try {
      this.next(Date.now());
    } catch {
      // e.g. "0 0 30 2 *": every field is valid, but 30 February never comes
      throw invalid(`The cron expression "${source.trim()}" never fires: no date in the next 8 years matches it.`);
    }
  }

  /** The first fire time strictly after `after` (ms since the epoch). */
  nextAfter(after: number): number {
    return this.next(after).toMillis();
  }

  private next(after: number) {
    return this.time.getNextDateFrom(new Date(after), this.timeZone);
  }

  /** The next `count` fire times after `after`, as ISO times in the schedule's zone. */
  nextRuns(after: number, count = 5): string[] {
    const out: string[] = [];
    let t = after;
    for (let i = 0; i < count; i++) {
      const next = this.next(t);
      t = next.toMillis();
      out.push(next.toISO() ?? new Date(t).toISOString());
    }
    return out;
  }

  /** "At 02:30, only on Monday" (cronstrue; shortcuts are described through what they stand for). */
  describe(): string {
    return describeCron(this.source);
  }
}

export function describeCron(source: string): string {
  const expanded = PRESETS[source.trim().toLowerCase()] ?? source;
  try {
    return cronstrue.toString(expanded, { use24HourTimeFormat: true, verbose: false });
  } catch {
    return expanded;
  }
}

import { CronTime } from 'cron';
import cronstrue from 'cronstrue';
import { ApiError } from '../errors';
import { cronFields, type CronFields } from './cron-fields';
import { CALENDAR_CYCLE_YEARS, nextFire } from './cron-next';
import { Zone } from './zone';

/** Shortcuts (the `cron` package's, and Vixie cron's @annually and @midnight) and the six fields they stand for. */
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
 * its own, inside an expression that is otherwise valid, so the error can name the field (only when
 * the whole expression is refused: a valid one is parsed once).
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
  let whole: Error;
  try {
    new CronTime(fields.join(' '), 'UTC');
    return fields.join(' ');
  } catch (e) {
    whole = e as Error;
  }
  const offset = 6 - fields.length;
  fields.forEach((value, i) => {
    const probe = ['0', '0', '0', '1', '1', '*'];
    probe[i + offset] = value;
    try {
      new CronTime(probe.join(' '), 'UTC');
    } catch (e) {
      const field = FIELDS[i + offset];
      throw invalid(
        `Invalid cron expression "${source}": field ${i + 1} (${field.name}) '${value}' ${fieldProblem((e as Error).message, field.range)}.`,
      );
    }
  });
  throw invalid(`Invalid cron expression "${source}": ${whole.message}.`);
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

/** A parsed schedule expression in a time zone. */
export class CronExpression {
  private readonly fields: CronFields;
  private readonly zone: Zone;

  /** Checks the expression and the zone, and that the expression ever fires (from `now`). */
  constructor(
    readonly source: string,
    readonly timeZone: string,
    now = Date.now(),
  ) {
    this.fields = cronFields(sixFields(checkCron(source)));
    this.zone = new Zone(checkTimeZone(timeZone));
    if (this.nextAfter(now) === undefined) {
      // e.g. "0 0 30 2 *": every field is valid, but 30 February never comes
      throw invalid(
        `The cron expression "${source.trim()}" never fires: no date matches it (checked over ${CALENDAR_CYCLE_YEARS} years, a full cycle of the calendar).`,
      );
    }
  }

  /**
   * The first fire time strictly after `after` (ms since the epoch), or undefined when there is none
   * within a cycle of the calendar (only when the expression never fires).
   */
  nextAfter(after: number): number | undefined {
    return nextFire(this.fields, this.zone, after);
  }

  /**
   * Up to `count` next fire times after `after`, as ISO times with the zone's offset. A rare
   * expression (29 February) gives its fires years apart, all of them found by a bounded search.
   */
  nextRuns(after: number, count = 5): string[] {
    const out: string[] = [];
    for (let t = this.nextAfter(after); t !== undefined && out.length < count; t = this.nextAfter(t)) {
      out.push(this.zone.isUtc ? new Date(t).toISOString() : isoInZone(t, this.zone.offset(t)));
    }
    return out;
  }

  /** "At 02:30, only on Monday" (cronstrue, with the day fields read as they fire, see describeCron). */
  describe(): string {
    return describeCron(this.source);
  }
}

/** "2026-03-29T03:00:00.000+02:00" */
export function isoInZone(at: number, offset: number): string {
  const local = new Date(at + offset).toISOString().slice(0, -1);
  const minutes = Math.round(Math.abs(offset) / 60_000);
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return `${local}${offset < 0 ? '-' : '+'}${hh}:${mm}`;
}

/** A checked expression (see checkCron) as six fields, seconds first. */
function sixFields(checked: string): string {
  const expanded = PRESETS[checked] ?? checked;
  return expanded.split(' ').length === 5 ? `0 ${expanded}` : expanded;
}

const cronstrueText = (expression: string) =>
  cronstrue.toString(expression, { use24HourTimeFormat: true, verbose: false });

/** The clause `text` adds to `base` ("At 00:00" + ", only on Monday"), and where. */
function clauseOf(base: string, text: string): { at: number; clause: string } | undefined {
  for (let at = 0; at <= base.length; at++) {
    if (at !== base.length && !base.startsWith(', ', at)) {
      continue;
    }
    const clause = text.slice(at, text.length - (base.length - at));
    if (clause.startsWith(', ') && text.startsWith(base.slice(0, at)) && text.endsWith(base.slice(at))) {
      return { at, clause };
    }
  }
  return undefined;
}

// The expression in words. cronstrue reads the day fields its own way (`*/2` in day-of-month with a
// weekday: "every 2 days in a month, and on Monday"; `1-31` with a weekday: as if `1-31` restricted
// anything), so the day clauses are described one at a time and joined by the rule that fires: OR
// when both day fields are restricted (neither starts with `*`), AND otherwise.
export function describeCron(source: string): string {
  const expanded = PRESETS[source.trim().toLowerCase()] ?? source.trim();
  try {
    const checked = checkCron(expanded);
    const f = cronFields(sixFields(checked));
    // five or six fields, as written: cronstrue words "0 30 2 * * *" and "30 2 * * *" alike
    const parts = checked.split(' ');
    const [domAt, dowAt] = [parts.length - 3, parts.length - 1];
    const dom = f.dayOfMonth.full ? '*' : parts[domAt];
    const dow = f.dayOfWeek.full ? '*' : parts[dowAt];
    const either = !f.domStar && !f.dowStar;
    const withDays = (d: string, w: string) => {
      const p = [...parts];
      p[domAt] = d;
      p[dowAt] = w;
      return cronstrueText(p.join(' '));
    };
    if ((dom === '*' && dow === '*') || (either && (f.dayOfMonth.full || f.dayOfWeek.full))) {
      return withDays('*', '*'); // every day matches
    }
    if (dom === '*' || dow === '*') {
      return withDays(dom, dow);
    }
    const base = withDays('*', '*');
    const d = clauseOf(base, withDays(dom, '*'));
    const w = clauseOf(base, withDays('*', dow));
    if (!d || !w || d.at !== w.at) {
      return cronstrueText(expanded);
    }
    const weekdays = !either
      ? w.clause
      : w.clause.startsWith(', only on ')
        ? `, and on ${w.clause.slice(', only on '.length)}`
        : `, and ${w.clause.slice(2)}`;
    return `${base.slice(0, d.at)}${d.clause}${weekdays}${base.slice(d.at)}`;
  } catch {
    try {
      return cronstrueText(expanded);
    } catch {
      return expanded;
    }
  }
}

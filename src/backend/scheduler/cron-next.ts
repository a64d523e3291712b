import type { CronFields } from './cron-fields';
import type { Zone } from './zone';

// When a cron expression fires, computed here rather than by the `cron` package (which parses the
// fields, see cron-fields.ts), because its search differs from crontab(5) where it matters:
// - it treats a day field as unrestricted when it holds every value, not when it starts with `*`,
//   so `0 0 1-31 * 1` fired on Mondays only and `0 0 */2 * 1` on every odd day and every Monday;
// - it gives up after eight years counted from the machine's clock, so `0 0 29 2 *` threw (HTTP 500);
// - around daylight saving changes it fired at wall-clock times the expression does not match
//   (`30 * * * *` at 03:00 in Berlin, `15 2 * * *` at 01:45 on Lord Howe Island).
//
// The rules, as Vixie cron documents them (crontab(5), cron(8)) and its descendants do:
// - a time matches when second, minute, hour and month match and the day matches; when both day
//   fields are restricted (neither starts with `*`) the day matches if EITHER matches, otherwise
//   both must. (POSIX words this rule with the month inside the OR; no cron implements that
//   reading, the month must always match, here too);
// - a wall-clock time skipped by a change to summer time: a fixed-time job (minute and hour not
//   starting with `*`) runs once, right after the gap; a job with `*` in minute or hour does not;
// - a wall-clock time that happens twice when clocks go back: a fixed-time job runs at the first
//   occurrence only; a job with `*` in minute or hour runs at both (it follows real time).

/** One cycle of the Gregorian calendar: weekdays and leap years repeat after it. */
export const CALENDAR_CYCLE_YEARS = 400;

/** Clocks change by at most a few hours (the largest changes ever used are two hours). */
const LARGEST_CHANGE_MS = 3 * 3_600_000;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function weekday(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

/** The first wall-clock time (whole seconds, as UTC ms) strictly after `local` that the fields match, up to `lastYear`. */
export function nextLocalMatch(f: CronFields, local: number, lastYear: number): number | undefined {
  const d = new Date(Math.floor(local / 1000) * 1000 + 1000);
  let year = d.getUTCFullYear();
  let month = d.getUTCMonth() + 1;
  let day = d.getUTCDate();
  let hour = d.getUTCHours();
  let minute = d.getUTCMinutes();
  let second = d.getUTCSeconds();
  // a day must be in the day-of-month set unless the day-of-week alone may match it (both restricted)
  const domDecides = f.domStar || f.dowStar;
  const nextDay = () => {
    day++;
    hour = minute = second = 0;
  };
  for (;;) {
    if (year > lastYear) {
      return undefined;
    }
    const m = f.month.next[month];
    if (m !== month) {
      if (m < 0) {
        year++;
        month = f.month.next[1];
      } else {
        month = m;
      }
      day = 1;
      hour = minute = second = 0;
      continue;
    }
    if (domDecides && !f.dayOfMonth.has[day]) {
      const nd = f.dayOfMonth.next[day];
      day = nd < 0 ? 32 : nd;
      hour = minute = second = 0;
    }
    if (day > daysInMonth(year, month)) {
      month++;
      if (month > 12) {
        month = 1;
        year++;
      }
      day = 1;
      hour = minute = second = 0;
      continue;
    }
    const domMatch = f.dayOfMonth.has[day];
    const dowMatch = f.dayOfWeek.has[weekday(year, month, day)];
    if (!(f.domStar || f.dowStar ? domMatch && dowMatch : domMatch || dowMatch)) {
      nextDay();
      continue;
    }
    const h = f.hour.next[hour];
    if (h < 0) {
      nextDay();
      continue;
    }
    if (h !== hour) {
      hour = h;
      minute = second = 0;
    }
    const mi = f.minute.next[minute];
    if (mi < 0) {
      hour++;
      minute = second = 0;
      if (hour > 23) {
        nextDay();
      }
      continue;
    }
    if (mi !== minute) {
      minute = mi;
      second = 0;
    }
    const s = f.second.next[second];
    if (s < 0) {
      minute++;
      second = 0;
      if (minute > 59) {
        hour++;
        minute = 0;
        if (hour > 23) {
          nextDay();
        }
      }
      continue;
    }
    return Date.UTC(year, month - 1, day, hour, minute, s);
  }
}

/**
 * The first fire strictly after the instant `after` (ms), or undefined when there is none within
 * `years` years (a whole calendar cycle: an expression without a fire in it never fires).
 */
export function nextFire(f: CronFields, zone: Zone, after: number, years = CALENDAR_CYCLE_YEARS): number | undefined {
  const start = zone.local(after);
  const lastYear = new Date(start).getUTCFullYear() + years;
  let best: number | undefined;
  for (let local = start; best === undefined;) {
    const match = nextLocalMatch(f, local, lastYear);
    if (match === undefined) {
      break;
    }
    local = match;
    const at = zone.instants(match);
    if (at.kind === 'one') {
      best = at.at > after ? at.at : undefined;
    } else if (at.kind === 'twice') {
      if (at.first > after) {
        best = at.first;
      } else if (f.wildcardTime && at.second > after) {
        best = at.second;
      }
    } else if (!f.wildcardTime) {
      best = at.resumesAt > after ? at.resumesAt : undefined;
    } else {
      // a job with `*` in minute or hour skips the gap: go on from the first wall-clock time after it
      local = Math.max(local, zone.local(at.resumesAt) - 1000);
    }
  }
  if (f.wildcardTime) {
    // the clocks go back soon: wall-clock times before `start` come again, and match again
    const change = zone.nextChange(after, LARGEST_CHANGE_MS);
    if (change && change.after < change.before && (best === undefined || best > change.at)) {
      const again = nextLocalMatch(f, zone.local(change.at) - 1000, lastYear);
      const endOfRepeat = change.at + change.before - change.after;
      if (again !== undefined) {
        const at = again - change.after;
        if (at > after && at < endOfRepeat && (best === undefined || at < best)) {
          best = at;
        }
      }
    }
  }
  return best;
}

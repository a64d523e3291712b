/**
 * A plain reading of crontab(5), written for the tests independently of the scheduler's code: a
 * field matcher and a minute-by-minute simulation of Vixie cron's handling of clock changes.
 */

const NAMES: Readonly<Record<string, number>> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};

/** The values a field allows: `*`, N, A-B, with /STEP after `*` or a range, lists, names. */
function values(field: string, low: number, high: number): Set<number> {
  const out = new Set<number>();
  for (const item of field.toLowerCase().split(',')) {
    const [range, step] = item.split('/');
    const num = (s: string) => NAMES[s] ?? Number(s);
    const [a, b] = range === '*' ? [low, high] : range.split('-').map(num);
    const end = b ?? (step ? high : a);
    for (let v = a; v <= end; v += step ? Number(step) : 1) {
      out.add(v);
    }
  }
  return out;
}

export interface OracleCron {
  matches(wallClock: Date): boolean;
  /** minute or hour starts with `*` */
  readonly wildcard: boolean;
}

/** A five-field expression. */
export function oracle(expression: string): OracleCron {
  const [mi, h, dom, mon, dow] = expression.trim().split(/\s+/);
  const minutes = values(mi, 0, 59);
  const hours = values(h, 0, 23);
  const days = values(dom, 1, 31);
  const months = values(mon, 1, 12);
  const weekdays = values(dow, 0, 7);
  if (weekdays.has(7)) {
    weekdays.add(0);
  }
  // crontab(5): "If both fields are restricted (i.e., aren't *), the command will be run when either
  // field matches the current time"; Vixie's source counts a field as * when it starts with *
  const either = !dom.startsWith('*') && !dow.startsWith('*');
  return {
    wildcard: mi.startsWith('*') || h.startsWith('*'),
    matches(w: Date) {
      const d = days.has(w.getUTCDate());
      const wd = weekdays.has(w.getUTCDay());
      return (
        minutes.has(w.getUTCMinutes()) &&
        hours.has(w.getUTCHours()) &&
        months.has(w.getUTCMonth() + 1) &&
        (either ? d || wd : d && wd)
      );
    },
  };
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The zone's wall clock at an instant, written as if UTC. */
export function wallClock(zone: string, at: number): number {
  let format = formats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formats.set(zone, format);
  }
  const p: Record<string, string> = {};
  for (const part of format.formatToParts(at)) {
    p[part.type] = part.value;
  }
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
}

const MINUTE = 60_000;

/**
 * The fires in (from, to] as Vixie cron makes them, walking real time a minute at a time (cron(8):
 * "If the time has moved forwards, those jobs which would have run in the time that was skipped will
 * be run soon after the change. Conversely, if the time has moved backwards by less than 3 hours,
 * those jobs that fall into the repeated time will not be re-run. Only jobs that run at a particular
 * time (not specified as @hourly, nor with '*' in the hour or minute specifier) are affected").
 */
export function simulate(expression: string, zone: string, from: number, to: number): number[] {
  const cron = oracle(expression);
  const fires: number[] = [];
  const seen = new Set<number>();
  let previous = wallClock(zone, from);
  for (let t = from + MINUTE; t <= to; t += MINUTE) {
    const wall = wallClock(zone, t);
    let fire = cron.matches(new Date(wall)) && (cron.wildcard || !seen.has(wall));
    if (!cron.wildcard && wall > previous + MINUTE) {
      for (let skipped = previous + MINUTE; skipped < wall; skipped += MINUTE) {
        fire ||= cron.matches(new Date(skipped));
      }
    }
    if (fire) {
      fires.push(t);
    }
    seen.add(wall);
    previous = wall;
  }
  return fires;
}

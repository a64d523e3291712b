/**
 * A fire time as the schedule reads it: the wall-clock time in the schedule's own zone, with its
 * offset ("Sun, 29 Mar 2026, 03:00 GMT+2"), so that it can be compared with the expression and its
 * description ("At 02:30") even when this machine is in another zone.
 */
export function scheduleTime(iso: string, timeZone: string): string {
  const date = new Date(iso);
  try {
    return date.toLocaleString(undefined, {
      timeZone,
      weekday: 'short',
      year: 'numeric',
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: date.getUTCSeconds() === 0 ? undefined : '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'shortOffset',
    });
  } catch {
    return iso; // a zone this runtime does not know: the ISO time carries its offset
  }
}

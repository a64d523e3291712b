/**
 * Wall-clock time in an IANA zone, through the runtime's own zone data (Intl). A "local" time here is
 * the wall-clock reading written as if it were UTC (ms): local = instant + offset.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** What a wall-clock reading is in real time. */
export type LocalInstants =
  /** the usual case */
  | { readonly kind: 'one'; readonly at: number }
  /** a repeated reading (clocks went back): its first and its second occurrence */
  | { readonly kind: 'twice'; readonly first: number; readonly second: number }
  /** a reading that never happens (clocks went forward); `resumesAt` is the first instant after the gap */
  | { readonly kind: 'skipped'; readonly resumesAt: number };

export class Zone {
  private readonly format: Intl.DateTimeFormat | undefined;
  /** UTC itself: no offset ever, times written with "Z" */
  readonly isUtc: boolean;

  constructor(readonly name: string) {
    this.isUtc = name === 'UTC' || name === 'Etc/UTC';
    this.format = this.isUtc
      ? undefined
      : new Intl.DateTimeFormat('en-US', {
          timeZone: name,
          hourCycle: 'h23',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
  }

  /** The zone's offset from UTC (ms) at an instant. */
  offset(at: number): number {
    if (!this.format) {
      return 0;
    }
    const whole = Math.floor(at / 1000) * 1000;
    const p: Record<string, string> = {};
    for (const part of this.format.formatToParts(whole)) {
      p[part.type] = part.value;
    }
    const local = Date.UTC(
      Number(p.year),
      Number(p.month) - 1,
      Number(p.day),
      Number(p.hour),
      Number(p.minute),
      Number(p.second),
    );
    return local - whole;
  }

  /** The wall-clock reading at an instant. */
  local(at: number): number {
    return at + this.offset(at);
  }

  /** The instants at which the wall clock reads `local` (assumes at most one change within a day). */
  instants(local: number): LocalInstants {
    const before = this.offset(local - DAY);
    const after = this.offset(local + DAY);
    const a = local - before;
    if (before === after) {
      return { kind: 'one', at: a };
    }
    const b = local - after;
    const aOk = this.offset(a) === before;
    const bOk = this.offset(b) === after;
    if (aOk && bOk) {
      return { kind: 'twice', first: Math.min(a, b), second: Math.max(a, b) };
    }
    if (aOk || bOk) {
      return { kind: 'one', at: aOk ? a : b };
    }
    // clocks went forward by (after - before): the change lies in [b, a]
    return { kind: 'skipped', resumesAt: this.change(b, a) };
  }

  /**
   * The instant of the next change of offset within `within` ms after `from`, with the offsets before
   * and after it, or undefined when there is none.
   */
  nextChange(from: number, within: number): { at: number; before: number; after: number } | undefined {
    const before = this.offset(from);
    const after = this.offset(from + within);
    if (before === after) {
      return undefined;
    }
    const at = this.change(from, from + within);
    return { at, before, after: this.offset(at) };
  }

  /** The first whole second in (lo, hi] whose offset differs from the offset at lo (binary search). */
  private change(lo: number, hi: number): number {
    const start = this.offset(lo);
    let l = Math.floor(lo / 1000);
    let h = Math.ceil(hi / 1000);
    while (h - l > 1) {
      const mid = Math.floor((l + h) / 2);
      if (this.offset(mid * 1000) === start) {
        l = mid;
      } else {
        h = mid;
      }
    }
    return h * 1000;
  }
}

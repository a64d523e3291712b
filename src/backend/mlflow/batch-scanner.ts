import { MLFLOW_LIMITS } from '../../protocol/mlflow';
import { checkKey } from './values';

/**
 * A log-batch body in its commonest shape, turned into the run's event lines without building an
 * object per point: `{"run_id": "...", "metrics": [{"key": "loss", "value": 0.25, "timestamp":
 * 1767225600000, "step": 3}, ...]}` (any field order, any JSON whitespace, `params` and `tags` empty
 * or absent). It reads the body's bytes and writes the lines' bytes; the numbers go into the lines as
 * the client wrote them: parsing 1,000 doubles and printing them again cost more than all the rest of
 * the request.
 *
 * Anything else gives up (undefined) and the body takes the general path (`JSON.parse`, then each
 * field checked in MLflow's words), which also reports every error: a string with an escape or a
 * byte outside ASCII, a value sent as text ("NaN"), a number out of range, a missing or repeated
 * field, an unknown field, more points than a batch may hold. So the fast path accepts only bodies
 * the general path accepts, and writes the same values.
 */
export class ScannedBatch {
  constructor(
    /** the run named, as `run_id` is read by the general path */
    readonly run_id: string,
    /** the points */
    readonly count: number,
    /** their lines of events.jsonl, each ending in '\n' */
    readonly lines: Buffer,
  ) {}
}

const QUOTE = 34;
const BACKSLASH = 92;
const COLON = 58;
const COMMA = 44;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
/** digits of an integer that is always within ±2^53 (MLflow's int64 as the lab keeps it) */
const SAFE_DIGITS = 15;

const ascii = (s: string) => Buffer.from(s, 'latin1');
const FIELD = { key: ascii('key'), value: ascii('value'), timestamp: ascii('timestamp'), step: ascii('step') };
const TOP = { runId: ascii('run_id'), metrics: ascii('metrics'), params: ascii('params'), tags: ascii('tags') };
const LINE = {
  key: ascii('{"k":"m","key":"'),
  v: ascii('","v":'),
  s: ascii(',"s":'),
  t: ascii(',"t":'),
  end: ascii('}\n'),
};
const STEP_ZERO = ascii('0');

/** A number's place in the body: [start, end). */
interface Span {
  start: number;
  end: number;
}

/** The scan of one body: the cursor, the lines written so far; every method returns false to give up. */
class BatchScan {
  i = 0;
  o = 0;
  /** string spans found by `string()` */
  readonly text: Span = { start: 0, end: 0 };
  readonly out: Buffer;

  constructor(readonly b: Buffer) {
    // a point's line is at most 2 bytes longer than the point's JSON (`,"s":0` added, field names
    // shorter); the other members of the body write nothing
    this.out = Buffer.allocUnsafe(b.length + 2 * MLFLOW_LIMITS.metricsPerBatch);
  }

  space(): void {
    const { b } = this;
    let i = this.i;
    for (let c = b[i]; c === 32 || c === 9 || c === 10 || c === 13; c = b[++i]) {
      // JSON whitespace
    }
    this.i = i;
  }

  /** The next byte after whitespace is `c`: consumed. */
  take(c: number): boolean {
    this.space();
    if (this.b[this.i] !== c) {
      return false;
    }
    this.i++;
    return true;
  }

  /** A string of printable ASCII without escapes, its bytes' span in `text`. */
  string(): boolean {
    if (!this.take(QUOTE)) {
      return false;
    }
    const { b } = this;
    const start = this.i;
    for (let i = start; i < b.length; i++) {
      const c = b[i];
      if (c === QUOTE) {
        this.text.start = start;
        this.text.end = i;
        this.i = i + 1;
        return true;
      }
      if (c === BACKSLASH || c < 32 || c > 126) {
        return false;
      }
    }
    return false;
  }

  /** The text of the last `string()` is `word`. */
  textIs(word: Buffer): boolean {
    const { start, end } = this.text;
    if (end - start !== word.length) {
      return false;
    }
    for (let j = 0; j < word.length; j++) {
      if (this.b[start + j] !== word[j]) {
        return false;
      }
    }
    return true;
  }

  /**
   * A JSON number (its grammar exactly) into `span`; with `integer`, only one that is a safe integer
   * as written (digits, at most 15 of them, not "-0"); a double out of range (1e999) gives up: the
   * general path says what it becomes.
   */
  number(integer: boolean, span: Span): boolean {
    this.space();
    const { b } = this;
    const start = this.i;
    let i = start;
    if (b[i] === MINUS) {
      i++;
    }
    const digits = i;
    let c = b[i];
    if (c === ZERO) {
      i++;
    } else if (c > ZERO && c <= NINE) {
      do {
        c = b[++i];
      } while (c >= ZERO && c <= NINE);
    } else {
      return false;
    }
    const intDigits = i - digits;
    let fraction = false;
    if (b[i] === DOT) {
      fraction = true;
      const s = ++i;
      while ((c = b[i]) >= ZERO && c <= NINE) {
        i++;
      }
      if (i === s) {
        return false;
      }
    }
    let exponent = false;
    c = b[i];
    if (c === 101 /* e */ || c === 69 /* E */) {
      exponent = true;
      c = b[++i];
      if (c === PLUS || c === MINUS) {
        i++;
      }
      const s = i;
      while ((c = b[i]) >= ZERO && c <= NINE) {
        i++;
      }
      if (i === s) {
        return false;
      }
    }
    this.i = i;
    span.start = start;
    span.end = i;
    if (integer) {
      const minusZero = digits > start && intDigits === 1 && b[digits] === ZERO;
      return !fraction && !exponent && intDigits <= SAFE_DIGITS && !minusZero;
    }
    return !exponent || Number.isFinite(Number(b.toString('latin1', start, i)));
  }

  /** `,` (1: another member or item follows), `close` (0), else -1. */
  next(close: number): number {
    this.space();
    const c = this.b[this.i++];
    return c === COMMA ? 1 : c === close ? 0 : -1;
  }

  /** A few bytes, copied in a loop (cheaper than a call of Buffer.copy for each) */
  write(bytes: Buffer): void {
    const { out } = this;
    let o = this.o;
    for (let j = 0; j < bytes.length; j++) {
      out[o++] = bytes[j];
    }
    this.o = o;
  }

  copy(span: Span): void {
    const { b, out } = this;
    let o = this.o;
    for (let j = span.start; j < span.end; j++) {
      out[o++] = b[j];
    }
    this.o = o;
  }
}

/** One point written as its line; false to give up. */
function scanPoint(at: BatchScan, keys: Set<string>, key: Span, value: Span, time: Span, step: Span): boolean {
  if (!at.take(OPEN_BRACE)) {
    return false;
  }
  key.start = value.start = time.start = step.start = -1;
  for (;;) {
    if (!at.string() || !at.take(COLON)) {
      return false;
    }
    if (at.textIs(FIELD.key)) {
      if (key.start >= 0 || !at.string()) {
        return false;
      }
      key.start = at.text.start;
      key.end = at.text.end;
    } else if (at.textIs(FIELD.value)) {
      if (value.start >= 0 || !at.number(false, value)) {
        return false;
      }
    } else if (at.textIs(FIELD.timestamp)) {
      if (time.start >= 0 || !at.number(true, time)) {
        return false;
      }
    } else if (at.textIs(FIELD.step)) {
      if (step.start >= 0 || !at.number(true, step)) {
        return false;
      }
    } else {
      return false;
    }
    const more = at.next(CLOSE_BRACE);
    if (more < 0) {
      return false;
    }
    if (more === 0) {
      break;
    }
  }
  if (key.start < 0 || value.start < 0 || time.start < 0) {
    return false;
  }
  const name = at.b.toString('latin1', key.start, key.end);
  if (!keys.has(name)) {
    try {
      checkKey(name, 'Metric');
    } catch {
      return false;
    }
    keys.add(name);
  }
  // printable ASCII without escapes: the key's JSON is the key in quotes
  at.write(LINE.key);
  at.copy(key);
  at.write(LINE.v);
  at.copy(value);
  at.write(LINE.s);
  if (step.start >= 0) {
    at.copy(step);
  } else {
    at.write(STEP_ZERO);
  }
  at.write(LINE.t);
  at.copy(time);
  at.write(LINE.end);
  return true;
}

/** `[` items `]`, at most `max` of them; the count, or -1 to give up. */
function scanArray(at: BatchScan, max: number, item: () => boolean): number {
  if (!at.take(OPEN_BRACKET)) {
    return -1;
  }
  if (at.take(CLOSE_BRACKET)) {
    return 0;
  }
  for (let n = 1; n <= max; n++) {
    if (!item()) {
      return -1;
    }
    const more = at.next(CLOSE_BRACKET);
    if (more <= 0) {
      return more === 0 ? n : -1;
    }
  }
  return -1;
}

/** The batch of `body` (a log-batch request's JSON bytes) in its plain shape, else undefined. */
export function scanMetricBatch(body: Buffer): ScannedBatch | undefined {
  const at = new BatchScan(body);
  if (!at.take(OPEN_BRACE)) {
    return undefined;
  }
  const keys = new Set<string>();
  const spans: Span[] = [0, 1, 2, 3].map(() => ({ start: -1, end: -1 }));
  const point = () => scanPoint(at, keys, spans[0], spans[1], spans[2], spans[3]);
  let runId: string | undefined;
  let count = -1;
  let lists = 0;
  if (!at.take(CLOSE_BRACE)) {
    for (;;) {
      if (!at.string() || !at.take(COLON)) {
        return undefined;
      }
      if (at.textIs(TOP.runId)) {
        if (runId !== undefined || !at.string()) {
          return undefined;
        }
        runId = body.toString('latin1', at.text.start, at.text.end);
      } else if (at.textIs(TOP.metrics)) {
        if (count >= 0 || (count = scanArray(at, MLFLOW_LIMITS.metricsPerBatch, point)) < 0) {
          return undefined;
        }
      } else if (at.textIs(TOP.params) || at.textIs(TOP.tags)) {
        // only empty ones (once each): params and tags take the general path
        if (++lists > 2 || scanArray(at, 0, () => false) !== 0) {
          return undefined;
        }
      } else {
        return undefined;
      }
      const more = at.next(CLOSE_BRACE);
      if (more < 0) {
        return undefined;
      }
      if (more === 0) {
        break;
      }
    }
  }
  at.space();
  if (at.i !== body.length || runId === undefined || runId === '' || count < 0) {
    return undefined;
  }
  return new ScannedBatch(runId, count, at.out.subarray(0, at.o));
}

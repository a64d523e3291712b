/**
 * A fast path for the commonest line of events.jsonl, a metric point:
 * `{"k": "m", "key": "loss", "v": 0.25, "s": 3, "t": 1767225600000}` (any key order, any JSON
 * whitespace). It reads the flat object in place, without building an object per line, which makes
 * ingest faster than `JSON.parse` alone. Anything else (other events, escapes in strings, nested
 * values) makes it give up, and the caller falls back to `JSON.parse`. Hand-written because no
 * library parses a known flat JSON shape without allocating.
 *
 * It is exact for JSON: numbers follow the JSON grammar. As a deliberate leniency it also takes the
 * bare tokens NaN, Infinity and -Infinity as values (Python's `json.dumps` writes them so by default).
 */
export interface MetricFields {
  key: string;
  /** the value; NaN/±Infinity for the special strings */
  value: number;
  /** false when `v` was not a number nor one of the special strings (a non-numeric metric value) */
  numeric: boolean;
  /** null = the next step of the key */
  step: number | null;
  /** false when `s` was neither a number nor null */
  stepValid: boolean;
  /** NaN when absent */
  time: number;
}

const QUOTE = 34;
const BACKSLASH = 92;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;
const DOT = 46;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function special(text: string): number | undefined {
  switch (text) {
    case 'NaN':
      return NaN;
    case 'Infinity':
      return Infinity;
    case '-Infinity':
      return -Infinity;
  }
  return undefined;
}

/** Converts a metric value as logged (number or special string) to a float64; undefined if not numeric. */
export function metricValue(v: unknown): number | undefined {
  return typeof v === 'number' ? v : typeof v === 'string' ? special(v) : undefined;
}

/**
 * Scans `line[start, end)`. Returns true and fills `out` for a metric line; false means "not handled
 * here": the caller parses the line with JSON.parse (which also reports it if it is corrupt).
 */
export function scanMetricLine(line: string, start: number, end: number, out: MetricFields): boolean {
  let i = start;
  while (i < end && isSpace(line.charCodeAt(i))) {
    i++;
  }
  if (line.charCodeAt(i) !== 123 /* { */) {
    return false;
  }
  i++;
  let kind: string | undefined;
  let key: string | undefined;
  let value: unknown = undefined;
  let valueIsNumber = false;
  let stepSeen = false;
  let step: number | null = null;
  let stepValid = true;
  let time = NaN;
  for (;;) {
    while (i < end && isSpace(line.charCodeAt(i))) {
      i++;
    }
    if (line.charCodeAt(i) !== QUOTE) {
      return false;
    }
    const nameStart = ++i;
    while (i < end) {
      const c = line.charCodeAt(i);
      if (c === QUOTE) {
        break;
      }
      if (c === BACKSLASH || c < 32) {
        return false;
      }
      i++;
    }
    if (i >= end) {
      return false;
    }
    const nameEnd = i++;
    while (i < end && isSpace(line.charCodeAt(i))) {
      i++;
    }
    if (line.charCodeAt(i) !== 58 /* : */) {
      return false;
    }
    i++;
    while (i < end && isSpace(line.charCodeAt(i))) {
      i++;
    }
    // the value: a string without escapes, a number, null, or a bare special token
    const c = line.charCodeAt(i);
    let str: string | undefined;
    let num = 0;
    let isNum = false;
    let isNull = false;
    if (c === QUOTE) {
      const s = ++i;
      while (i < end) {
        const d = line.charCodeAt(i);
        if (d === QUOTE) {
          break;
        }
        if (d === BACKSLASH || d < 32) {
          return false;
        }
        i++;
      }
      if (i >= end) {
        return false;
      }
      str = line.slice(s, i++);
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      const s = i;
      const n = scanNumber(line, i, end);
      if (n < 0) {
        // "-Infinity" as a bare token
        if (line.startsWith('-Infinity', i)) {
          num = -Infinity;
          i += 9;
          isNum = true;
        } else {
          return false;
        }
      } else {
        i = n;
        num = Number(line.slice(s, i));
        isNum = true;
      }
    } else if (c === 110 /* n */ && line.startsWith('null', i)) {
      isNull = true;
      i += 4;
    } else if (c === 78 /* N */ && line.startsWith('NaN', i)) {
      num = NaN;
      isNum = true;
      i += 3;
    } else if (c === 73 /* I */ && line.startsWith('Infinity', i)) {
      num = Infinity;
      isNum = true;
      i += 8;
    } else {
      return false; // true, false, objects, arrays: the general path
    }
    switch (nameEnd - nameStart) {
      case 1: {
        const n = line.charCodeAt(nameStart);
        if (n === 107 /* k */) {
          if (str === undefined) {
            return false;
          }
          kind = str;
        } else if (n === 118 /* v */) {
          value = isNum ? num : isNull ? null : str;
          valueIsNumber = isNum;
        } else if (n === 115 /* s */) {
          stepSeen = true;
          step = isNum ? num : null;
          stepValid = isNull || (isNum && Number.isFinite(num));
        } else if (n === 116 /* t */) {
          time = isNum ? num : NaN;
        }
        break;
      }
      case 3:
        if (line.startsWith('key', nameStart)) {
          if (str === undefined) {
            return false;
          }
          key = str;
        }
        break;
    }
    while (i < end && isSpace(line.charCodeAt(i))) {
      i++;
    }
    const sep = line.charCodeAt(i++);
    if (sep === 125 /* } */) {
      break;
    }
    if (sep !== 44 /* , */) {
      return false;
    }
  }
  while (i < end && isSpace(line.charCodeAt(i))) {
    i++;
  }
  if (i !== end || kind !== 'm' || key === undefined) {
    return false;
  }
  out.key = key;
  if (valueIsNumber) {
    out.value = value as number;
    out.numeric = true;
  } else {
    const v = typeof value === 'string' ? special(value) : undefined;
    out.value = v ?? NaN;
    out.numeric = v !== undefined;
  }
  out.step = stepSeen ? step : null;
  out.stepValid = stepValid;
  out.time = time;
  return true;
}

/** The end of a JSON number starting at `i`, or -1 if there is none. */
function scanNumber(line: string, i: number, end: number): number {
  if (line.charCodeAt(i) === MINUS) {
    i++;
  }
  let c = line.charCodeAt(i);
  if (c === ZERO) {
    i++;
  } else if (c > ZERO && c <= NINE) {
    do {
      c = line.charCodeAt(++i);
    } while (i < end && c >= ZERO && c <= NINE);
  } else {
    return -1;
  }
  if (i < end && line.charCodeAt(i) === DOT) {
    const s = ++i;
    while (i < end && (c = line.charCodeAt(i)) >= ZERO && c <= NINE) {
      i++;
    }
    if (i === s) {
      return -1;
    }
  }
  c = line.charCodeAt(i);
  if (i < end && (c === 101 || c === 69) /* e E */) {
    i++;
    c = line.charCodeAt(i);
    if (c === 43 || c === MINUS) {
      i++;
    }
    const s = i;
    while (i < end && (c = line.charCodeAt(i)) >= ZERO && c <= NINE) {
      i++;
    }
    if (i === s) {
      return -1;
    }
  }
  return i;
}

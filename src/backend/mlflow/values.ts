import type { RunEvent } from '../../protocol/experiments';
import { MLFLOW_LIMITS, type MlflowTag } from '../../protocol/mlflow';
import { invalid, missing, MlflowError } from './errors';

/** A request's fields: the JSON body of a POST, or the query of a GET (numbers then come as text). */
export type Input = Readonly<Record<string, unknown>>;

/** A run id of the lab (`<yyyyMMdd-HHmmss>-<6 hex>`, or any id a run directory may have): no path can pass for one. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** A text field, checked for type and length; undefined when absent (and not required). */
export function text(input: Input, name: string, options: { required: true; max?: number }): string;
export function text(input: Input, name: string, options?: { required?: false; max?: number }): string | undefined;
export function text(
  input: Input,
  name: string,
  options: { required?: boolean; max?: number } = {},
): string | undefined {
  const v = input[name];
  if (v === undefined || v === null || (options.required && v === '')) {
    if (options.required) {
      throw missing(name);
    }
    return undefined;
  }
  if (typeof v !== 'string') {
    throw invalid(
      `Invalid value ${JSON.stringify(v).slice(0, 100)} for parameter '${name}' supplied: it must be a string.`,
    );
  }
  const max = options.max ?? MLFLOW_LIMITS.tagValueChars;
  if (v.length > max) {
    throw invalid(`'${name}' exceeds the maximum length of ${max} characters (it has ${v.length}).`);
  }
  return v;
}

/** An int64 field (a JSON number, or its decimal text as MLflow's clients may send it). */
export function int64(input: Input, name: string, required = false): number | undefined {
  const v = input[name];
  if (v === undefined || v === null || v === '') {
    if (required) {
      throw missing(name);
    }
    return undefined;
  }
  const n = typeof v === 'string' && /^-?[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw invalid(
      `Invalid value ${JSON.stringify(v).slice(0, 100)} for parameter '${name}' supplied: it must be an integer (int64 within ±2^53).`,
    );
  }
  return n;
}

/** The run a request names: `run_id`, or `run_uuid` of older clients. */
export function runIdOf(input: Input): string {
  const id = text(input, 'run_id', { max: 100 }) ?? text(input, 'run_uuid', { max: 100 });
  if (id === undefined || id === '') {
    throw missing('run_id');
  }
  if (!RUN_ID.test(id)) {
    throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run '${id.slice(0, 100)}' not found`);
  }
  return id;
}

/** A list field: an array in a JSON body, one or repeated values in a query. */
export function list(input: Input, name: string, max: number): unknown[] {
  const v = input[name];
  if (v === undefined || v === null) {
    return [];
  }
  const items = Array.isArray(v) ? v : [v];
  if (items.length > max) {
    throw invalid(`'${name}' holds ${items.length} entries: at most ${max} are accepted in one request.`);
  }
  return items;
}

/** A key of a metric, param or tag: a non-empty name of at most 250 characters, as MLflow checks it. */
export function checkKey(key: unknown, what: string): string {
  if (typeof key !== 'string' || key === '') {
    throw missing('key');
  }
  if (key.length > MLFLOW_LIMITS.keyChars) {
    throw invalid(
      `${what} name '${key.slice(0, 100)}...' had length ${key.length}, which exceeded length limit of ${MLFLOW_LIMITS.keyChars}`,
    );
  }
  if (
    key.includes('\0') ||
    key.startsWith('/') ||
    (key.includes('.') && key.split('/').some((part) => part === '..' || part === '.'))
  ) {
    throw invalid(
      `Invalid ${what.toLowerCase()} name: '${key.slice(0, 100)}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such.`,
    );
  }
  return key;
}

/** `[{key, value}]` of tags or params, each checked (keys, and values up to `maxValue` characters). */
export function tagsOf(value: unknown, what: 'Tag' | 'Param', maxValue: number, maxItems: number): MlflowTag[] {
  if (value === undefined || value === null) {
    return [];
  }
  if (!Array.isArray(value)) {
    throw invalid(`${what}s must be a list of {"key", "value"} objects.`);
  }
  if (value.length > maxItems) {
    throw invalid(
      `A request can hold at most ${maxItems} ${what.toLowerCase()}s; it has ${value.length}: split it across several requests.`,
    );
  }
  return value.map((item: unknown) => {
    const entry = (item ?? {}) as { key?: unknown; value?: unknown };
    const key = checkKey(entry.key, what);
    if (entry.value === undefined || entry.value === null) {
      throw missing('value');
    }
    const text = typeof entry.value === 'string' ? entry.value : String(entry.value as number);
    if (text.length > maxValue) {
      throw invalid(
        `${what} value '${text.slice(0, 100)}...' had length ${text.length}, which exceeded length limit of ${maxValue}`,
      );
    }
    return { key, value: text };
  });
}

type MetricEvent = Extract<RunEvent, { k: 'm' }>;

/** A metric point of MLflow (value, timestamp, step 0 when absent) as an event line of the run. */
export function metricEvent(m: Input): MetricEvent {
  const key = checkKey(m.key, 'Metric');
  const raw = m.value;
  let v: MetricEvent['v'];
  if (typeof raw === 'number') {
    // 1e999 parses to Infinity: kept as the text the lab writes for it (a bare Infinity is not JSON)
    v = Number.isFinite(raw) ? raw : raw > 0 ? 'Infinity' : '-Infinity';
  } else if (raw === 'NaN' || raw === 'Infinity' || raw === '-Infinity') {
    v = raw;
  } else if (typeof raw === 'string' && raw !== '' && Number.isFinite(Number(raw))) {
    v = Number(raw);
  } else if (raw === undefined || raw === null) {
    throw missing('value');
  } else {
    throw invalid(
      `Got invalid value ${JSON.stringify(raw).slice(0, 100)} for metric '${key}' (timestamp=${String(m.timestamp)}). Please specify value as a valid double (64-bit floating point)`,
    );
  }
  const t = int64(m, 'timestamp', true)!;
  const s = int64(m, 'step') ?? 0;
  return { k: 'm', key, v, s, t };
}

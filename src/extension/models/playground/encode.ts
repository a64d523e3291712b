/**
 * Pure parts of the prediction playground: CSV cells to JSON values, rows to each of MLflow's scoring
 * formats, and the example payload and summary built from a model server's GET /info.
 */
import type { InputFormat } from '../../../protocol/webviews/prediction-playground';

/** What the model server's GET /info answers (resources/model-server/server.py), as far as the playground reads it. */
export interface ModelServerInfo {
  readonly name?: string | null;
  readonly version?: number | null;
  readonly status?: string;
  readonly error?: string | null;
  readonly loader?: string;
  readonly entryPoint?: string | null;
  readonly modelType?: string;
  readonly nFeatures?: number | null;
  readonly featureNames?: readonly string[] | null;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A CSV cell as a JSON value: numbers as numbers, an empty cell as null, true/false as booleans, else the text. */
export function cellValue(cell: string): string | number | boolean | null {
  const s = cell.trim();
  if (s === '') {
    return null;
  }
  if (NUMBER.test(s)) {
    return Number(s);
  }
  if (s === 'true' || s === 'false') {
    return s === 'true';
  }
  return cell;
}

/**
 * Picks `columns` (by name, in that order) from CSV rows and converts the cells. Ragged rows get
 * null for missing cells; an unknown column is an error.
 */
export function selectColumns(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  columns: readonly string[],
): (string | number | boolean | null)[][] {
  const indexes = columns.map((c) => {
    const i = header.indexOf(c);
    if (i < 0) {
      throw new Error(`The dataset has no column "${c}".`);
    }
    return i;
  });
  return rows.map((row) => indexes.map((i) => (i < row.length ? cellValue(row[i]) : null)));
}

/** The body of a request in one of MLflow's scoring formats (all accepted by /invocations; /predict takes inputs and instances). */
export function encodeRows(
  columns: readonly string[],
  rows: readonly (readonly (string | number | boolean | null)[])[],
  format: InputFormat,
): Record<string, unknown> {
  switch (format) {
    case 'dataframe_split':
      return { dataframe_split: { columns: [...columns], data: rows.map((r) => [...r]) } };
    case 'dataframe_records':
      return { dataframe_records: rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? null]))) };
    case 'instances':
      return { instances: rows.map((r) => [...r]) };
    case 'inputs':
      return { inputs: rows.map((r) => [...r]) };
  }
}

/**
 * The columns to preselect: the model's feature names when the dataset has them all, else the first
 * `nFeatures` columns (a trailing label column is left out), else every column.
 */
export function defaultColumns(header: readonly string[], info: ModelServerInfo | undefined): string[] {
  const names = info?.featureNames;
  if (names && names.length > 0 && names.every((n) => header.includes(n))) {
    return [...names];
  }
  const n = info?.nFeatures;
  if (typeof n === 'number' && n > 0 && n <= header.length) {
    return header.slice(0, n);
  }
  return [...header];
}

/** An example body for /predict from what /info says: one row of zeros of the right width, named when names are known. */
export function examplePayload(info: ModelServerInfo | undefined): string | null {
  const names = info?.featureNames;
  if (names && names.length > 0) {
    return compactJson(encodeRows(names, [names.map(() => 0)], 'dataframe_split'));
  }
  const n = info?.nFeatures;
  if (typeof n === 'number' && n > 0) {
    return compactJson({ inputs: [new Array<number>(n).fill(0)] });
  }
  return null;
}

/** One line about a model server: its model, loader and features, or why it is not ready. */
export function summarizeInfo(info: ModelServerInfo): string {
  const parts: string[] = [];
  if (info.name) {
    parts.push(info.version ? `${info.name}:v${info.version}` : info.name);
  }
  if (info.status && info.status !== 'ready') {
    parts.push(info.error ? `${info.status}: ${info.error}` : info.status);
  }
  if (info.modelType) {
    parts.push(info.modelType);
  } else if (info.loader) {
    parts.push(info.loader);
  }
  const names = info.featureNames;
  if (names && names.length > 0) {
    parts.push(`${names.length} features: ${names.join(', ')}`);
  } else if (typeof info.nFeatures === 'number') {
    parts.push(`${info.nFeatures} features`);
  } else {
    parts.push('features not declared');
  }
  return parts.join(' · ');
}

/** "rows 1-5" from a 1-based inclusive range, checked: at most `max` rows, from <= to. */
export function checkRange(from: number, to: number, max: number): { from: number; to: number } {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 1 || to < from) {
    throw new Error(`Choose rows as a range such as 1-5 (first row 1); got ${from}-${to}.`);
  }
  if (to - from + 1 > max) {
    throw new Error(`At most ${max} rows can be sent at once; the range ${from}-${to} has ${to - from + 1}.`);
  }
  return { from, to };
}

/**
 * JSON indented by two spaces, but with each array of plain values (a row, a list of predictions)
 * on one line: a payload of 100 rows stays 100 lines long and reads like the CSV it came from.
 * Only whitespace between tokens is touched (JSON strings never hold a raw line break).
 */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /\[\n\s*([^[\]{}]*?)\n\s*\]/g,
    (_m, inner: string) => `[${inner.replace(/,\n\s*/g, ', ')}]`,
  );
}

/**
 * The compare table's filters: the filter bar's expressions (`lr > 0.01, accuracy >= 0.9,
 * name ~ resnet`, or bare text searched in every text column), a set of statuses and a range of
 * start dates. Parsing never throws: a clause it cannot read gives a message saying why and how.
 */
import type { ColumnDef } from '../../protocol/webviews/compare-table';
import { type Cell, type Row } from './cells';

export type CompareOp = '<' | '<=' | '>' | '>=' | '=' | '!=';

export type Filter =
  /** a number or date column against a number (dates as unix ms) */
  | { readonly kind: 'compare'; readonly column: number; readonly op: CompareOp; readonly value: number }
  /** a text column equal (or not) to a text, ignoring case */
  | { readonly kind: 'equals'; readonly column: number; readonly value: string; readonly negate: boolean }
  /** a column's text contains a text, ignoring case */
  | { readonly kind: 'contains'; readonly column: number; readonly text: string }
  /** any text column (name, operator, status, text params) contains a text */
  | { readonly kind: 'anyText'; readonly text: string }
  | { readonly kind: 'status'; readonly column: number; readonly statuses: ReadonlySet<string> }
  /** a date column within [from, to] (unix ms; either may be open) */
  | { readonly kind: 'dateRange'; readonly column: number; readonly from?: number; readonly to?: number };

export interface ParsedFilters {
  readonly filters: Filter[];
  /** one message per clause that could not be read; the other clauses still apply */
  readonly errors: string[];
}

/** Splits at commas, semicolons, `and` and `&&`, outside double quotes. */
function splitClauses(text: string): string[] {
  const clauses: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      quoted = !quoted;
    } else if (!quoted && (ch === ',' || ch === ';')) {
      clauses.push(current);
      current = '';
      continue;
    } else if (!quoted && ch === '&' && text[i + 1] === '&') {
      clauses.push(current);
      current = '';
      i++;
      continue;
    } else if (!quoted && /\s/.test(ch) && /^\s+and\s/i.test(text.slice(i))) {
      clauses.push(current);
      current = '';
      i += /^\s+and/i.exec(text.slice(i))![0].length - 1;
      continue;
    }
    current += ch;
  }
  clauses.push(current);
  return clauses.map((c) => c.trim()).filter((c) => c.length > 0);
}

const unquote = (s: string) => (s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);

/** Finds the column a clause names: its id, a run column, a param key, a metric key (its last value) or `key.min`/`key.max`. */
export function resolveColumn(ref: string, columns: readonly ColumnDef[]): { index: number } | { error: string } {
  const wanted = unquote(ref.trim());
  const lower = wanted.toLowerCase();
  const byId = columns.findIndex((c) => c.id.toLowerCase() === lower);
  if (byId >= 0) {
    return { index: byId };
  }
  const find = (test: (c: ColumnDef) => boolean) => {
    const exact = columns.findIndex((c) => test(c) && c.key === wanted);
    return exact >= 0 ? exact : columns.findIndex((c) => test(c) && c.key?.toLowerCase() === lower);
  };
  const param = find((c) => c.group === 'param');
  const metric = find((c) => c.group === 'metric' && c.stat === 'last');
  if (param >= 0 && metric >= 0) {
    return {
      error: `"${wanted}" is both a param and a metric: write ${columns[param].id} or ${columns[metric].id}.`,
    };
  }
  if (param >= 0 || metric >= 0) {
    return { index: Math.max(param, metric) };
  }
  const stat = /^(.*)\.(last|min|max)$/i.exec(wanted);
  if (stat) {
    const index = columns.findIndex(
      (c) => c.group === 'metric' && c.stat === stat[2].toLowerCase() && c.key?.toLowerCase() === stat[1].toLowerCase(),
    );
    if (index >= 0) {
      return { index };
    }
  }
  const known = columns
    .filter((c) => c.group !== 'metric' || c.stat === 'last')
    .slice(0, 12)
    .map((c) => c.key ?? c.id);
  return { error: `Unknown column "${wanted}". Columns include: ${known.join(', ')}.` };
}

/** A date (yyyy-mm-dd, or anything Date.parse reads) or a number of ms as unix ms; yyyy-mm-dd is local midnight. */
export function parseDate(text: string): number | undefined {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const t = day ? new Date(Number(day[1]), Number(day[2]) - 1, Number(day[3])).getTime() : Date.parse(text);
  return Number.isFinite(t) ? t : undefined;
}

const CLAUSE = /^(.+?)\s*(>=|<=|!=|==|=|>|<|~|\s+contains\s+)\s*(.*)$/i;

function parseClause(clause: string, columns: readonly ColumnDef[]): Filter | string {
  const m = CLAUSE.exec(clause);
  if (!m) {
    return { kind: 'anyText', text: unquote(clause).toLowerCase() };
  }
  const op = m[2].trim().toLowerCase();
  const raw = unquote(m[3].trim());
  if (raw.length === 0) {
    return `"${clause}": a value is missing after ${op}, as in "lr > 0.01".`;
  }
  const resolved = resolveColumn(m[1], columns);
  if ('error' in resolved) {
    return `"${clause}": ${resolved.error}`;
  }
  const column = columns[resolved.index];
  if (op === '~' || op === 'contains') {
    return { kind: 'contains', column: resolved.index, text: raw.toLowerCase() };
  }
  const compareOp: CompareOp = op === '==' ? '=' : (op as CompareOp);
  if (column.kind === 'number' || column.kind === 'date') {
    const value = column.kind === 'date' ? parseDate(raw) : Number(raw);
    if (value === undefined || Number.isNaN(value)) {
      return column.kind === 'date'
        ? `"${clause}": "${raw}" is not a date; write it as 2026-01-31.`
        : `"${clause}": "${raw}" is not a number; ${column.label} holds numbers.`;
    }
    return { kind: 'compare', column: resolved.index, op: compareOp, value };
  }
  if (compareOp === '=' || compareOp === '!=') {
    return { kind: 'equals', column: resolved.index, value: raw.toLowerCase(), negate: compareOp === '!=' };
  }
  return `"${clause}": ${column.label} holds text: use =, != or ~ (contains), not ${op}.`;
}

/** Reads the filter bar's text. */
export function parseFilterText(text: string, columns: readonly ColumnDef[]): ParsedFilters {
  const filters: Filter[] = [];
  const errors: string[] = [];
  for (const clause of splitClauses(text)) {
    const f = parseClause(clause, columns);
    if (typeof f === 'string') {
      errors.push(f);
    } else {
      filters.push(f);
    }
  }
  return { filters, errors };
}

function compare(c: Cell, op: CompareOp, v: number): boolean {
  if (typeof c !== 'number' || Number.isNaN(c)) {
    return op === '!='; // a run without a value (or a NaN) differs from every value, and is no more or less
  }
  switch (op) {
    case '<':
      return c < v;
    case '<=':
      return c <= v;
    case '>':
      return c > v;
    case '>=':
      return c >= v;
    case '=':
      return c === v;
    case '!=':
      return c !== v;
  }
}

const text = (c: Cell) => (c === null ? '' : String(c).toLowerCase());

/** Whether a row passes one filter; `textColumns` are the columns bare text is searched in. */
export function matches(row: Row, f: Filter, textColumns: readonly number[]): boolean {
  switch (f.kind) {
    case 'compare':
      return compare(row.cells[f.column], f.op, f.value);
    case 'equals':
      return (row.cells[f.column] !== null && text(row.cells[f.column]) === f.value) !== f.negate;
    case 'contains':
      return text(row.cells[f.column]).includes(f.text);
    case 'anyText':
      return textColumns.some((i) => text(row.cells[i]).includes(f.text));
    case 'status':
      return f.statuses.size === 0 || f.statuses.has(String(row.cells[f.column]));
    case 'dateRange': {
      const t = row.cells[f.column];
      return (
        typeof t === 'number' &&
        !Number.isNaN(t) &&
        (f.from === undefined || t >= f.from) &&
        (f.to === undefined || t <= f.to)
      );
    }
  }
}

/** The positions of the rows that pass every filter, in the given order. */
export function filterRows(rows: readonly Row[], filters: readonly Filter[], columns: readonly ColumnDef[]): number[] {
  const textColumns = columns.flatMap((c, i) => (c.kind === 'text' || c.kind === 'status' ? [i] : []));
  const out: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    if (filters.every((f) => matches(rows[i], f, textColumns))) {
      out.push(i);
    }
  }
  return out;
}

/** Local midnight of the day after `t` (not t + 24 h: a day can have 23 or 25 hours). */
function nextDay(t: number): number {
  const d = new Date(t);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
}

/** The status and date range controls as filters; `to` is a whole day (yyyy-mm-dd up to its end). */
export function controlFilters(
  columns: readonly ColumnDef[],
  statuses: readonly string[],
  startedFrom: string,
  startedTo: string,
): ParsedFilters {
  const filters: Filter[] = [];
  const errors: string[] = [];
  const status = columns.findIndex((c) => c.id === 'status');
  if (status >= 0 && statuses.length > 0) {
    filters.push({ kind: 'status', column: status, statuses: new Set(statuses) });
  }
  const started = columns.findIndex((c) => c.id === 'started');
  const from = startedFrom ? parseDate(startedFrom) : undefined;
  const to = startedTo ? parseDate(startedTo) : undefined;
  if (startedFrom && from === undefined) {
    errors.push(`"${startedFrom}" is not a date; write it as 2026-01-31.`);
  }
  if (startedTo && to === undefined) {
    errors.push(`"${startedTo}" is not a date; write it as 2026-01-31.`);
  }
  if (started >= 0 && (from !== undefined || to !== undefined)) {
    const end = to === undefined ? undefined : /^\d{4}-\d{2}-\d{2}$/.test(startedTo) ? nextDay(to) - 1 : to;
    filters.push({ kind: 'dateRange', column: started, from, to: end });
  }
  return { filters, errors };
}

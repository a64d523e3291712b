import { MlflowError } from './errors';

/**
 * MLflow's search grammar (its "Search Runs" and "Search Experiments" reference): a filter is
 * clauses `<entity>.<key> <comparator> <value>` joined by AND; an order-by is `<entity>.<key> [ASC|DESC]`.
 * Entities: metric(s), param(s)/parameter(s), tag(s), attribute(s)/attr/run. A key is a bare name
 * (letters, digits, "_", ".") or quoted with backticks or double quotes; a string value is in single
 * or double quotes, a metric's or a time's value is a number. Written by hand: it is small, MLflow's
 * own parser is Python (sqlparse), and every message must say what to write instead.
 */

export type Entity = 'metric' | 'param' | 'tag' | 'attribute';
export type Comparator =
  '=' | '!=' | '>' | '>=' | '<' | '<=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN' | 'IS NULL' | 'IS NOT NULL';

export interface Clause {
  readonly entity: Entity;
  readonly key: string;
  readonly comparator: Comparator;
  /** a number (metrics, times), a text, a list of texts (IN), or null (IS NULL) */
  readonly value: number | string | readonly string[] | null;
}

export interface OrderBy {
  readonly entity: Entity;
  readonly key: string;
  readonly ascending: boolean;
}

/** The attributes a search knows and whether they compare as text or as numbers. */
export type Attributes = Readonly<Record<string, 'text' | 'number'>>;

const ENTITIES: Readonly<Record<string, Entity>> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};

const NUMERIC: readonly Comparator[] = ['=', '!=', '>', '>=', '<', '<='];
const TEXT: readonly Comparator[] = ['=', '!=', 'LIKE', 'ILIKE'];

function bad(message: string): MlflowError {
  return new MlflowError('INVALID_PARAMETER_VALUE', message);
}

type Token =
  | { kind: 'ident'; entity: string; key: string; text: string }
  | { kind: 'string'; value: string; text: string }
  | { kind: 'number'; value: number; text: string }
  | { kind: 'op'; value: string; text: string }
  | { kind: 'word'; value: string; text: string }
  | { kind: 'punct'; value: '(' | ')' | ','; text: string };

const PATTERNS: readonly [RegExp, (m: RegExpExecArray) => Token][] = [
  [/\s+/y, () => ({ kind: 'punct', value: ',', text: '' })], // skipped below
  [
    /([A-Za-z_][A-Za-z0-9_]*)\.(?:`([^`]*)`|"([^"]*)"|([A-Za-z0-9_][A-Za-z0-9_.:/\\-]*))/y,
    (m) => ({ kind: 'ident', entity: m[1], key: m[2] ?? m[3] ?? m[4], text: m[0] }),
  ],
  [/'([^']*)'/y, (m) => ({ kind: 'string', value: m[1], text: m[0] })],
  [/"([^"]*)"/y, (m) => ({ kind: 'string', value: m[1], text: m[0] })],
  [/-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y, (m) => ({ kind: 'number', value: Number(m[0]), text: m[0] })],
  [/!=|<>|>=|<=|=|>|</y, (m) => ({ kind: 'op', value: m[0] === '<>' ? '!=' : m[0], text: m[0] })],
  [/[A-Za-z_][A-Za-z0-9_]*/y, (m) => ({ kind: 'word', value: m[0].toUpperCase(), text: m[0] })],
  [/[(),]/y, (m) => ({ kind: 'punct', value: m[0] as '(' | ')' | ',', text: m[0] })],
];

function tokenize(text: string, what: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  outer: while (at < text.length) {
    for (const [pattern, make] of PATTERNS) {
      pattern.lastIndex = at;
      const m = pattern.exec(text);
      if (m) {
        at = pattern.lastIndex;
        if (!/^\s+$/.test(m[0])) {
          tokens.push(make(m));
        }
        continue outer;
      }
    }
    throw bad(
      `Invalid ${what} '${text.slice(0, 200)}': unexpected '${text.slice(at, at + 20)}' at character ${at}. Quote text values with ' or ", and keys with special characters with backticks.`,
    );
  }
  return tokens;
}

function identifier(
  token: Token | undefined,
  attributes: Attributes,
  what: string,
  whole: string,
): { entity: Entity; key: string } {
  if (token?.kind === 'word') {
    // a name without an entity is an attribute, as in MLflow ("status = 'FINISHED'", "name LIKE 'a%'")
    token = { kind: 'ident', entity: 'attribute', key: token.text, text: token.text };
  }
  if (token?.kind !== 'ident') {
    throw bad(
      `Invalid ${what} '${whole.slice(0, 200)}': ${token ? `'${token.text}'` : 'the end'} is not an identifier. Columns should be specified as 'attribute.<key>', 'metric.<key>', 'tag.<key>' or 'param.<key>'.`,
    );
  }
  const entity = ENTITIES[token.entity.toLowerCase()];
  if (!entity) {
    throw bad(
      `Invalid entity type '${token.entity}' in ${what} '${whole.slice(0, 200)}'. Valid values are ['metric', 'parameter', 'tag', 'attribute'].`,
    );
  }
  let key = token.key;
  if (entity === 'attribute') {
    key = key === 'created' ? 'start_time' : key === 'run_uuid' ? 'run_id' : key;
    if (attributes[key] === undefined) {
      throw bad(
        `Invalid attribute key '${token.key}' specified. Valid keys are '${Object.keys(attributes).join("', '")}'`,
      );
    }
  } else if (key === '') {
    throw bad(`Invalid ${what} '${whole.slice(0, 200)}': the ${entity} has no key.`);
  }
  return { entity, key };
}

/** The clauses of a filter (empty: every run); anything else is refused with INVALID_PARAMETER_VALUE. */
export function parseFilter(filter: string, attributes: Attributes): Clause[] {
  const tokens = tokenize(filter, 'filter');
  const clauses: Clause[] = [];
  let i = 0;
  while (i < tokens.length) {
    const { entity, key } = identifier(tokens[i++], attributes, 'filter', filter);
    const numeric = entity === 'metric' || (entity === 'attribute' && attributes[key] === 'number');
    const t = tokens[i++];
    let comparator: Comparator;
    if (t?.kind === 'op') {
      comparator = t.value as Comparator;
    } else if (t?.kind === 'word' && (t.value === 'LIKE' || t.value === 'ILIKE' || t.value === 'IN')) {
      comparator = t.value;
    } else if (
      t?.kind === 'word' &&
      t.value === 'NOT' &&
      tokens[i]?.kind === 'word' &&
      (tokens[i] as { value: string }).value === 'IN'
    ) {
      i++;
      comparator = 'NOT IN';
    } else if (t?.kind === 'word' && t.value === 'IS') {
      const not = tokens[i]?.kind === 'word' && (tokens[i] as { value: string }).value === 'NOT';
      if (not) {
        i++;
      }
      const nul = tokens[i++];
      if (nul?.kind !== 'word' || nul.value !== 'NULL') {
        throw bad(`Invalid filter '${filter.slice(0, 200)}': IS must be followed by NULL or NOT NULL.`);
      }
      comparator = not ? 'IS NOT NULL' : 'IS NULL';
    } else {
      throw bad(
        `Invalid filter '${filter.slice(0, 200)}': ${t ? `'${t.text}'` : 'the end'} is not a comparator after '${key}' (use =, !=, >, >=, <, <=, LIKE, ILIKE).`,
      );
    }
    let value: Clause['value'] = null;
    if (comparator === 'IS NULL' || comparator === 'IS NOT NULL') {
      if (entity !== 'param' && entity !== 'tag') {
        throw bad(`Invalid comparator '${comparator}' for ${entity} '${key}': IS NULL applies to params and tags.`);
      }
    } else if (comparator === 'IN' || comparator === 'NOT IN') {
      if (!(entity === 'attribute' && key === 'run_id') && entity !== 'tag' && entity !== 'param') {
        throw bad(
          `Invalid comparator '${comparator}' for ${entity} '${key}': IN applies to attributes.run_id, params and tags.`,
        );
      }
      if (tokens[i]?.kind !== 'punct' || (tokens[i] as { value: string }).value !== '(') {
        throw bad(
          `Invalid filter '${filter.slice(0, 200)}': ${comparator} takes a list in parentheses, e.g. ('a', 'b').`,
        );
      }
      i++;
      const items: string[] = [];
      for (;;) {
        const item = tokens[i++];
        if (item?.kind !== 'string') {
          throw bad(`Invalid filter '${filter.slice(0, 200)}': the values of ${comparator} must be quoted strings.`);
        }
        items.push(item.value);
        const next = tokens[i++];
        if (next?.kind === 'punct' && next.value === ')') {
          break;
        }
        if (next?.kind !== 'punct' || next.value !== ',') {
          throw bad(
            `Invalid filter '${filter.slice(0, 200)}': separate the values of ${comparator} with commas and close it with ')'.`,
          );
        }
      }
      value = items;
    } else {
      const v = tokens[i++];
      if (numeric) {
        if (!NUMERIC.includes(comparator)) {
          throw bad(`Invalid comparator '${comparator}' not one of '${NUMERIC.join("', '")}' for ${entity} '${key}'.`);
        }
        if (v?.kind !== 'number') {
          throw bad(
            `Expected numeric value type for ${entity === 'metric' ? 'metric' : 'attribute'} '${key}', found ${v ? `'${v.text}'` : 'nothing'}.`,
          );
        }
        value = v.value;
      } else {
        if (!TEXT.includes(comparator)) {
          throw bad(`Invalid comparator '${comparator}' not one of '${TEXT.join("', '")}' for ${entity} '${key}'.`);
        }
        if (v?.kind !== 'string') {
          throw bad(
            `${entity === 'param' ? 'Parameter' : entity === 'tag' ? 'Tag' : 'Attribute'} value is either not quoted or unidentified quote types used for string value ${v ? v.text : '(none)'}. Use either single or double quotes.`,
          );
        }
        value = v.value;
      }
    }
    clauses.push({ entity, key, comparator, value });
    if (i < tokens.length) {
      const and = tokens[i++];
      if (and.kind !== 'word' || and.value !== 'AND') {
        throw bad(
          `Invalid filter '${filter.slice(0, 200)}': clauses are joined with AND only ('${and.text}' is not supported; search twice for OR).`,
        );
      }
      if (i >= tokens.length) {
        throw bad(`Invalid filter '${filter.slice(0, 200)}': a clause must follow AND.`);
      }
    }
  }
  return clauses;
}

/** One order-by clause: `<entity>.<key>` then ASC (the default) or DESC. */
export function parseOrderBy(text: string, attributes: Attributes): OrderBy {
  const tokens = tokenize(text, 'order_by clause');
  const { entity, key } = identifier(tokens[0], attributes, 'order_by clause', text);
  const direction = tokens[1];
  if (
    tokens.length > 2 ||
    (direction && (direction.kind !== 'word' || (direction.value !== 'ASC' && direction.value !== 'DESC')))
  ) {
    throw bad(
      `Invalid order_by clause '${text.slice(0, 200)}'. Write '<entity>.<key>' then ASC or DESC, e.g. 'metrics.rmse DESC'.`,
    );
  }
  return { entity, key, ascending: direction?.kind !== 'word' || direction.value === 'ASC' };
}

const likeCache = new Map<string, RegExp>();

/** SQL's LIKE: % any text, _ one character; ILIKE ignores case. */
export function like(pattern: string, insensitive: boolean): RegExp {
  const cacheKey = `${insensitive ? 'i' : 's'}${pattern}`;
  let re = likeCache.get(cacheKey);
  if (!re) {
    const body = pattern.replace(/[.*+?^${}()|[\]\\%_]/g, (c) => (c === '%' ? '.*' : c === '_' ? '.' : `\\${c}`));
    re = new RegExp(`^${body}$`, insensitive ? 'is' : 's');
    if (likeCache.size > 1000) {
      likeCache.clear();
    }
    likeCache.set(cacheKey, re);
  }
  return re;
}

/** Whether a value (undefined: the run does not have the key) passes a clause. */
export function passes(clause: Clause, v: string | number | undefined): boolean {
  const c = clause.comparator;
  if (c === 'IS NULL') {
    return v === undefined;
  }
  if (c === 'IS NOT NULL') {
    return v !== undefined;
  }
  if (v === undefined) {
    return false;
  }
  const x = clause.value;
  switch (c) {
    case '=':
      return v === x;
    case '!=':
      return v !== x;
    case '>':
      return (v as number) > (x as number);
    case '>=':
      return (v as number) >= (x as number);
    case '<':
      return (v as number) < (x as number);
    case '<=':
      return (v as number) <= (x as number);
    case 'LIKE':
      return like(x as string, false).test(String(v));
    case 'ILIKE':
      return like(x as string, true).test(String(v));
    case 'IN':
      return (x as readonly string[]).includes(String(v));
    case 'NOT IN':
      return !(x as readonly string[]).includes(String(v));
  }
}

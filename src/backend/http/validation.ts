import { JOB_LIMITS } from '../../protocol/containers';
import { NO_NUL_PATTERN } from '../../protocol/routes/schema';

/** One error of the JSON schema validator (ajv), as fastify reports it. */
export interface SchemaError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
  /** set when a key of an object broke the rule (propertyNames) */
  readonly propertyName?: string;
}

const TiB = 1024 ** 4;

/** What a field takes, said once for the type and range errors of every route and file that has it. */
const HINTS: Record<string, string> = {
  timeoutSeconds: `a number of seconds from ${JOB_LIMITS.minTimeoutSeconds} to ${JOB_LIMITS.maxTimeoutSeconds} (30 days), or null for no limit`,
  cpus: `a number of cores from ${JOB_LIMITS.minCpus} to ${JOB_LIMITS.maxCpus} (e.g. 0.5 or 2), or null for no limit`,
  memory: `bytes from ${JOB_LIMITS.minMemoryBytes} (6 MiB) to ${JOB_LIMITS.maxMemoryBytes / TiB} TiB, or a size such as "512m" or "2g"`,
  memoryBytes: `a whole number of bytes from ${JOB_LIMITS.minMemoryBytes} (6 MiB) to ${JOB_LIMITS.maxMemoryBytes} (${JOB_LIMITS.maxMemoryBytes / TiB} TiB), or null`,
  gpus: `a whole number of GPUs from 0 to ${JOB_LIMITS.maxGpus}, or "all" (or -1) for every GPU`,
  command: 'a list of strings, the program and its arguments, e.g. ["python", "train.py"]',
  env: 'KEY=VALUE strings or a map of KEY to a string value',
  hostPort: 'a port number from 1 to 65535',
  containerPort: 'a port number from 1 to 65535',
  port: 'a port number from 1 to 65535',
};

const HINTED_KEYWORDS = new Set([
  'type',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'anyOf',
  'enum',
  'multipleOf',
]);

/** "/jobs/2/command/0" -> "jobs[2].command[0]" */
function fieldName(instancePath: string, where: string): string {
  if (!instancePath) {
    return `the ${where}`;
  }
  return instancePath
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((name, part) => (/^\d+$/.test(part) ? `${name}[${part}]` : name ? `${name}.${part}` : part), '');
}

function valueAt(root: unknown, instancePath: string): unknown {
  let value = root;
  for (const part of instancePath.split('/').slice(1)) {
    if (value === null || typeof value !== 'object') {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return value;
}

/** A short rendering of the value sent, for the message; nothing when it is long or nested. */
function shown(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) {
    return ` (got ${String(value)})`;
  }
  if (typeof value === 'string' && value.length <= 40 && !value.includes('\u0000')) {
    return ` (got ${JSON.stringify(value)})`;
  }
  return '';
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

/**
 * Picks the error that says most: of the branches of a failed anyOf, the one whose type matched
 * (its error is deeper, or about something other than the type), else the anyOf itself.
 */
function mostTelling(errors: readonly SchemaError[]): SchemaError {
  const anyOf = errors.find((e) => e.keyword === 'anyOf');
  if (!anyOf) {
    return errors[0];
  }
  const branches = errors.filter((e) => e !== anyOf && e.instancePath.startsWith(anyOf.instancePath));
  const matched =
    branches.find((e) => e.instancePath.length > anyOf.instancePath.length) ??
    branches.find((e) => e.keyword !== 'type' && e.keyword !== 'enum');
  if (matched) {
    return matched;
  }
  const types = branches.flatMap((e) =>
    e.keyword === 'type' ? [String(e.params.type).replace(/,/g, ' or ')] : e.keyword === 'enum' ? ['"all"'] : [],
  );
  return { ...anyOf, params: { ...anyOf.params, types } };
}

/**
 * One sentence a person can act on for the schema errors of a request part ("body", "querystring",
 * "params") or of a file; `data` is what was validated, to quote the value sent.
 */
export function describeValidation(errors: readonly SchemaError[], where: string, data?: unknown): string {
  const error = mostTelling(errors);
  const field = fieldName(error.instancePath, where);
  const last = error.instancePath.split('/').pop() ?? '';
  const got = data === undefined ? '' : shown(valueAt(data, error.instancePath));
  const p = error.params;
  if (HINTS[last] && HINTED_KEYWORDS.has(error.keyword)) {
    return `${field} takes ${HINTS[last]}${got}`;
  }
  switch (error.keyword) {
    case 'required':
      return `${field} lacks the required field "${String(p.missingProperty)}"`;
    case 'additionalProperties':
      return `unknown field "${String(p.additionalProperty)}" in ${field}`;
    case 'pattern':
      return p.pattern === NO_NUL_PATTERN
        ? `${field} contains a NUL character (\\0), which no name, path, argument or value can hold: remove it`
        : `${field} does not have the expected form${got}`;
    case 'type':
      return `${field} must be ${article(String(p.type).replace(/,/g, ' or '))}${got}`;
    case 'anyOf': {
      const types = (p.types as string[] | undefined) ?? [];
      return types.length > 0
        ? `${field} must be ${types.map(article).join(' or ')}${got}`
        : `${field} has an unexpected form${got}`;
    }
    case 'enum':
      return `${field} must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${got}`;
    case 'maxLength':
      return error.propertyName !== undefined
        ? `a key of ${field} is longer than ${String(p.limit)} characters: use at most ${String(p.limit)}`
        : `${field} is longer than ${String(p.limit)} characters: use at most ${String(p.limit)}`;
    case 'minLength':
      return p.limit === 1 ? `${field} is empty` : `${field} is shorter than ${String(p.limit)} characters`;
    case 'maxItems':
      return `${field} has more than ${String(p.limit)} items`;
    case 'maxProperties':
      return `${field} has more than ${String(p.limit)} entries`;
    case 'minProperties':
      return `${field} is empty: send at least one field`;
    default:
      return `${field} ${error.message ?? 'is invalid'}${got}`;
  }
}

import * as fs from 'fs';
import * as path from 'path';
import YAML from 'yaml';
import {
  SWEEP_LIMITS,
  SWEEP_METHODS,
  SWEEP_PARAM_TYPES,
  type SweepCondition,
  type SweepDefinition,
  type SweepEarlyStop,
  type SweepJob,
  type SweepMetric,
  type SweepParamSpace,
  type SweepParamValue,
} from '../../protocol/sweeps';
import { JOB_LIMITS, type CreateJobRequest } from '../../protocol/containers';
import { checkName } from '../../protocol/names';
import { ApiError } from '../errors';
import { toJobSpec } from '../jobs/spec';

/** A mistake in sweep.yaml: a 400 whose message names the field and says what to write. */
const invalid = (message: string) => new ApiError(400, 'invalid_sweep', `sweep.yaml: ${message}`);

type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields => v !== null && typeof v === 'object' && !Array.isArray(v);

function number(value: unknown, what: string, { integer = false, min = -Infinity } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw invalid(`${what} must be ${integer ? 'a whole number' : 'a number'}, not ${JSON.stringify(value)}.`);
  }
  if (value < min) {
    throw invalid(`${what} must be at least ${min}, not ${value}.`);
  }
  return value;
}

function optionalCount(value: unknown, what: string, fallback: number, max: number): number {
  if (value === undefined || value === null) {
    return fallback;
  }
  const n = number(value, what, { integer: true, min: 1 });
  if (n > max) {
    throw invalid(`${what} must be at most ${max}, not ${n}.`);
  }
  return n;
}

const isValue = (v: unknown): v is SweepParamValue => v === null || ['string', 'number', 'boolean'].includes(typeof v);

function condition(value: unknown, name: string, before: Readonly<Record<string, SweepParamSpace>>): SweepCondition {
  if (!isObject(value) || Object.keys(value).length === 0) {
    throw invalid(`params.${name}.when must map a choice param to its value, e.g. "when: { optimizer: sgd }".`);
  }
  for (const [other, wanted] of Object.entries(value)) {
    const space = before[other];
    if (space?.type !== 'choice') {
      throw invalid(`params.${name}.when names "${other}", which is not a choice param written before "${name}".`);
    }
    const values = Array.isArray(wanted) ? (wanted as unknown[]) : [wanted];
    const unknown = values.find((v) => !space.values.some((known) => known === v));
    if (unknown !== undefined || values.length === 0) {
      throw invalid(
        `params.${name}.when: ${JSON.stringify(unknown)} is not one of the values of "${other}" (${JSON.stringify(space.values)}).`,
      );
    }
  }
  return value as SweepCondition;
}

function paramSpace(name: string, value: unknown, before: Readonly<Record<string, SweepParamSpace>>): SweepParamSpace {
  if (Array.isArray(value)) {
    value = { type: 'choice', values: value }; // `lr: [0.1, 0.01]` is a choice
  }
  if (!isObject(value)) {
    throw invalid(`params.${name} must be a list of values or a space such as "{ type: float, min: 0, max: 1 }".`);
  }
  const type = value.type;
  if (typeof type !== 'string' || !(SWEEP_PARAM_TYPES as readonly string[]).includes(type)) {
    throw invalid(
      `params.${name} has the type ${JSON.stringify(type)}: use one of ${SWEEP_PARAM_TYPES.join(', ')} (choice: "values: [...]"; int and float: "min" and "max").`,
    );
  }
  const when = value.when === undefined ? undefined : condition(value.when, name, before);
  if (type === 'choice') {
    const values = value.values;
    if (!Array.isArray(values) || values.length === 0) {
      throw invalid(`params.${name} is a choice with no values: list at least one under "values".`);
    }
    if (values.length > SWEEP_LIMITS.maxChoiceValues || !values.every(isValue)) {
      throw invalid(
        `params.${name}.values must be at most ${SWEEP_LIMITS.maxChoiceValues} strings, numbers, booleans or nulls.`,
      );
    }
    return { type, values: values as SweepParamValue[], ...(when ? { when } : {}) };
  }
  const integer = type === 'int';
  const min = number(value.min, `params.${name}.min`, { integer });
  const max = number(value.max, `params.${name}.max`, { integer });
  if (max < min || (max === min && !integer)) {
    throw invalid(`params.${name} has an empty range (min ${min}, max ${max}): make max greater than min.`);
  }
  const log = value.log === undefined ? false : value.log === true;
  if (value.log !== undefined && typeof value.log !== 'boolean') {
    throw invalid(`params.${name}.log must be true or false.`);
  }
  if (log && (integer ? min < 1 : min <= 0)) {
    throw invalid(
      `params.${name} is on a log scale, so min must be ${integer ? 'at least 1' : 'above 0'}, not ${min}.`,
    );
  }
  const step = value.step === undefined ? undefined : number(value.step, `params.${name}.step`, { integer });
  if (step !== undefined && (step <= 0 || step > max - min)) {
    throw invalid(`params.${name}.step must be above 0 and at most max - min (${max - min}), not ${step}.`);
  }
  if (step !== undefined && log) {
    throw invalid(`params.${name} cannot have both a step and a log scale: keep one.`);
  }
  return {
    type: integer ? ('int' as const) : ('float' as const),
    min,
    max,
    ...(step !== undefined ? { step } : {}),
    ...(log ? { log } : {}),
    ...(when ? { when } : {}),
  };
}

function metricOf(value: unknown): SweepMetric {
  const m = typeof value === 'string' ? { name: value } : value;
  if (!isObject(m) || typeof m.name !== 'string' || m.name.length === 0 || m.name.length > 250) {
    throw invalid('metric must name the metric the script logs, e.g. "metric: { name: val_loss, goal: minimize }".');
  }
  const goal = m.goal ?? 'minimize';
  if (goal !== 'minimize' && goal !== 'maximize') {
    throw invalid(`metric.goal must be minimize or maximize, not ${JSON.stringify(goal)}.`);
  }
  const use = m.use ?? 'last';
  if (use !== 'last' && use !== 'best' && use !== 'step') {
    throw invalid(`metric.use must be last, best or step, not ${JSON.stringify(use)}.`);
  }
  if (use === 'step') {
    return { name: m.name, goal, use, step: number(m.step, 'metric.step', { integer: true, min: 0 }) };
  }
  return { name: m.name, goal, use };
}

const EARLY_STOPS = ['median', 'successiveHalving', 'hyperband'] as const;

function earlyStopOf(value: unknown): SweepEarlyStop | null {
  if (value === undefined || value === null || value === false) {
    return null;
  }
  const e = typeof value === 'string' ? { type: value } : value;
  if (!isObject(e) || !(EARLY_STOPS as readonly unknown[]).includes(e.type)) {
    throw invalid(`earlyStop.type must be one of ${EARLY_STOPS.join(', ')}.`);
  }
  const out: Record<string, unknown> = { type: e.type };
  for (const key of ['startupTrials', 'warmupSteps', 'minResource', 'maxResource', 'reductionFactor'] as const) {
    if (e[key] !== undefined) {
      out[key] = number(e[key], `earlyStop.${key}`, { integer: true, min: key === 'reductionFactor' ? 2 : 0 });
    }
  }
  return out as unknown as SweepEarlyStop;
}

const JOB_FIELDS = ['image', 'cpus', 'memory', 'gpus', 'timeoutSeconds', 'target', 'env'];
const JOB_HINT = 'e.g. "job: { image: python:3.12, cpus: 1, memory: 2g }", or "job: train" for an existing job';

/**
 * `job:` (trials as job runs): an existing job's name, or the image and limits of the job the sweep's
 * command runs in, checked by the job definition's own rules (image grammar, sizes) now rather than
 * at the first trial.
 */
function jobOf(value: unknown): SweepJob | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value === 'string') {
    const problem = checkName('job', value);
    if (problem) {
      throw invalid(`job: ${problem}`);
    }
    return { name: value };
  }
  if (!isObject(value) || typeof value.image !== 'string' || value.image.trim() === '') {
    throw invalid(`job must name an existing job or give the image the trials run in, ${JOB_HINT}.`);
  }
  const unknownKey = Object.keys(value).find((k) => !JOB_FIELDS.includes(k));
  if (unknownKey !== undefined) {
    throw invalid(`"job.${unknownKey}" is not a field of a sweep's job: the fields are ${JOB_FIELDS.join(', ')}.`);
  }
  const job: Record<string, unknown> = { image: value.image.trim() };
  if (value.cpus !== undefined) {
    job.cpus = number(value.cpus, 'job.cpus', { min: JOB_LIMITS.minCpus });
  }
  if (value.gpus !== undefined && value.gpus !== 'all') {
    job.gpus = number(value.gpus, 'job.gpus', { integer: true, min: 0 });
  } else if (value.gpus === 'all') {
    job.gpus = 'all';
  }
  if (value.timeoutSeconds !== undefined) {
    job.timeoutSeconds = number(value.timeoutSeconds, 'job.timeoutSeconds', { min: JOB_LIMITS.minTimeoutSeconds });
  }
  if (value.memory !== undefined) {
    if (typeof value.memory !== 'string' && typeof value.memory !== 'number') {
      throw invalid('job.memory must be a size such as 512m or 2g.');
    }
    job.memory = value.memory;
  }
  if (value.target !== undefined) {
    if (typeof value.target !== 'string' || value.target.trim() === '') {
      throw invalid('job.target must name a target of the lab (see "mllab target list").');
    }
    job.target = value.target.trim();
  }
  if (value.env !== undefined) {
    if (!isObject(value.env) || !Object.values(value.env).every((v) => typeof v === 'string')) {
      throw invalid(`job.env must map names to text values, e.g. "env: { OMP_NUM_THREADS: '1' }".`);
    }
    job.env = value.env;
  }
  try {
    // the job definition's own checks (image grammar, memory size), with the messages of POST /api/jobs
    toJobSpec({ name: 'sweep', ...(job as Omit<CreateJobRequest, 'name'>) });
  } catch (e) {
    throw invalid(`job: ${(e as Error).message}`);
  }
  return job as SweepJob;
}

/** The command of a trial: `command:` as a list or a line split at spaces, or `script: train.py` run by python3. */
function commandOf(file: Fields): string[] {
  if (typeof file.script === 'string' && file.script.length > 0 && file.command === undefined) {
    return ['python3', file.script];
  }
  const command = typeof file.command === 'string' ? file.command.trim().split(/\s+/) : file.command;
  if (!Array.isArray(command) || command.length === 0 || !command.every((a) => typeof a === 'string' && a.length > 0)) {
    throw invalid('give the trial\'s command, e.g. "script: train.py" or "command: [python3, train.py]".');
  }
  return command as string[];
}

/**
 * Reads and checks the text of a sweep.yaml found in `dir` (docs/SWEEPS.md): every mistake is a 400
 * naming the field and what to write instead, so nothing is stored or started for a bad file.
 */
export function parseSweepFile(
  text: string,
  dir: string,
  overrides: { trials?: number; parallel?: number } = {},
): SweepDefinition {
  let parsed: unknown;
  try {
    parsed = YAML.parse(text, { logLevel: 'error' });
  } catch (e) {
    throw invalid(`it is not valid YAML: ${(e as Error).message}`);
  }
  if (!isObject(parsed)) {
    throw invalid('it must be a mapping with at least "script" (or "command"), "params" and "metric".');
  }
  const known = [
    'name',
    'script',
    'command',
    'cwd',
    'params',
    'method',
    'metric',
    'trials',
    'parallel',
    'earlyStop',
    'maxFailures',
    'seed',
    'job',
  ];
  const unknownKey = Object.keys(parsed).find((k) => !known.includes(k));
  if (unknownKey !== undefined) {
    throw invalid(`"${unknownKey}" is not a field of a sweep: the fields are ${known.join(', ')}.`);
  }
  if (!path.isAbsolute(dir)) {
    throw invalid(`the folder of sweep.yaml must be an absolute path, not "${dir}".`);
  }
  const cwd = typeof parsed.cwd === 'string' ? path.resolve(dir, parsed.cwd) : dir;
  if (!fs.existsSync(cwd) || !fs.statSync(cwd).isDirectory()) {
    throw invalid(`the folder ${cwd} (where the trials run) does not exist.`);
  }
  const job = jobOf(parsed.job);
  if (job && 'name' in job && (parsed.script !== undefined || parsed.command !== undefined)) {
    throw invalid(
      `"job: ${job.name}" runs that job's own command: leave out "script" and "command", or give "job: { image: ... }" to run this command.`,
    );
  }
  const command = job && 'name' in job ? [] : commandOf(parsed);
  if (!isObject(parsed.params) || Object.keys(parsed.params).length === 0) {
    throw invalid(
      '"params" must map each param to its space, e.g. "lr: { type: float, min: 1e-4, max: 0.1, log: true }".',
    );
  }
  if (Object.keys(parsed.params).length > SWEEP_LIMITS.maxParams) {
    throw invalid(`a sweep takes at most ${SWEEP_LIMITS.maxParams} params.`);
  }
  const params: Record<string, SweepParamSpace> = {};
  for (const [name, value] of Object.entries(parsed.params)) {
    params[name] = paramSpace(name, value, params);
  }
  const method = parsed.method ?? 'tpe';
  if (typeof method !== 'string' || !(SWEEP_METHODS as readonly string[]).includes(method)) {
    throw invalid(`method must be one of ${SWEEP_METHODS.join(', ')}, not ${JSON.stringify(method)}.`);
  }
  const gridSize = method === 'grid' ? sizeOfGrid(params) : undefined;
  const trials = overrides.trials ?? optionalCount(parsed.trials, 'trials', gridSize ?? 0, SWEEP_LIMITS.maxTrials);
  if (trials === 0) {
    throw invalid(`give the number of trials ("trials: 20"): a ${method} search has no end of its own.`);
  }
  const name =
    typeof parsed.name === 'string' && parsed.name.trim()
      ? parsed.name.trim()
      : job && 'name' in job
        ? job.name
        : defaultName(command);
  return {
    name,
    command,
    cwd,
    params,
    method: method as SweepDefinition['method'],
    metric: metricOf(parsed.metric),
    trials: gridSize !== undefined ? Math.min(trials, gridSize) : trials,
    parallel: overrides.parallel ?? optionalCount(parsed.parallel, 'parallel', 1, SWEEP_LIMITS.maxParallel),
    earlyStop: earlyStopOf(parsed.earlyStop),
    maxFailures: optionalCount(parsed.maxFailures, 'maxFailures', 3, SWEEP_LIMITS.maxFailures),
    seed:
      parsed.seed === undefined || parsed.seed === null ? null : number(parsed.seed, 'seed', { integer: true, min: 0 }),
    ...(job ? { job } : {}),
  };
}

/** How many points a grid has; a float range needs a step, a condition cannot be enumerated. */
function sizeOfGrid(params: Readonly<Record<string, SweepParamSpace>>): number {
  let size = 1;
  for (const [name, space] of Object.entries(params)) {
    if (space.when) {
      throw invalid(`params.${name}: a grid cannot have conditional params; use random or tpe, or drop "when".`);
    }
    if (space.type === 'choice') {
      size *= space.values.length;
    } else if (space.step === undefined && space.type === 'float') {
      throw invalid(`params.${name}: a grid needs a step for a float range ("step: 0.1"), or use random or tpe.`);
    } else {
      size *= Math.floor((space.max - space.min) / (space.step ?? 1) + 1e-9) + 1;
    }
  }
  return size;
}

function defaultName(command: readonly string[]): string {
  const script = command.find((a, i) => i > 0 && !a.startsWith('-')) ?? command[0];
  return path.basename(script).replace(/\.[^.]+$/, '') || 'sweep';
}

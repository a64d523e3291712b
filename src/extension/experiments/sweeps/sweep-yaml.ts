/**
 * The quick form's part that needs no editor: reading the params line a person types
 * (`lr=0.0001..0.1 log, layers=1..4, optimizer=adam|sgd`) into param spaces, and writing the
 * sweep.yaml the backend reads (docs/SWEEPS.md). Kept free of `vscode` so it is tested as it is.
 */
import YAML from 'yaml';
import {
  SWEEP_LIMITS,
  type SweepGoal,
  type SweepMethod,
  type SweepParamSpace,
  type SweepParamValue,
} from '../../../protocol/sweeps';

export type ParamSpaces = Record<string, SweepParamSpace>;

/** How the params line is written, for prompts and error messages. */
export const PARAMS_EXAMPLE = 'lr=0.0001..0.1 log, layers=1..4, dropout=0..0.5:0.1, optimizer=adam|sgd';

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const INTEGER = /^[+-]?\d+$/;

/** A choice's value: a number, true/false/null, or else the text. */
function choiceValue(text: string): SweepParamValue {
  const t = text.trim();
  if (t === 'true' || t === 'false') {
    return t === 'true';
  }
  if (t === 'null') {
    return null;
  }
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

function numberIn(text: string, what: string): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n)) {
    throw new Error(`${what} "${text.trim()}" is not a number.`);
  }
  return n;
}

/** `min..max[:step][ log]` as an int range when min, max and step are written as whole numbers, else a float range. */
function range(name: string, spec: string): SweepParamSpace {
  let rest = spec.trim();
  const log = /\s+log$/i.test(rest);
  rest = rest.replace(/\s+log$/i, '');
  const [bounds, stepText, extra] = rest.split(':');
  if (extra !== undefined) {
    throw new Error(`${name}: write one step after the range, e.g. ${name}=0..1:0.1.`);
  }
  const [minText, maxText] = bounds.split('..');
  const min = numberIn(minText, `${name}: the minimum`);
  const max = numberIn(maxText, `${name}: the maximum`);
  const step = stepText === undefined ? undefined : numberIn(stepText, `${name}: the step`);
  const integer =
    INTEGER.test(minText.trim()) &&
    INTEGER.test(maxText.trim()) &&
    (step === undefined || INTEGER.test(stepText.trim()));
  if (max < min || (max === min && !integer)) {
    throw new Error(`${name}: the range ${min}..${max} is empty: make the maximum greater than the minimum.`);
  }
  if (step !== undefined && step <= 0) {
    throw new Error(`${name}: the step must be greater than 0.`);
  }
  if (log && (step !== undefined || min <= 0 || (integer && min < 1))) {
    throw new Error(`${name}: a log range needs a minimum above 0 (at least 1 for whole numbers) and no step.`);
  }
  return {
    type: integer ? 'int' : 'float',
    min,
    max,
    ...(step !== undefined ? { step } : {}),
    ...(log ? { log: true } : {}),
  };
}

/**
 * The params line as param spaces, in the order written. Throws a message saying what to write
 * (an empty line, a name twice, a range that is empty, a value that is not a number).
 */
export function parseParams(line: string): ParamSpaces {
  const parts = line
    .split(/[,;]/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0) {
    throw new Error(`Name at least one param and what to try, e.g. ${PARAMS_EXAMPLE}.`);
  }
  if (parts.length > SWEEP_LIMITS.maxParams) {
    throw new Error(`A sweep takes at most ${SWEEP_LIMITS.maxParams} params.`);
  }
  const spaces: ParamSpaces = {};
  for (const part of parts) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq).trim();
    const spec = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!NAME.test(name)) {
      throw new Error(`"${name}" is not a param name: use letters, digits, "_", "." and "-".`);
    }
    if (name in spaces) {
      throw new Error(`${name} is named twice.`);
    }
    if (spec.includes('|')) {
      const values = spec.split('|').map(choiceValue);
      if (values.some((v) => v === '')) {
        throw new Error(`${name}: a value between "|" is empty.`);
      }
      spaces[name] = { type: 'choice', values };
    } else if (spec.includes('..')) {
      spaces[name] = range(name, spec);
    } else {
      throw new Error(
        `${name}: write the values to try as ${name}=a|b|c, or a range as ${name}=min..max (":step" and " log" optional).`,
      );
    }
  }
  return spaces;
}

/** How many points a grid over these spaces has; null when a float range has no step (no grid). */
export function gridSize(spaces: ParamSpaces): number | null {
  let size = 1;
  for (const space of Object.values(spaces)) {
    if (space.type === 'choice') {
      size *= space.values.length;
    } else if (space.step === undefined && space.type === 'float') {
      return null;
    } else {
      size *= Math.floor((space.max - space.min) / (space.step ?? 1) + 1e-9) + 1;
    }
  }
  return size;
}

export interface SweepForm {
  /** the script's file name, in the folder of the sweep.yaml */
  readonly script: string;
  /** the interpreter to run it with (words split at spaces); `python3` is written as `script:` */
  readonly python: string;
  readonly params: ParamSpaces;
  readonly method: SweepMethod;
  readonly metric: string;
  readonly goal: SweepGoal;
  readonly trials: number;
  readonly parallel: number;
}

/** The text of a sweep.yaml for the form's answers. */
export function sweepYaml(form: SweepForm): string {
  // the interpreter as the Python extension gives it: a path, or a command line such as `conda run -n x python`
  const python = form.python.trim().split(/\s+/);
  const run = form.python === 'python3' ? { script: form.script } : { command: [...python, form.script] };
  const doc = {
    ...run,
    params: form.params,
    method: form.method,
    metric: { name: form.metric, goal: form.goal },
    trials: form.trials,
    parallel: form.parallel,
  };
  const header = [
    `# A parameter sweep of ${form.script}: run it with "ML Lab: Run Sweep" (or "mllab sweep run sweep.yaml").`,
    '# Each trial is a run of the script that reads its params from exp.params.',
    '',
  ].join('\n');
  return header + YAML.stringify(doc);
}

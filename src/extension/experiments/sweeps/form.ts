import type * as vscode from 'vscode';
import { SWEEP_LIMITS, type SweepGoal, type SweepMethod } from '../../../protocol/sweeps';
import type { Ui } from '../../common/ui';
import { gridSize, PARAMS_EXAMPLE, parseParams, type SweepForm } from './sweep-yaml';

const message = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

function wholeNumber(text: string, max: number, what: string): string | undefined {
  const n = Number(text.trim());
  return Number.isInteger(n) && n >= 1 && n <= max ? undefined : `${what}: a whole number from 1 to ${max}`;
}

interface Pick<T> extends vscode.QuickPickItem {
  readonly value: T;
}

/**
 * The quick form behind "Run Sweep" on a script without a sweep.yaml: the params and what to try,
 * the metric and its goal, the method, how many trials and how many at once. Undefined when the
 * person cancels a step.
 */
export async function askSweepForm(ui: Ui, script: string, python: string): Promise<SweepForm | undefined> {
  const title = `New Sweep of ${script}`;
  const paramsLine = await ui.input({
    title,
    prompt: 'The params to tune and what to try: values with "|", ranges with ".." (":step" and " log" optional)',
    placeHolder: PARAMS_EXAMPLE,
    validateInput: (v) => message(() => parseParams(v)),
  });
  if (paramsLine === undefined) {
    return undefined;
  }
  const params = parseParams(paramsLine);
  const metric = await ui.input({
    title,
    prompt: 'The metric the script logs (exp.log_metric) that the sweep optimizes',
    placeHolder: 'val_loss',
    validateInput: (v) => (/^\S+$/.test(v.trim()) ? undefined : 'The metric key, as the script logs it'),
  });
  if (!metric) {
    return undefined;
  }
  const goal = await ui.pick<Pick<SweepGoal>>(
    [
      { label: 'minimize', description: `the lowest ${metric.trim()} wins`, value: 'minimize' },
      { label: 'maximize', description: `the highest ${metric.trim()} wins`, value: 'maximize' },
    ],
    { title, placeHolder: `Minimize or maximize ${metric.trim()}?` },
  );
  if (!goal) {
    return undefined;
  }
  const grid = gridSize(params);
  const methods: Pick<SweepMethod>[] = [
    ...(grid !== null
      ? [{ label: 'grid', description: `every combination: ${grid} trials`, value: 'grid' as const }]
      : []),
    { label: 'tpe', description: 'Bayesian (TPE): tries more where the trials so far did well', value: 'tpe' },
    { label: 'random', description: 'params drawn at random from their spaces', value: 'random' },
    { label: 'cmaes', description: 'CMA-ES: for numeric params (needs the cmaes module)', value: 'cmaes' },
  ];
  const method = await ui.pick(methods, { title, placeHolder: 'How are the params of the next trial chosen?' });
  if (!method) {
    return undefined;
  }
  const maxTrials = method.value === 'grid' && grid !== null ? grid : SWEEP_LIMITS.maxTrials;
  const trials = await ui.input({
    title,
    prompt: method.value === 'grid' ? `How many trials (the grid has ${grid})` : 'How many trials',
    value: String(method.value === 'grid' && grid !== null ? grid : 20),
    validateInput: (v) => wholeNumber(v, maxTrials, 'Trials'),
  });
  if (!trials) {
    return undefined;
  }
  const parallel = await ui.input({
    title,
    prompt: 'How many trials run at once',
    value: '2',
    validateInput: (v) => wholeNumber(v, SWEEP_LIMITS.maxParallel, 'At once'),
  });
  if (!parallel) {
    return undefined;
  }
  return {
    script,
    python,
    params,
    method: method.value,
    metric: metric.trim(),
    goal: goal.value,
    trials: Number(trials.trim()),
    parallel: Number(parallel.trim()),
  };
}

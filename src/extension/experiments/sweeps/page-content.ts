/**
 * What the sweep page shows of a sweep's details, as the page's `show` message: every text formatted
 * here, the charts' numbers as they are. Kept free of `vscode` so it is tested as it is.
 */
import type { SweepDetails, SweepEarlyStop } from '../../../protocol/sweeps';
import type { RecordField } from '../../../protocol/webviews/record-page';
import type {
  SweepPageAction,
  SweepPageHistory,
  SweepPageShow,
  SweepPageTrial,
} from '../../../protocol/webviews/sweep-page';
import { formatValue, paramsText, progressText, trialsInOrder } from './rows';

const EVALUATORS = { fanova: 'fANOVA', meanDecreaseImpurity: 'mean decrease in impurity' } as const;

function earlyStopText(e: SweepEarlyStop | null): string {
  if (!e) {
    return 'none';
  }
  const settings = Object.entries(e)
    .filter(([k]) => k !== 'type')
    .map(([k, v]) => `${k} ${String(v)}`);
  return settings.length > 0 ? `${e.type} (${settings.join(', ')})` : e.type;
}

function fields(d: SweepDetails): RecordField[] {
  const def = d.definition;
  const use = def.metric.use === 'step' ? `at step ${def.metric.step}` : `${def.metric.use ?? 'last'} value`;
  return [
    { label: 'Method', value: def.seed === null ? def.method : `${def.method}, seed ${def.seed}` },
    { label: 'Objective', value: `${def.metric.goal} ${def.metric.name} (${use})` },
    {
      label: 'Trials',
      value: `${def.trials}, ${def.parallel} at once, stop after ${def.maxFailures} failures in a row`,
    },
    { label: 'Early stopping', value: earlyStopText(def.earlyStop) },
    { label: 'Command', value: def.command.join(' '), monospace: true },
    { label: 'Folder', value: def.cwd, monospace: true },
    { label: 'Created', value: new Date(d.createdAt).toLocaleString() },
    { label: 'Sweep id', value: d.id, monospace: true },
  ];
}

/**
 * The header's buttons: what the sweep's state allows, and the best trial's actions once there is
 * one (Register Best Model when its run logged a file to register).
 */
export function sweepActions(d: SweepDetails, bestHasFiles: boolean): SweepPageAction[] {
  const actions: SweepPageAction[] = [];
  if (d.best?.runId) {
    actions.push('rerunBest', ...(bestHasFiles ? (['registerBest'] as const) : []));
  }
  if (d.state === 'running') {
    actions.push('pause');
  }
  if (d.state === 'paused' || d.state === 'stopped' || d.state === 'failed') {
    actions.push('resume');
  }
  if (d.state === 'running' || d.state === 'paused') {
    actions.push('stop');
  }
  actions.push('addTrials', 'compare', 'parallel');
  return actions;
}

function trialNote(t: SweepDetails['trials'][number]): string {
  if (t.state === 'pruned') {
    return `pruned at step ${t.prunedStep ?? '?'}${t.reason ? `: ${t.reason}` : ''}`;
  }
  return t.reason ?? '';
}

/**
 * The optimization history by trial number, as Optuna draws it (the chart's x values must rise): the
 * backend lists trials in the order they ended, which parallel trials make differ from their numbers,
 * so the best so far is taken again in this order.
 */
export function historyByTrial(d: SweepDetails): SweepPageHistory | null {
  if (d.history.length === 0) {
    return null;
  }
  const { name, goal } = d.definition.metric;
  const points = [...d.history].sort((a, b) => a.trial - b.trial);
  const better = goal === 'minimize' ? Math.min : Math.max;
  let best = points[0].value;
  return {
    metric: name,
    goal,
    trials: points.map((p) => p.trial),
    values: points.map((p) => p.value),
    best: points.map((p) => (best = better(best, p.value))),
  };
}

/** The page's `show` message for a sweep's details; `bestHasFiles`: the best trial's run logged a file. */
export function sweepPageShow(d: SweepDetails, bestHasFiles: boolean): SweepPageShow {
  const metric = d.definition.metric;
  const completed = d.trials.filter((t) => t.state === 'completed').length;
  const trials = trialsInOrder(d.trials).map((t): SweepPageTrial => ({
    number: t.number,
    state: t.state,
    value: t.value === null ? '' : formatValue(t.value),
    params: paramsText(t.params),
    note: trialNote(t),
    runId: t.runId,
    best: d.best?.number === t.number,
  }));
  return {
    type: 'show',
    id: d.id,
    title: d.name,
    state: d.state,
    progress: progressText(d),
    fields: fields(d),
    message: d.message,
    warnings: d.warnings,
    best: d.best && {
      label: `Trial ${d.best.number}`,
      value: `${metric.name} ${formatValue(d.best.value)} (${metric.goal})`,
      params: {
        columns: ['Param', 'Value'],
        rows: Object.entries(d.best.params).map(([k, v]) => [k, paramsText({ [k]: v }).slice(k.length + 1)]),
        numeric: [false, true],
        monospace: [true, true],
        label: 'Params of the best trial',
      },
      runId: d.best.runId,
    },
    history: historyByTrial(d),
    importances: d.importances && {
      caption: `${EVALUATORS[d.importances.evaluator]} over ${d.importances.trials} completed trials`,
      params: d.importances.values.map((v) => v.param),
      values: d.importances.values.map((v) => v.importance),
    },
    importanceNote:
      d.importanceNote ??
      (d.importances ? '' : `Parameter importances are computed once two trials completed (${completed} so far).`),
    trials,
    actions: sweepActions(d, bestHasFiles),
  };
}

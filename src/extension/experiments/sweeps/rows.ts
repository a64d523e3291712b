/**
 * What the Experiments view shows of sweeps, as plain data (the tree turns it into tree items): the
 * text, the codicon and the context value of the "Sweeps" group, of each sweep and of each trial.
 * Kept free of `vscode` so it is tested as it is.
 */
import { formatNumber } from '../../../protocol/number-format';
import type { Sweep, SweepParamValue, SweepState, SweepTrial, SweepTrialState } from '../../../protocol/sweeps';

/** A codicon and the theme colour it is drawn in (undefined: the foreground). */
export interface RowIcon {
  readonly id: string;
  readonly color?: string;
}

export interface Row {
  readonly label: string;
  readonly description: string;
  readonly tooltip: string;
  readonly icon: RowIcon;
  /** drives the context menu (package.json `viewItem` clauses) */
  readonly contextValue: string;
}

const SWEEP_ICONS: Record<SweepState, RowIcon> = {
  running: { id: 'sync~spin' },
  paused: { id: 'debug-pause', color: 'charts.yellow' },
  stopped: { id: 'debug-stop', color: 'testing.iconSkipped' },
  finished: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
};

const TRIAL_ICONS: Record<SweepTrialState, RowIcon> = {
  running: { id: 'loading~spin' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  // pruned: cut short on purpose, not an error
  pruned: { id: 'circle-slash', color: 'testing.iconSkipped' },
  failed: { id: 'error', color: 'testing.iconFailed' },
};

const BEST_ICON: RowIcon = { id: 'star-full', color: 'charts.yellow' };

/** A metric value as the other views show numbers (four significant digits). */
export function formatValue(value: number | null): string {
  return value === null ? '–' : formatNumber(value);
}

function paramValue(v: SweepParamValue): string {
  return typeof v === 'number' ? formatNumber(v) : typeof v === 'string' ? v : String(v);
}

/** "lr=0.01, layers=2" (in the order the sweep declares them). */
export function paramsText(params: Readonly<Record<string, SweepParamValue>>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${paramValue(v)}`)
    .join(', ');
}

/** How many trials ended, out of how many the sweep runs: "7/20". */
export function endedOfTotal(s: Sweep): string {
  const c = s.counts;
  return `${c.done + c.pruned + c.failed}/${c.total}`;
}

/** "9 done · 2 running · 1 pruned" (the zero counts of running, pruned and failed left out). */
export function countsText(s: Sweep): string {
  const c = s.counts;
  const parts = [`${c.done} done`];
  if (c.running > 0) {
    parts.push(`${c.running} running`);
  }
  if (c.pruned > 0) {
    parts.push(`${c.pruned} pruned`);
  }
  if (c.failed > 0) {
    parts.push(`${c.failed} failed`);
  }
  return parts.join(' · ');
}

/** "7/20 ended: 5 done · 2 pruned of 20" */
export function progressText(s: Sweep): string {
  return `${endedOfTotal(s)} ended: ${countsText(s)}`;
}

/** "best val_loss 0.0123 (#7)", or '' before a trial completed. */
export function bestText(s: Sweep): string {
  return s.best ? `best ${s.definition.metric.name} ${formatValue(s.best.value)} (#${s.best.number})` : '';
}

/** The "Sweeps" group at the top of the Experiments view: how many, and how many run. */
export function sweepsGroupRow(sweeps: readonly Sweep[]): Row {
  const running = sweeps.filter((s) => s.state === 'running').length;
  return {
    label: 'Sweeps',
    description: running > 0 ? `${sweeps.length} · ${running} running` : String(sweeps.length),
    tooltip: 'Parameter sweeps of this project: each trial is a run of the script with params chosen by the sweep',
    icon: { id: 'graph-scatter' },
    contextValue: 'sweeps',
  };
}

/** A sweep: its name, its progress and best value so far, its state as icon and context value. */
export function sweepRow(s: Sweep): Row {
  const d = s.definition;
  const best = bestText(s);
  const tooltip = [
    `${s.name} — ${s.state}`,
    `${d.method}, ${d.metric.goal} ${d.metric.name}, ${d.parallel} at once`,
    `${endedOfTotal(s)} ended: ${countsText(s)}`,
    ...(s.best ? [`${best}: ${paramsText(s.best.params)}`] : []),
    ...(s.message ? [s.message] : []),
    ...s.warnings,
  ].join('\n');
  return {
    label: s.name,
    // "10/20 · 9 done · 1 pruned · best val_loss 0.0123 (#7)", the state first when it is not running
    description: [s.state === 'running' ? '' : s.state, endedOfTotal(s), countsText(s), best]
      .filter((p) => p.length > 0)
      .join(' · '),
    tooltip,
    icon: SWEEP_ICONS[s.state],
    // sweep-running, sweep-paused, ... (menus offer pause on running, resume on the others)
    contextValue: `sweep-${s.state}`,
  };
}

/** A trial: "#3", its value (or why it was pruned or failed) and its params; the best one starred. */
export function trialRow(s: Sweep, t: SweepTrial): Row {
  const isBest = s.best?.number === t.number && t.state === 'completed';
  const metric = s.definition.metric.name;
  const outcome =
    t.state === 'completed'
      ? `${metric} ${formatValue(t.value)}`
      : t.state === 'pruned'
        ? `pruned at step ${t.prunedStep ?? '?'}`
        : t.state;
  const params = paramsText(t.params);
  return {
    label: `#${t.number}`,
    description: [outcome, params].filter((p) => p.length > 0).join(' · '),
    tooltip: [
      `Trial ${t.number} of ${s.name} — ${t.state}${isBest ? ' (best so far)' : ''}`,
      ...(t.value !== null ? [`${metric} = ${formatValue(t.value)}`] : []),
      ...(params ? [params] : []),
      ...(t.reason ? [t.reason] : []),
      ...(t.runId ? [`run ${t.runId}`] : []),
    ].join('\n'),
    icon: isBest ? BEST_ICON : TRIAL_ICONS[t.state],
    contextValue: t.runId ? 'sweepTrial' : 'sweepTrialWithoutRun',
  };
}

/** The trials as the view lists them: newest first, the running ones at the top. */
export function trialsInOrder(trials: readonly SweepTrial[]): SweepTrial[] {
  return [...trials].sort(
    (a, b) => Number(b.state === 'running') - Number(a.state === 'running') || b.number - a.number,
  );
}

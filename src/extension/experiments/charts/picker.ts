import * as vscode from 'vscode';
import type { Experiment } from '../../../protocol/experiments';
import { formatValue } from '../../../protocol/number-format';
import { runLabels } from '../../../protocol/run-label';

export interface RunPick extends vscode.QuickPickItem {
  readonly experiment: Experiment;
}

/** The picker's items: each run by its label (status, start, key metrics below), the given ones checked. */
export function runPickItems(runs: readonly Experiment[], checked: ReadonlySet<string>): RunPick[] {
  const labels = runLabels(runs);
  return runs.map((e) => ({
    label: labels.get(e.id) ?? e.name,
    description: `${e.status} · ${new Date(e.startedAt).toLocaleString()}`,
    detail:
      e.metrics.length > 0
        ? e.metrics
            .slice(0, 6)
            .map((m) => `${m.key} ${formatValue(m.lastRaw)}`)
            .join(' · ')
        : 'no metrics',
    picked: checked.has(e.id),
    experiment: e,
  }));
}

/**
 * Asks which runs to chart: a multi-select list starting from `checked` (the runs selected in the
 * Experiments view). Enter accepts what is checked, or, when nothing is, the highlighted run.
 * Undefined when the person cancels.
 */
export function pickRuns(runs: readonly Experiment[], checked: ReadonlySet<string>): Promise<Experiment[] | undefined> {
  const pick = vscode.window.createQuickPick<RunPick>();
  pick.title = 'Show Metric Charts';
  pick.placeholder = 'Check the runs to chart, then press Enter';
  pick.canSelectMany = true;
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  const items = runPickItems(runs, checked);
  pick.items = items;
  pick.selectedItems = items.filter((i) => i.picked);
  return new Promise((resolve) => {
    let done = false;
    const finish = (value: Experiment[] | undefined) => {
      if (!done) {
        done = true;
        resolve(value);
        pick.dispose();
      }
    };
    pick.onDidAccept(() => {
      const chosen = pick.selectedItems.length > 0 ? pick.selectedItems : pick.activeItems;
      finish(chosen.length > 0 ? chosen.map((i) => i.experiment) : undefined);
    });
    pick.onDidHide(() => finish(undefined));
    pick.show();
  });
}

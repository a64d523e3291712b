import * as vscode from 'vscode';
import type { Experiment } from '../../../protocol/experiments';
import { formatValue } from '../../../protocol/number-format';
import { runLabels } from '../../../protocol/run-label';
import { PICK_LIMIT, RunSearch } from './pick-search';

export interface RunPick extends vscode.QuickPickItem {
  readonly experiment: Experiment;
}

/** The picker's items: each run by its label among those listed (status, start, key metrics below), the given ones checked. */
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
 * Experiments view). It lists the newest runs (at most 500) and the checked ones; typing searches
 * every run. Checks survive a new search. Enter accepts what is checked, or, when nothing is, the
 * highlighted run. Undefined when the person cancels.
 */
export function pickRuns(runs: readonly Experiment[], checked: ReadonlySet<string>): Promise<Experiment[] | undefined> {
  const pick = vscode.window.createQuickPick<RunPick>();
  pick.title = 'Show Metric Charts';
  pick.placeholder =
    runs.length > PICK_LIMIT
      ? `Type to search all ${runs.length.toLocaleString('en-US')} runs; check the runs to chart, then press Enter`
      : 'Check the runs to chart, then press Enter';
  pick.canSelectMany = true;
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  const search = new RunSearch(runs);
  /** the checked runs, by id, across searches */
  const chosen = new Set(checked);
  const list = (query: string) => {
    const items = runPickItems(search.find(query, chosen), chosen);
    pick.items = items;
    pick.selectedItems = items.filter((i) => i.picked);
  };
  list('');
  return new Promise((resolve) => {
    let done = false;
    const finish = (value: Experiment[] | undefined) => {
      if (!done) {
        done = true;
        resolve(value);
        pick.dispose();
      }
    };
    pick.onDidChangeValue((value) => list(value));
    pick.onDidChangeSelection((selected) => {
      // the listed runs take the state shown; checked runs not listed now stay checked
      for (const item of pick.items) {
        chosen.delete(item.experiment.id);
      }
      for (const item of selected) {
        chosen.add(item.experiment.id);
      }
    });
    pick.onDidAccept(() => {
      const checkedRuns = runs.filter((r) => chosen.has(r.id));
      const chosenRuns = checkedRuns.length > 0 ? checkedRuns : pick.activeItems.map((i) => i.experiment);
      finish(chosenRuns.length > 0 ? chosenRuns : undefined);
    });
    pick.onDidHide(() => finish(undefined));
    pick.show();
  });
}

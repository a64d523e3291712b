import * as vscode from 'vscode';
import type { Experiment } from '../../../protocol/experiments';
import { Commands } from '../../common/commands';
import { registerCommand } from '../../common/register-command';
import type { Ui } from '../../common/ui';
import type { ExperimentsModel } from '../experiments-model';
import type { MetricChartsPanel } from './panel';
import { pickRuns } from './picker';

/** The runs of tree nodes: a run itself, or every run of a group; each once, in the order given. */
export function runsOf(nodes: readonly unknown[]): Experiment[] {
  const out = new Map<string, Experiment>();
  for (const node of nodes) {
    const runs =
      node && typeof node === 'object' && 'kind' in node && node.kind === 'group' && 'runs' in node
        ? (node.runs as Experiment[])
        : [node as Experiment];
    for (const run of runs) {
      if (run && typeof run.id === 'string' && Array.isArray(run.metrics)) {
        out.set(run.id, run);
      }
    }
  }
  return [...out.values()];
}

/**
 * "ML Lab: Show Metric Charts": from the Experiments view's context menu (the clicked node and the
 * whole multi-selection) or programmatically with experiments or ids it charts those runs at once;
 * from its toolbar or the command palette (no arguments) it asks which runs, starting from those
 * selected in the Experiments view.
 */
export function registerChartCommands(
  model: ExperimentsModel,
  panel: MetricChartsPanel,
  ui: Ui,
  selection: () => readonly unknown[],
): vscode.Disposable[] {
  const byId = (g: unknown) => (typeof g === 'string' ? model.items.find((e) => e.id === g) : g);
  return [
    registerCommand(Commands.showMetricCharts, ui, async (clicked?: unknown, selected?: unknown) => {
      const given = Array.isArray(selected) && selected.length > 0 ? selected : clicked ? [clicked] : [];
      let runs = runsOf(given.map(byId));
      if (runs.length === 0) {
        if (model.items.length === 0) {
          throw new Error(
            'This project has no experiments yet: run one first (ML Lab: Run Active File as Experiment).',
          );
        }
        const checked = new Set(runsOf(selection().map(byId)).map((r) => r.id));
        const picked = await pickRuns(model.items, checked);
        if (!picked || picked.length === 0) {
          return undefined;
        }
        runs = picked;
      }
      // the model's copy is the freshest (metric keys logged since the tree drew the node)
      runs = runs.map((r) => model.items.find((e) => e.id === r.id) ?? r);
      panel.show(runs);
      return panel;
    }),
  ];
}

import * as vscode from 'vscode';
import type { Experiment } from '../../../protocol/experiments';
import { Commands } from '../../common/commands';
import { registerCommand } from '../../common/register-command';
import type { Ui } from '../../common/ui';
import type { ExperimentsModel } from '../experiments-model';
import type { MetricChartsPanel } from './panel';

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
 * whole multi-selection), its toolbar (the selection), the command palette (a multi-select quick
 * pick), or programmatically with experiments or ids.
 */
export function registerChartCommands(
  model: ExperimentsModel,
  panel: MetricChartsPanel,
  ui: Ui,
  selection: () => readonly unknown[],
): vscode.Disposable[] {
  return [
    registerCommand(Commands.showMetricCharts, ui, async (clicked?: unknown, selected?: unknown) => {
      const given = Array.isArray(selected) && selected.length > 0 ? selected : clicked ? [clicked] : [...selection()];
      let runs = runsOf(given.map((g) => (typeof g === 'string' ? model.items.find((e) => e.id === g) : g)));
      if (runs.length === 0) {
        const items = model.items.map((e) => ({
          label: e.name,
          description: `${e.status} · ${new Date(e.startedAt).toLocaleString()}`,
          detail: e.metrics.length > 0 ? e.metrics.map((m) => m.key).join(', ') : 'no metrics',
          experiment: e,
        }));
        if (items.length === 0) {
          throw new Error(
            'This project has no experiments yet: run one first (ML Lab: Run Active File as Experiment).',
          );
        }
        const picked = await vscode.window.showQuickPick(items, {
          canPickMany: true,
          title: 'Show Metric Charts',
          placeHolder: 'Select the runs to chart',
          matchOnDescription: true,
        });
        if (!picked || picked.length === 0) {
          return undefined;
        }
        runs = picked.map((p) => p.experiment);
      }
      // the model's copy is the freshest (metric keys logged since the tree drew the node)
      runs = runs.map((r) => model.items.find((e) => e.id === r.id) ?? r);
      panel.show(runs);
      return panel;
    }),
  ];
}

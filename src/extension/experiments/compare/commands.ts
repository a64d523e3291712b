import type * as vscode from 'vscode';
import { Commands } from '../../common/commands';
import { registerCommand } from '../../common/register-command';
import type { Ui } from '../../common/ui';
import type { CompareTable } from './panel';

/** The ids of tree nodes or ids: a run, every run of a group, or an id string; each once. */
export function experimentIds(nodes: readonly unknown[]): string[] {
  const ids = new Set<string>();
  const visit = (node: unknown) => {
    if (typeof node === 'string') {
      ids.add(node);
    } else if (node && typeof node === 'object') {
      if ('runs' in node && Array.isArray(node.runs)) {
        node.runs.forEach(visit);
      } else if ('id' in node && typeof node.id === 'string') {
        ids.add(node.id);
      }
    }
  };
  nodes.forEach(visit);
  return [...ids];
}

/**
 * "ML Lab: Compare Experiments": from the Experiments view's toolbar (its selection is preselected),
 * its context menu (the clicked node and the whole multi-selection), the command palette, or
 * programmatically with experiments or ids to preselect.
 */
export function registerCompareCommand(
  panel: CompareTable,
  ui: Ui,
  selection: () => readonly unknown[],
): vscode.Disposable {
  return registerCommand(Commands.compareExperiments, ui, (clicked?: unknown, selected?: unknown) => {
    const given = Array.isArray(selected) && selected.length > 0 ? selected : clicked ? [clicked] : [...selection()];
    const ids = experimentIds(given);
    panel.show(ids.length > 0 ? ids : undefined);
    return panel;
  });
}

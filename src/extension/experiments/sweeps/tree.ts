import * as vscode from 'vscode';
import type { Sweep } from '../../../protocol/sweeps';
import { Commands } from '../../common/commands';
import { Disposable } from '../../common/lifecycle';
import { type Row, sweepRow, sweepsGroupRow, trialRow, trialsInOrder } from './rows';
import type { SweepsModel } from './sweeps-model';

/** The "Sweeps" group at the top of the Experiments view. */
export interface SweepsGroupNode {
  readonly kind: 'sweeps';
}

/** A sweep under it (the argument of the sweep commands). */
export interface SweepNode {
  readonly kind: 'sweep';
  readonly sweep: Sweep;
}

/** A trial of a sweep; `id` is its run's, so it opens like any experiment of the view. */
export interface TrialNode {
  readonly kind: 'trial';
  readonly sweepId: string;
  readonly number: number;
  readonly id: string | undefined;
}

/** Said under a sweep that has no trial to list: none started yet, or they could not be loaded. */
export interface TrialsNoteNode {
  readonly kind: 'trialsNote';
  readonly sweepId: string;
  readonly text: string;
}

export type SweepTreeNode = SweepsGroupNode | SweepNode | TrialNode | TrialsNoteNode;

const GROUP: SweepsGroupNode = { kind: 'sweeps' };
const KINDS = new Set<string>(['sweeps', 'sweep', 'trial', 'trialsNote']);

export function isSweepTreeNode(node: unknown): node is SweepTreeNode {
  return !!node && typeof node === 'object' && 'kind' in node && KINDS.has(String(node.kind));
}

function item(row: Row, state: vscode.TreeItemCollapsibleState): vscode.TreeItem {
  const result = new vscode.TreeItem(row.label, state);
  result.description = row.description;
  result.tooltip = row.tooltip;
  result.iconPath = new vscode.ThemeIcon(
    row.icon.id,
    row.icon.color ? new vscode.ThemeColor(row.icon.color) : undefined,
  );
  result.contextValue = row.contextValue;
  return result;
}

/**
 * The sweeps part of the Experiments view (ExperimentsTree asks it for its nodes): the group, each
 * sweep with its progress and best value, and its trials, loaded when a sweep is expanded and then
 * kept current by the model (sweepUpdated events).
 */
export class SweepsTreePart extends Disposable {
  private readonly _onDidChange = this._register(new vscode.EventEmitter<void>());
  /** the sweeps changed, or a sweep's trials were loaded */
  readonly onDidChange = this._onDidChange.event;
  /** why a sweep's trials could not be loaded, shown in its place until the next change */
  private readonly loadErrors = new Map<string, string>();

  constructor(private readonly model: SweepsModel) {
    super();
    this._register(
      model.onDidChange(() => {
        this.loadErrors.clear();
        this._onDidChange.fire();
      }),
    );
  }

  /** The group, when the project has sweeps. */
  roots(): SweepTreeNode[] {
    return this.model.items.length > 0 ? [GROUP] : [];
  }

  /**
   * A sweep's trials come from its details, loaded when it is first expanded (meanwhile a note says
   * so; the model's change when they arrive redraws the view) and kept current from then on.
   */
  children(node: SweepTreeNode): SweepTreeNode[] {
    if (node.kind === 'sweeps') {
      return this.model.items.map((sweep): SweepNode => ({ kind: 'sweep', sweep }));
    }
    if (node.kind !== 'sweep') {
      return [];
    }
    const id = node.sweep.id;
    const details = this.model.cached(id);
    if (!details) {
      const failed = this.loadErrors.get(id);
      if (failed) {
        return [{ kind: 'trialsNote', sweepId: id, text: `Could not load the trials: ${failed}` }];
      }
      this.model.details(id).then(
        () => this._onDidChange.fire(),
        (e: unknown) => {
          this.loadErrors.set(id, (e as Error).message);
          this._onDidChange.fire();
        },
      );
      return [{ kind: 'trialsNote', sweepId: id, text: 'Loading the trials…' }];
    }
    const trials = trialsInOrder(details.trials);
    if (trials.length === 0) {
      const text = details.state === 'running' ? 'Starting the first trials…' : 'No trials.';
      return [{ kind: 'trialsNote', sweepId: id, text }];
    }
    return trials.map((t): TrialNode => ({ kind: 'trial', sweepId: id, number: t.number, id: t.runId ?? undefined }));
  }

  parent(node: SweepTreeNode): SweepTreeNode | undefined {
    if (node.kind === 'sweeps') {
      return undefined;
    }
    if (node.kind === 'sweep') {
      return GROUP;
    }
    const sweep = this.model.get(node.sweepId);
    return sweep ? { kind: 'sweep', sweep } : GROUP;
  }

  treeItem(node: SweepTreeNode): vscode.TreeItem {
    switch (node.kind) {
      case 'sweeps': {
        const group = item(sweepsGroupRow(this.model.items), vscode.TreeItemCollapsibleState.Expanded);
        group.id = 'sweeps';
        return group;
      }
      case 'sweep': {
        const sweep = this.model.get(node.sweep.id) ?? node.sweep;
        const row = item(sweepRow(sweep), vscode.TreeItemCollapsibleState.Collapsed);
        row.id = `sweep:${sweep.id}`;
        row.command = { command: Commands.showSweep, title: 'Show Sweep', arguments: [node] };
        return row;
      }
      case 'trial': {
        const sweep = this.model.get(node.sweepId);
        const trial = this.model.cached(node.sweepId)?.trials.find((t) => t.number === node.number);
        const row =
          sweep && trial
            ? item(trialRow(sweep, trial), vscode.TreeItemCollapsibleState.None)
            : new vscode.TreeItem(`#${node.number}`);
        row.id = `sweep:${node.sweepId}:trial:${node.number}`;
        if (node.id) {
          row.command = { command: Commands.showExperiment, title: 'Show Experiment', arguments: [node.id] };
        }
        return row;
      }
      case 'trialsNote': {
        const note = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        note.id = `sweep:${node.sweepId}:note`;
        note.iconPath = new vscode.ThemeIcon('info');
        return note;
      }
    }
  }
}

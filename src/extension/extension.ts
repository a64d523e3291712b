// first import: its clock starts before the rest of the bundle evaluates
import { loadStart } from './load-clock';
import { performance } from 'perf_hooks';
import * as vscode from 'vscode';
import { MlLab, startsAtOnce } from './lab';

const evaluated = performance.now();

/** What activate() returns: the lab root, for other extensions and the integration tests. */
export interface MlLabApi {
  readonly lab: MlLab;
  /** time spent inside activate(), in ms (the backend starts in the background afterwards) */
  readonly activationMs: number;
  /** time the bundle took to evaluate (its imports included), in ms */
  readonly bundleEvaluationMs: number;
  /** whether the lab home existed at activation (then the backend started at once) */
  readonly homeExistedAtActivation: boolean;
}

export function activate(context: vscode.ExtensionContext): MlLabApi {
  const start = performance.now();
  const lab = new MlLab(context);
  context.subscriptions.push(lab);
  // never block activation on the backend: it starts (or is attached to) in the background, at once
  // only when the lab home exists or the workspace talks to a lab by URL (the extension activates on
  // every start, for its status bar item)
  const homeExistedAtActivation = startsAtOnce(lab.backend.home);
  if (homeExistedAtActivation || lab.backend.remoteUrl !== undefined) {
    setImmediate(() => void lab.backend.start());
  }
  const end = performance.now();
  return { lab, activationMs: end - start, bundleEvaluationMs: evaluated - loadStart, homeExistedAtActivation };
}

export function deactivate(): void {
  // everything is disposed through context.subscriptions
}

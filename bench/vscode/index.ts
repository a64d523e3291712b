// Runs inside a real VS Code extension host (through the integration harness, see bench/run.ts):
// activates ML Lab and, side by side, a built-in extension that is not active yet, and prints
// `MLLAB_BENCH <name> <ms>` lines that bench/run.ts reads.
import { performance } from 'perf_hooks';
import * as vscode from 'vscode';
import type { MlLabApi } from '../../src/extension/extension';

const REFERENCES = ['vscode.markdown-language-features', 'vscode.emmet', 'vscode.npm', 'vscode.references-view'];

export async function run(): Promise<void> {
  const ours = vscode.extensions.getExtension<MlLabApi>('mllab.mllab');
  if (!ours || ours.isActive) {
    throw new Error('ML Lab must be installed and not yet active');
  }
  let t0 = performance.now();
  const api = await ours.activate();
  const wall = performance.now() - t0;
  console.log(`MLLAB_BENCH activate_inside ${api.activationMs.toFixed(3)}`);
  console.log(`MLLAB_BENCH bundle_evaluation ${api.bundleEvaluationMs.toFixed(3)}`);
  console.log(`MLLAB_BENCH activate_wall ${wall.toFixed(3)}`);
  t0 = performance.now();
  await new Promise<void>((resolve) => {
    const check = () => (api.lab.backend.state.kind === 'connected' ? resolve() : setTimeout(check, 1));
    check();
  });
  console.log(`MLLAB_BENCH backend_ready_after_activation ${(performance.now() - t0).toFixed(3)}`);
  const reference = REFERENCES.map((id) => vscode.extensions.getExtension(id)).find((e) => e && !e.isActive);
  if (reference) {
    t0 = performance.now();
    await reference.activate();
    console.log(`MLLAB_BENCH reference_wall ${(performance.now() - t0).toFixed(3)} ${reference.id}`);
  }
}

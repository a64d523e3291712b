import type { LoggedModel } from '../experiments/ingest';
import { registerModel, type RegisterDeps } from './register';

/**
 * What the experiment tracker calls for a run's `model` event (`exp.log_model`): registers the file
 * as the next version of the model, with lineage to the run. Idempotent per event.
 */
export function modelsFromRuns(deps: RegisterDeps): (m: LoggedModel) => Promise<void> {
  return async (m) => {
    await registerModel(deps, m.projectId, {
      name: m.name,
      path: m.path,
      runDir: m.runDir,
      insideRunOnly: true,
      experimentId: m.runId,
      entryPoint: m.entryPoint,
      description: m.description,
      tags: m.tags,
      sourceKey: m.key,
    });
  };
}

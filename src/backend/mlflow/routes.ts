import type { FastifyInstance } from 'fastify';
import { MLFLOW_ARTIFACT_PREFIXES, MLFLOW_PREFIXES } from '../../protocol/mlflow';
import { MlflowAccess } from './access';
import { registerArtifactRoutes } from './artifacts';
import type { MlflowContext, MlflowDeps } from './context';
import { registerExperimentEndpoints } from './experiment-endpoints';
import { MlflowExperiments } from './experiments';
import { registerLogEndpoints } from './log-endpoints';
import { registerRegistryEndpoints } from './registry';
import { registerRunEndpoints } from './run-endpoints';
import { MlflowRunWriter } from './run-writer';
import { RunsView } from './runs-view';
import { mlflowErrors, notImplemented, plainJsonBodies } from './scope';

/**
 * The MLflow tracking API (experiments, runs, metrics, artifacts list), the artifact proxy and the
 * model registry, in scopes of their own under each of MLflow's prefixes: errors answer in MLflow's
 * format, unknown endpoints 501. Authentication is the lab's (the bearer token); an experiment is a
 * project, so each request is checked against the user's role in its project (access.ts).
 */
export function registerMlflowRoutes(app: FastifyInstance, deps: MlflowDeps): void {
  const experiments = new MlflowExperiments(deps.home, deps.projects);
  const writer = new MlflowRunWriter(deps.home);
  const view = new RunsView(deps.store, deps.experiments, writer);
  const access = new MlflowAccess(deps.projects, experiments, view, writer);
  const context: MlflowContext = { deps, experiments, writer, view, access };
  app.addHook('onClose', () => writer.close());

  for (const prefix of MLFLOW_PREFIXES) {
    void app.register(
      async (scope) => {
        mlflowErrors(scope, deps.log);
        notImplemented(scope);
        plainJsonBodies(scope);
        registerExperimentEndpoints(scope, context);
        registerRunEndpoints(scope, context);
        registerLogEndpoints(scope, context);
        registerRegistryEndpoints(scope, {
          home: deps.home,
          models: deps.models,
          blobs: deps.blobs,
          experiments,
          log: deps.log,
        });
      },
      { prefix },
    );
  }

  for (const prefix of MLFLOW_ARTIFACT_PREFIXES) {
    registerArtifactRoutes(app, prefix, {
      home: deps.home,
      log: deps.log,
      writer,
      runProject: (request, runId, need) => access.runProject(request, runId, need),
    });
  }
}

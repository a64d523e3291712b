import type { EngineRun } from '../engine';
import { CONTAINER_PYTHON } from '../run-directory';
import type { LabAccess } from './swarm';

/**
 * The environment of a job that runs on another machine than the lab's (a Swarm node, a remote
 * engine): the Python client of its image on PYTHONPATH, the lab's URL, where its token and the
 * lab's certificate are (files, never values: the environment is visible to whoever inspects the
 * container), and who it is.
 */
export function labEnv(
  run: EngineRun,
  access: LabAccess,
  files: { readonly token: string; readonly ca: string | null },
): Record<string, string> {
  const spec = run.job.spec;
  const own = spec.env.PYTHONPATH;
  return {
    ...spec.env,
    PYTHONPATH: own ? `${own}:${CONTAINER_PYTHON}` : CONTAINER_PYTHON,
    MLLAB_URL: access.url,
    MLLAB_TOKEN_FILE: files.token,
    ...(files.ca ? { MLLAB_CA_FILE: files.ca } : {}),
    MLLAB_JOB: spec.name,
    MLLAB_JOB_RUN_ID: run.runId,
    MLLAB_EXPERIMENT_NAME: spec.name,
    // the project the job belongs to: its experiments go there (mllab.experiment(project=...))
    MLLAB_PROJECT: run.job.projectId,
  };
}

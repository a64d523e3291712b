import type { FastifyInstance, FastifyRequest } from 'fastify';
import { MLFLOW_LIMITS } from '../../protocol/mlflow';
import { projectAnswer } from '../http/server';
import type { MlflowContext } from './context';
import { endpoint } from './scope';
import { searchExperiments } from './search-experiments';
import { maxResultsOf, viewTypeOf } from './search-runs';
import { checkKey, int64, type Input, list, tagsOf, text } from './values';

/** MLflow's experiments endpoints: an experiment is a project of the lab. */
export function registerExperimentEndpoints(scope: FastifyInstance, { experiments, access }: MlflowContext): void {
  endpoint(scope, 'POST', '/experiments/create', async (input, request) => {
    const name = text(input, 'name', { required: true, max: MLFLOW_LIMITS.nameChars });
    const tags = tagsOf(input.tags, 'Tag', MLFLOW_LIMITS.tagValueChars, MLFLOW_LIMITS.paramsTagsPerBatch);
    const project = await experiments.create(name, tags);
    await projectAnswer(request, 'createdProject', project);
    return { experiment_id: project.id };
  });
  endpoint(scope, 'GET', '/experiments/get', async (input, request) => {
    const project = access.experimentOf(request, input, 'read');
    return { experiment: experiments.toMlflow(project) };
  });
  endpoint(scope, 'GET', '/experiments/get-by-name', async (input, request) => {
    const name = text(input, 'experiment_name', { required: true, max: MLFLOW_LIMITS.nameChars });
    const project = experiments.byName(name);
    access.check(request, project, 'read', () => experiments.notFoundName(name));
    return { experiment: experiments.toMlflow(project) };
  });
  const search = async (input: Input, request: FastifyRequest) =>
    searchExperiments(
      (await access.readable(request)).map((p) => experiments.toMlflow(p)),
      {
        filter: text(input, 'filter', { max: 10_000 }) ?? '',
        orderBy: list(input, 'order_by', 10).map((o) => String(o)),
        viewType: viewTypeOf(input.view_type),
        maxResults: maxResultsOf(int64(input, 'max_results')),
        pageToken: text(input, 'page_token', { max: 1000 }),
      },
    );
  endpoint(scope, 'POST', '/experiments/search', search);
  endpoint(scope, 'GET', '/experiments/search', search);
  // the name of MLflow 1.x, still used by older clients (all experiments of a view type)
  endpoint(scope, 'GET', '/experiments/list', search);
  endpoint(scope, 'POST', '/experiments/update', async (input, request) => {
    const project = access.experimentOf(request, input, 'manage');
    await experiments.rename(project, text(input, 'new_name', { required: true, max: MLFLOW_LIMITS.nameChars }));
    return {};
  });
  endpoint(scope, 'POST', '/experiments/delete', async (input, request) => {
    const project = access.experimentOf(request, input, 'manage');
    experiments.setDeleted(project.id, true);
    return {};
  });
  endpoint(scope, 'POST', '/experiments/restore', async (input, request) => {
    const project = access.experimentOf(request, input, 'manage');
    experiments.setDeleted(project.id, false);
    return {};
  });
  endpoint(scope, 'POST', '/experiments/set-experiment-tag', async (input, request) => {
    const project = access.experimentOf(request, input, 'write');
    const key = checkKey(input.key, 'Tag');
    experiments.setTag(
      project.id,
      key,
      text(input, 'value', { required: false, max: MLFLOW_LIMITS.tagValueChars }) ?? '',
    );
    return {};
  });
  endpoint(scope, 'POST', '/experiments/delete-experiment-tag', async (input, request) => {
    const project = access.experimentOf(request, input, 'write');
    experiments.setTag(project.id, checkKey(input.key, 'Tag'), undefined);
    return {};
  });
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RunEvent } from '../../protocol/experiments';
import { MLFLOW_LIMITS, type MlflowMetric } from '../../protocol/mlflow';
import { readSeries } from '../experiments/series';
import { identityOf } from '../http/server';
import { listRunArtifacts } from './artifacts';
import type { MlflowContext } from './context';
import { notFoundExperiment } from './experiments';
import { offsetOf, pageToken } from './page-token';
import { lastTimes, mlflowValue, toMlflowRun } from './run-reader';
import { DELETED_TAG, labStatus } from './run-writer';
import { endpoint } from './scope';
import { maxResultsOf, searchRuns, viewTypeOf } from './search-runs';
import { int64, type Input, list, tagsOf, text } from './values';

/** MLflow's runs endpoints but those that log (create, get, update, delete, search, metric history, artifact list). */
export function registerRunEndpoints(scope: FastifyInstance, context: MlflowContext): void {
  const { deps, experiments, writer, view, access } = context;
  endpoint(scope, 'POST', '/runs/create', async (input, request) => {
    const given = text(input, 'experiment_id', { max: 100 });
    const project =
      given === undefined || given === '0' ? await experiments.defaultProject() : experiments.projectOf(given);
    access.check(request, project, 'write', () => notFoundExperiment(given ?? '0'));
    experiments.checkActive(project);
    const tags = new Map(
      tagsOf(input.tags, 'Tag', MLFLOW_LIMITS.tagValueChars, MLFLOW_LIMITS.paramsTagsPerBatch).map((t) => [
        t.key,
        t.value,
      ]),
    );
    const name = text(input, 'run_name', { max: MLFLOW_LIMITS.nameChars }) ?? tags.get('mlflow.runName');
    const user =
      text(input, 'user_id', { max: 250 }) || tags.get('mlflow.user') || identityOf(request)?.name || 'mlflow';
    const id = await writer.create({
      projectId: project.id,
      name,
      startTime: int64(input, 'start_time') ?? Date.now(),
      user,
      tags,
    });
    return { run: toMlflowRun(await view.details(id), undefined) };
  });
  endpoint(scope, 'GET', '/runs/get', async (input, request) => {
    const { id } = access.runOf(request, input, 'read');
    const run = await view.details(id);
    return { run: toMlflowRun(run, lastTimes(deps.store, deps.tracker.files, [id]).get(id)) };
  });
  endpoint(scope, 'POST', '/runs/update', async (input, request) => {
    const { id } = access.writableRun(request, input);
    const status = text(input, 'status', { max: 20 });
    const end = int64(input, 'end_time');
    const name = text(input, 'run_name', { max: MLFLOW_LIMITS.nameChars });
    const lab = status === undefined ? undefined : labStatus(status);
    const t = Date.now();
    const events: RunEvent[] = [];
    if (lab !== undefined && lab !== 'running') {
      events.push({ k: 'status', status: lab, exitCode: lab === 'completed' ? 0 : null, t: end ?? t });
    }
    if (name !== undefined) {
      events.push({ k: 'tag', key: 'mlflow.runName', v: name, t });
    }
    await writer.update(
      id,
      (m) => ({
        ...m,
        ...(name !== undefined ? { name } : {}),
        ...(lab !== undefined
          ? {
              status: lab,
              endedAt: lab === 'running' ? null : new Date(end ?? t).toISOString(),
              exitCode: lab === 'completed' ? 0 : null,
            }
          : {}),
      }),
      events.length > 0 ? events : [{ k: 'tag', key: 'mlflow.runName', v: name ?? writer.state(id).manifest.name, t }],
    );
    return { run_info: toMlflowRun(await view.details(id), undefined).info };
  });
  const lifecycle = (deleted: boolean) => async (input: Input, request: FastifyRequest) => {
    const { id, project } = access.runOf(request, input, 'write');
    experiments.checkActive(project);
    await writer.append(id, () => [{ k: 'tag', key: DELETED_TAG, v: deleted ? 'true' : null, t: Date.now() }]);
    return {};
  };
  endpoint(scope, 'POST', '/runs/delete', lifecycle(true));
  endpoint(scope, 'POST', '/runs/restore', lifecycle(false));

  const searchRunsEndpoint = async (input: Input, request: FastifyRequest) => {
    const ids = list(input, 'experiment_ids', 1000).map((v) => String(v));
    const projectsOf = ids.map((eid) => {
      const project = experiments.projectOf(eid);
      access.check(request, project, 'read', () => notFoundExperiment(eid));
      return project;
    });
    await view.caughtUp();
    const runs = projectsOf.flatMap((p) => view.list(p.id));
    const { page, next } = searchRuns(
      runs,
      {
        filter: text(input, 'filter', { max: 10_000 }) ?? '',
        orderBy: list(input, 'order_by', 10).map((o) => String(o)),
        viewType: viewTypeOf(input.run_view_type),
        maxResults: maxResultsOf(int64(input, 'max_results')),
        pageToken: text(input, 'page_token', { max: 1000 }),
      },
      projectsOf.map((p) => p.id),
    );
    const times = lastTimes(
      deps.store,
      deps.tracker.files,
      page.map((e) => e.id),
    );
    return {
      ...(page.length > 0 ? { runs: page.map((e) => toMlflowRun(e, times.get(e.id))) } : {}),
      ...(next ? { next_page_token: next } : {}),
    };
  };
  endpoint(scope, 'POST', '/runs/search', searchRunsEndpoint);
  endpoint(scope, 'GET', '/runs/search', searchRunsEndpoint);

  endpoint(scope, 'GET', '/metrics/get-history', async (input, request) => {
    const { id } = access.runOf(request, input, 'read');
    const key = text(input, 'metric_key', { required: true, max: MLFLOW_LIMITS.keyChars });
    const max = int64(input, 'max_results');
    const pageSize = max === undefined ? MLFLOW_LIMITS.historyPage : maxResultsOf(max, MLFLOW_LIMITS.historyPage);
    const token = text(input, 'page_token', { max: 1000 });
    const offset = offsetOf(token, `${id}\n${key}`);
    await view.details(id);
    let series;
    try {
      series = readSeries(deps.experiments, deps.tracker.files, id, key);
    } catch {
      return { metrics: [] }; // MLflow answers a key never logged with an empty history
    }
    const end = Math.min(series.total, offset + pageSize);
    const metrics: MlflowMetric[] = [];
    const special = new Map(series.special.map((s) => [s.index, s.value]));
    for (let i = offset; i < end; i++) {
      metrics.push({
        key,
        value: series.values[i] ?? special.get(i) ?? mlflowValue(NaN),
        timestamp: series.times[i],
        step: series.steps[i],
      });
    }
    return { metrics, ...(end < series.total ? { next_page_token: pageToken(end, `${id}\n${key}`) } : {}) };
  });

  endpoint(scope, 'GET', '/artifacts/list', async (input, request) => {
    const { id, project } = access.runOf(request, input, 'read');
    return listRunArtifacts(deps.home, project.id, id, text(input, 'path', { max: 1000 }) ?? '');
  });
}

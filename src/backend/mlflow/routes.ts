import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Project } from '../../protocol/api';
import type { RunEvent } from '../../protocol/experiments';
import { MLFLOW_ARTIFACT_PREFIXES, MLFLOW_LIMITS, MLFLOW_PREFIXES, type MlflowMetric } from '../../protocol/mlflow';
import type { ExperimentRepository } from '../experiments/repository';
import { readSeries } from '../experiments/series';
import type { ExperimentTracker } from '../experiments/tracker';
import type { BlobStore } from '../files/blob-store';
import { checkNamedProject, identityOf, projectAnswer } from '../http/server';
import type { ProjectNeed } from '../http/project-scopes';
import type { Logger } from '../log';
import type { ModelRepository } from '../models/repository';
import type { ProjectRepository } from '../projects/repository';
import type { Store } from '../store/database';
import { ApiError } from '../errors';
import { registerArtifactRoutes, listRunArtifacts } from './artifacts';
import { invalid, MlflowError } from './errors';
import { MlflowExperiments, notFoundExperiment } from './experiments';
import { offsetOf, pageToken } from './page-token';
import { registerRegistryEndpoints } from './registry';
import { lastTimes, mlflowValue, toMlflowRun } from './run-reader';
import { DELETED_TAG, labStatus, MlflowRunWriter, notFoundRun } from './run-writer';
import { RunsView } from './runs-view';
import { ScannedBatch, scanMetricBatch } from './batch-scanner';
import { endpoint, mlflowErrors, notImplemented, plainJsonBodies } from './scope';
import { searchExperiments } from './search-experiments';
import { maxResultsOf, searchRuns, viewTypeOf } from './search-runs';
import { checkKey, int64, type Input, list, metricEvent, runIdOf, tagsOf, text } from './values';

export interface MlflowDeps {
  readonly home: string;
  readonly store: Store;
  readonly projects: ProjectRepository;
  readonly experiments: ExperimentRepository;
  readonly tracker: ExperimentTracker;
  readonly models: ModelRepository;
  readonly blobs: BlobStore;
  readonly log: Logger;
}

/**
 * The MLflow tracking API (experiments, runs, metrics, artifacts list), the artifact proxy and the
 * model registry, in scopes of their own under each of MLflow's prefixes: errors answer in MLflow's
 * format, unknown endpoints 501. Authentication is the lab's (the bearer token); an experiment is a
 * project, so each request is checked against the user's role in its project.
 */
export function registerMlflowRoutes(app: FastifyInstance, deps: MlflowDeps): void {
  const { projects, log } = deps;
  const experiments = new MlflowExperiments(deps.home, projects);
  const writer = new MlflowRunWriter(deps.home);
  const view = new RunsView(deps.store, deps.experiments, writer);
  app.addHook('onClose', () => writer.close());

  /**
   * The user's role in the project; a project the user cannot read is answered as MLflow answers an
   * experiment (or run) that does not exist, word for word (its existence is no one else's business).
   */
  const check = (
    request: FastifyRequest,
    project: Project,
    need: ProjectNeed,
    hidden: () => Error = () => notFoundExperiment(project.id),
  ) => {
    try {
      checkNamedProject(request, project.id, need);
    } catch (e) {
      throw e instanceof ApiError && e.statusCode === 404 ? hidden() : e;
    }
  };
  const experimentOf = (request: FastifyRequest, input: Input, need: ProjectNeed): Project => {
    const id = text(input, 'experiment_id', { required: true, max: 100 });
    const project = experiments.projectOf(id);
    check(request, project, need, () => notFoundExperiment(id));
    return project;
  };
  /**
   * The project of a run: the store's once the ingest has the run, else the one its run.json names
   * (an id or a name), else the active one.
   */
  const projectOfRun = (id: string): Project => {
    const named = view.projectOf(id, () => projects.activeId());
    try {
      return projects.resolve(named);
    } catch {
      throw notFoundRun(id);
    }
  };
  /** The run of a request, checked against the user's role in its project. */
  const runOf = (request: FastifyRequest, input: Input, need: ProjectNeed): { id: string; project: Project } => {
    const id = runIdOf(input);
    const project = projectOfRun(id);
    check(request, project, need, () => notFoundRun(id));
    return { id, project };
  };
  /** A run that may change: active (not deleted through MLflow) in an active experiment. */
  const writableRun = (request: FastifyRequest, input: Input) => {
    const run = runOf(request, input, 'write');
    experiments.checkActive(run.project);
    if (writer.state(run.id).tags.get(DELETED_TAG) === 'true') {
      throw invalid(`The run ${run.id} must be in the 'active' state. Current state is deleted.`);
    }
    return run;
  };
  const readable = async (request: FastifyRequest): Promise<Project[]> =>
    (await projectAnswer(request, 'projectList', experiments.all())) as Project[];

  /** Params to log: refused all together when one would change a value the run holds (MLflow's rule). */
  const paramEvents = (id: string, params: readonly { key: string; value: string }[], t: number): RunEvent[] => {
    const held = writer.state(id).params;
    const seen = new Map<string, string>();
    for (const p of params) {
      const old = held.get(p.key) ?? seen.get(p.key);
      if (old !== undefined && old !== p.value) {
        throw invalid(
          `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old.slice(0, 500)}' for run ID='${id}'. Attempted logging new value '${p.value.slice(0, 500)}'.`,
        );
      }
      seen.set(p.key, p.value);
    }
    return params.filter((p) => !held.has(p.key)).map((p) => ({ k: 'param', key: p.key, v: p.value, t }));
  };

  for (const prefix of MLFLOW_PREFIXES) {
    void app.register(
      async (scope) => {
        mlflowErrors(scope, log);
        notImplemented(scope);
        plainJsonBodies(scope);

        // experiments
        endpoint(scope, 'POST', '/experiments/create', async (input, request) => {
          const name = text(input, 'name', { required: true, max: MLFLOW_LIMITS.nameChars });
          const tags = tagsOf(input.tags, 'Tag', MLFLOW_LIMITS.tagValueChars, MLFLOW_LIMITS.paramsTagsPerBatch);
          const project = await experiments.create(name, tags);
          await projectAnswer(request, 'createdProject', project);
          return { experiment_id: project.id };
        });
        endpoint(scope, 'GET', '/experiments/get', async (input, request) => {
          const project = experimentOf(request, input, 'read');
          return { experiment: experiments.toMlflow(project) };
        });
        endpoint(scope, 'GET', '/experiments/get-by-name', async (input, request) => {
          const name = text(input, 'experiment_name', { required: true, max: MLFLOW_LIMITS.nameChars });
          const project = experiments.byName(name);
          check(request, project, 'read', () => experiments.notFoundName(name));
          return { experiment: experiments.toMlflow(project) };
        });
        const search = async (input: Input, request: FastifyRequest) =>
          searchExperiments(
            (await readable(request)).map((p) => experiments.toMlflow(p)),
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
          const project = experimentOf(request, input, 'manage');
          await experiments.rename(project, text(input, 'new_name', { required: true, max: MLFLOW_LIMITS.nameChars }));
          return {};
        });
        endpoint(scope, 'POST', '/experiments/delete', async (input, request) => {
          const project = experimentOf(request, input, 'manage');
          experiments.setDeleted(project.id, true);
          return {};
        });
        endpoint(scope, 'POST', '/experiments/restore', async (input, request) => {
          const project = experimentOf(request, input, 'manage');
          experiments.setDeleted(project.id, false);
          return {};
        });
        endpoint(scope, 'POST', '/experiments/set-experiment-tag', async (input, request) => {
          const project = experimentOf(request, input, 'write');
          const key = checkKey(input.key, 'Tag');
          experiments.setTag(
            project.id,
            key,
            text(input, 'value', { required: false, max: MLFLOW_LIMITS.tagValueChars }) ?? '',
          );
          return {};
        });
        endpoint(scope, 'POST', '/experiments/delete-experiment-tag', async (input, request) => {
          const project = experimentOf(request, input, 'write');
          experiments.setTag(project.id, checkKey(input.key, 'Tag'), undefined);
          return {};
        });

        // runs
        endpoint(scope, 'POST', '/runs/create', async (input, request) => {
          const given = text(input, 'experiment_id', { max: 100 });
          const project =
            given === undefined || given === '0' ? await experiments.defaultProject() : experiments.projectOf(given);
          check(request, project, 'write', () => notFoundExperiment(given ?? '0'));
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
          const { id } = runOf(request, input, 'read');
          const run = await view.details(id);
          return { run: toMlflowRun(run, lastTimes(deps.store, deps.tracker.files, [id]).get(id)) };
        });
        endpoint(scope, 'POST', '/runs/update', async (input, request) => {
          const { id } = writableRun(request, input);
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
            events.length > 0
              ? events
              : [{ k: 'tag', key: 'mlflow.runName', v: name ?? writer.state(id).manifest.name, t }],
          );
          return { run_info: toMlflowRun(await view.details(id), undefined).info };
        });
        const lifecycle = (deleted: boolean) => async (input: Input, request: FastifyRequest) => {
          const { id, project } = runOf(request, input, 'write');
          experiments.checkActive(project);
          await writer.append(id, () => [{ k: 'tag', key: DELETED_TAG, v: deleted ? 'true' : null, t: Date.now() }]);
          return {};
        };
        endpoint(scope, 'POST', '/runs/delete', lifecycle(true));
        endpoint(scope, 'POST', '/runs/restore', lifecycle(false));

        endpoint(scope, 'POST', '/runs/log-metric', async (input, request) => {
          const { id } = writableRun(request, input);
          const point = metricEvent(input);
          await writer.append(id, () => [point]);
          return {};
        });
        const logParam = async (input: Input, request: FastifyRequest) => {
          const { id } = writableRun(request, input);
          const [param] = tagsOf([{ key: input.key, value: input.value }], 'Param', MLFLOW_LIMITS.paramValueChars, 1);
          await writer.append(id, () => paramEvents(id, [param], Date.now()));
          return {};
        };
        endpoint(scope, 'POST', '/runs/log-parameter', logParam);
        endpoint(scope, 'POST', '/runs/log-param', logParam);
        endpoint(scope, 'POST', '/runs/set-tag', async (input, request) => {
          const { id } = writableRun(request, input);
          const [tag] = tagsOf([{ key: input.key, value: input.value }], 'Tag', MLFLOW_LIMITS.tagValueChars, 1);
          await writer.append(id, () => [{ k: 'tag', key: tag.key, v: tag.value, t: Date.now() }]);
          return {};
        });
        endpoint(scope, 'POST', '/runs/delete-tag', async (input, request) => {
          const { id } = writableRun(request, input);
          const key = checkKey(input.key, 'Tag');
          await writer.append(id, (run) => {
            if (!run.tags.has(key)) {
              throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No tag with name: ${key} in run with id ${id}`);
            }
            return [{ k: 'tag', key, v: null, t: Date.now() }];
          });
          return {};
        });
        // log-batch reads its commonest bodies without JSON.parse (batch-scanner.ts)
        void scope.register(async (batchScope) => {
          plainJsonBodies(batchScope, scanMetricBatch);
          endpoint(batchScope, 'POST', '/runs/log-batch', async (input, request) => {
            if (input instanceof ScannedBatch) {
              // the plain shape, already checked and turned into lines
              const { id } = writableRun(request, input);
              await writer.appendLines(id, input.lines);
              return {};
            }
            const metrics = Array.isArray(input.metrics) ? (input.metrics as unknown[]) : [];
            const rawParams = Array.isArray(input.params) ? (input.params as unknown[]) : [];
            const rawTags = Array.isArray(input.tags) ? (input.tags as unknown[]) : [];
            if (metrics.length > MLFLOW_LIMITS.metricsPerBatch) {
              throw invalid(
                `A batch logging request can contain at most ${MLFLOW_LIMITS.metricsPerBatch} metrics. Got ${metrics.length} metrics. Please split up metrics across multiple requests and try again.`,
              );
            }
            if (
              rawParams.length > MLFLOW_LIMITS.paramsTagsPerBatch ||
              rawTags.length > MLFLOW_LIMITS.paramsTagsPerBatch
            ) {
              const [what, n] =
                rawParams.length > MLFLOW_LIMITS.paramsTagsPerBatch
                  ? ['params', rawParams.length]
                  : ['tags', rawTags.length];
              throw invalid(
                `A batch logging request can contain at most ${MLFLOW_LIMITS.paramsTagsPerBatch} ${what}. Got ${n} ${what}. Please split up ${what} across multiple requests and try again.`,
              );
            }
            const total = metrics.length + rawParams.length + rawTags.length;
            if (total > MLFLOW_LIMITS.entitiesPerBatch) {
              throw invalid(
                `A batch logging request can contain at most ${MLFLOW_LIMITS.entitiesPerBatch} total metrics, params, and tags. Got ${total}. Please split up the data across multiple requests and try again.`,
              );
            }
            const { id } = writableRun(request, input);
            const points = metrics.map((m) => metricEvent((m ?? {}) as Input));
            const params = tagsOf(rawParams, 'Param', MLFLOW_LIMITS.paramValueChars, MLFLOW_LIMITS.paramsTagsPerBatch);
            const tags = tagsOf(rawTags, 'Tag', MLFLOW_LIMITS.tagValueChars, MLFLOW_LIMITS.paramsTagsPerBatch);
            const t = Date.now();
            await writer.append(id, () => [
              ...paramEvents(id, params, t),
              ...tags.map((tag): RunEvent => ({ k: 'tag', key: tag.key, v: tag.value, t })),
              ...points,
            ]);
            return {};
          });
        });
        endpoint(scope, 'POST', '/runs/log-inputs', async (input, request) => {
          const { id } = writableRun(request, input);
          const datasets = list(input, 'datasets', MLFLOW_LIMITS.inputsPerRequest);
          const t = Date.now();
          const events: RunEvent[] = datasets.map((d) => {
            const dataset = ((d ?? {}) as { dataset?: Input }).dataset ?? {};
            const name = text(dataset, 'name', { required: true, max: MLFLOW_LIMITS.nameChars });
            const digest = text(dataset, 'digest', { max: 1000 }) ?? '';
            // a lab dataset version is "v<N>"; MLflow's digests of other data are kept as the dataset's name only
            const version = /^v[1-9][0-9]{0,8}$/.test(digest) ? Number(digest.slice(1)) : null;
            return { k: 'input', dataset: name, version, t };
          });
          await writer.append(id, () => events);
          return {};
        });
        endpoint(scope, 'POST', '/runs/log-model', async (input, request) => {
          const { id } = writableRun(request, input);
          const modelJson = text(input, 'model_json', { required: true, max: MLFLOW_LIMITS.tagValueChars });
          try {
            JSON.parse(modelJson);
          } catch {
            throw invalid("'model_json' is not valid JSON: send the MLmodel description MLflow's client writes.");
          }
          await writer.append(id, (run) => {
            // MLflow keeps the models a run logged as the JSON list of this tag
            const history = run.tags.get('mlflow.log-model.history');
            const list = history ? (JSON.parse(history) as unknown[]) : [];
            list.push(JSON.parse(modelJson));
            const value = JSON.stringify(list);
            if (value.length > MLFLOW_LIMITS.tagValueChars) {
              throw invalid(
                `The models logged by run ${id} exceed the ${MLFLOW_LIMITS.tagValueChars} characters of a tag.`,
              );
            }
            return [{ k: 'tag', key: 'mlflow.log-model.history', v: value, t: Date.now() }];
          });
          return {};
        });
        const searchRunsEndpoint = async (input: Input, request: FastifyRequest) => {
          const ids = list(input, 'experiment_ids', 1000).map((v) => String(v));
          const projectsOf = ids.map((eid) => {
            const project = experiments.projectOf(eid);
            check(request, project, 'read', () => notFoundExperiment(eid));
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
          const { id } = runOf(request, input, 'read');
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

        registerRegistryEndpoints(scope, { home: deps.home, models: deps.models, blobs: deps.blobs, experiments, log });

        endpoint(scope, 'GET', '/artifacts/list', async (input, request) => {
          const { id, project } = runOf(request, input, 'read');
          return listRunArtifacts(deps.home, project.id, id, text(input, 'path', { max: 1000 }) ?? '');
        });
      },
      { prefix },
    );
  }

  for (const prefix of MLFLOW_ARTIFACT_PREFIXES) {
    registerArtifactRoutes(app, prefix, {
      home: deps.home,
      log,
      writer,
      runProject: (request, runId, need) => {
        const project = projectOfRun(runId);
        check(request, project, need, () => notFoundRun(runId));
        if (need !== 'read') {
          experiments.checkActive(project);
        }
        return project.id;
      },
    });
  }
}

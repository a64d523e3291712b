import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RunEvent } from '../../protocol/experiments';
import { MLFLOW_LIMITS } from '../../protocol/mlflow';
import { ScannedBatch, scanMetricBatch } from './batch-scanner';
import type { MlflowContext } from './context';
import { invalid, MlflowError } from './errors';
import { endpoint, plainJsonBodies } from './scope';
import { checkKey, type Input, list, metricEvent, tagsOf, text } from './values';

/** MLflow's logging endpoints: metrics, params, tags, batches, inputs and models of a run. */
export function registerLogEndpoints(scope: FastifyInstance, { writer, access }: MlflowContext): void {
  endpoint(scope, 'POST', '/runs/log-metric', async (input, request) => {
    const { id } = access.writableRun(request, input);
    const point = metricEvent(input);
    await writer.append(id, () => [point]);
    return {};
  });
  const logParam = async (input: Input, request: FastifyRequest) => {
    const { id } = access.writableRun(request, input);
    const [param] = tagsOf([{ key: input.key, value: input.value }], 'Param', MLFLOW_LIMITS.paramValueChars, 1);
    await writer.append(id, () => access.paramEvents(id, [param], Date.now()));
    return {};
  };
  endpoint(scope, 'POST', '/runs/log-parameter', logParam);
  endpoint(scope, 'POST', '/runs/log-param', logParam);
  endpoint(scope, 'POST', '/runs/set-tag', async (input, request) => {
    const { id } = access.writableRun(request, input);
    const [tag] = tagsOf([{ key: input.key, value: input.value }], 'Tag', MLFLOW_LIMITS.tagValueChars, 1);
    await writer.append(id, () => [{ k: 'tag', key: tag.key, v: tag.value, t: Date.now() }]);
    return {};
  });
  endpoint(scope, 'POST', '/runs/delete-tag', async (input, request) => {
    const { id } = access.writableRun(request, input);
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
        const { id } = access.writableRun(request, input);
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
      if (rawParams.length > MLFLOW_LIMITS.paramsTagsPerBatch || rawTags.length > MLFLOW_LIMITS.paramsTagsPerBatch) {
        const [what, n] =
          rawParams.length > MLFLOW_LIMITS.paramsTagsPerBatch ? ['params', rawParams.length] : ['tags', rawTags.length];
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
      const { id } = access.writableRun(request, input);
      const points = metrics.map((m) => metricEvent((m ?? {}) as Input));
      const params = tagsOf(rawParams, 'Param', MLFLOW_LIMITS.paramValueChars, MLFLOW_LIMITS.paramsTagsPerBatch);
      const tags = tagsOf(rawTags, 'Tag', MLFLOW_LIMITS.tagValueChars, MLFLOW_LIMITS.paramsTagsPerBatch);
      const t = Date.now();
      await writer.append(id, () => [
        ...access.paramEvents(id, params, t),
        ...tags.map((tag): RunEvent => ({ k: 'tag', key: tag.key, v: tag.value, t })),
        ...points,
      ]);
      return {};
    });
  });
  endpoint(scope, 'POST', '/runs/log-inputs', async (input, request) => {
    const { id } = access.writableRun(request, input);
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
    const { id } = access.writableRun(request, input);
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
        throw invalid(`The models logged by run ${id} exceed the ${MLFLOW_LIMITS.tagValueChars} characters of a tag.`);
      }
      return [{ k: 'tag', key: 'mlflow.log-model.history', v: value, t: Date.now() }];
    });
    return {};
  });
}

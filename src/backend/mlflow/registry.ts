import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as fs from 'fs';
import * as path from 'path';
import type { Model, ModelVersion } from '../../protocol/models';
import {
  MLFLOW_LIMITS,
  type MlflowModelVersion,
  type MlflowRegisteredModel,
  type MlflowTag,
} from '../../protocol/mlflow';
import { checkName } from '../../protocol/names';
import { ApiError } from '../errors';
import type { BlobStore } from '../files/blob-store';
import { checkNamedProject, identityOf } from '../http/server';
import type { ProjectNeed } from '../http/project-scopes';
import type { Logger } from '../log';
import { checkAlias, type ModelRepository } from '../models/repository';
import { registerModel } from '../models/register';
import { existingRunFolder } from '../experiments/upload/run-folder';
import { invalid, MlflowError } from './errors';
import { notFoundExperiment, type MlflowExperiments } from './experiments';
import { offsetOf, pageToken } from './page-token';
import { RegistryMarks } from './registry-marks';
import { notFoundRun } from './run-writer';
import { endpoint } from './scope';
import { parseFilter, parseOrderBy, passes, type Attributes, type Clause } from './search-grammar';
import { maxResultsOf } from './search-runs';
import { checkKey, int64, type Input, list, text } from './values';

export interface RegistryDeps {
  readonly home: string;
  readonly models: ModelRepository;
  readonly blobs: BlobStore;
  readonly experiments: MlflowExperiments;
  readonly log: Logger;
}

/** The files MLflow writes beside a model in its folder: the model file is the one that is none of them. */
const MODEL_FOLDER_FILES = new Set([
  'MLmodel',
  'conda.yaml',
  'python_env.yaml',
  'requirements.txt',
  'input_example.json',
  'serving_input_example.json',
  'registered_model_meta',
]);

const MODEL_ATTRIBUTES: Attributes = { name: 'text' };
const VERSION_ATTRIBUTES: Attributes = { name: 'text', run_id: 'text', source: 'text', version_number: 'number' };

const tagList = (tags: Readonly<Record<string, string>>): MlflowTag[] =>
  Object.entries(tags).map(([key, value]) => ({ key, value }));

/** `runs:/<run id>/<path>` or `mlflow-artifacts:/<experiment>/<run id>/artifacts/<path>`: the run and the path in its directory. */
export function sourceInRun(source: string): { runId: string; relative: string } {
  const runs = /^runs:\/([^/]+)\/(.+)$/.exec(source);
  if (runs) {
    return { runId: runs[1], relative: `artifacts/${runs[2]}` };
  }
  const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/+([^/]+)\/([^/]+)\/artifacts\/(.+)$/.exec(source);
  if (proxied) {
    return { runId: proxied[2], relative: `artifacts/${proxied[3]}` };
  }
  throw invalid(
    `The source '${source.slice(0, 300)}' is not an artifact of a run of the lab: give runs:/<run id>/<path> or the mlflow-artifacts:/ URI of the run's artifact.`,
  );
}

/** The one model file at `relative` of a run: the file itself, or the single file of a model folder that is not MLflow's metadata. */
function modelFile(runDir: string, relative: string): string {
  const parts = relative.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw invalid(`The source path '${relative.slice(0, 300)}' is not a plain path inside the run.`);
  }
  const st = fs.lstatSync(path.join(runDir, relative), { throwIfNoEntry: false });
  if (st?.isFile()) {
    return relative;
  }
  if (!st?.isDirectory()) {
    throw new MlflowError(
      'RESOURCE_DOES_NOT_EXIST',
      `The run has no artifact '${relative.slice(10, 300)}': log the model before registering it.`,
    );
  }
  const files = fs
    .readdirSync(path.join(runDir, relative), { withFileTypes: true })
    .filter((e) => e.isFile() && !MODEL_FOLDER_FILES.has(e.name))
    .map((e) => e.name);
  if (files.length !== 1) {
    throw invalid(
      `The model folder '${relative.slice(10, 300)}' holds ${files.length === 0 ? 'no model file' : `${files.length} files (${files.slice(0, 5).join(', ')})`} besides MLflow's metadata: a lab model version is one file; register the model file itself.`,
    );
  }
  return `${relative}/${files[0]}`;
}

/**
 * MLflow's model registry onto the lab's models (of the active project, the "Default" experiment):
 * a registered model is a lab model, a model version a lab model version (one file, copied from the
 * run's artifacts), an alias a lab alias. What the lab's models do not hold (key-value tags, a
 * registered model before its first version, the source URI) is kept in RegistryMarks.
 */
export function registerRegistryEndpoints(scope: FastifyInstance, deps: RegistryDeps): void {
  const { models } = deps;
  const marks = new RegistryMarks(deps.home);

  const projectFor = async (request: FastifyRequest, need: ProjectNeed): Promise<string> => {
    const project = need === 'read' ? deps.experiments.projectOf('0') : await deps.experiments.defaultProject();
    try {
      checkNamedProject(request, project.id, need);
    } catch (e) {
      // the registry is the active project's: one the user cannot read is answered as if it did not exist
      throw e instanceof ApiError && e.statusCode === 404 ? notFoundExperiment('0') : e;
    }
    return project.id;
  };
  const labModel = (projectId: string, name: string): Model | undefined => {
    try {
      return models.get(projectId, name);
    } catch {
      return undefined;
    }
  };
  const notFound = (name: string) =>
    new MlflowError('RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name.slice(0, 250)} not found`);
  const modelName = (input: Input) => text(input, 'name', { required: true, max: MLFLOW_LIMITS.nameChars });

  const sourceOf = (v: ModelVersion): string => {
    const given = marks.version(v.id)?.source;
    if (given) {
      return given;
    }
    const runDir = v.experimentId ? path.join(deps.home, 'runs', v.experimentId) : undefined;
    const relative = runDir ? path.relative(runDir, v.sourcePath) : '..';
    return runDir && !relative.startsWith('..')
      ? `mlflow-artifacts:/${v.projectId}/${v.experimentId}/${relative}`
      : v.sourcePath;
  };
  const toVersion = (v: ModelVersion): MlflowModelVersion => {
    const extra = marks.version(v.id);
    const time = Date.parse(v.createdAt);
    return {
      name: v.name,
      version: String(v.version),
      creation_timestamp: time,
      last_updated_timestamp: time,
      user_id: v.operator,
      current_stage: 'None',
      description: extra?.description ?? v.description,
      source: sourceOf(v),
      run_id: v.experimentId ?? '',
      status: 'READY',
      tags: tagList(extra?.tags ?? {}),
      aliases: v.aliases,
    };
  };
  const toModel = (projectId: string, name: string): MlflowRegisteredModel => {
    const model = labModel(projectId, name);
    const pending = marks.pending(projectId, name);
    if (!model && !pending) {
      throw notFound(name);
    }
    const tags = {
      ...Object.fromEntries((model?.tags ?? []).map((t) => [t, ''])),
      ...marks.modelTags(projectId, name),
    };
    if (!model) {
      return {
        name: pending!.name,
        creation_timestamp: pending!.createdAt,
        last_updated_timestamp: pending!.createdAt,
        description: pending!.description,
        latest_versions: [],
        tags: tagList(tags),
        aliases: [],
      };
    }
    const last = model.versions[model.versions.length - 1];
    return {
      name: model.name,
      creation_timestamp: Date.parse(model.createdAt),
      last_updated_timestamp: Date.parse(last.createdAt),
      description: model.description,
      latest_versions: [toVersion(last)],
      tags: tagList(tags),
      aliases: Object.entries(model.aliases).map(([alias, version]) => ({ alias, version: String(version) })),
    };
  };
  const versionOf = (projectId: string, input: Input): ModelVersion => {
    const name = modelName(input);
    const n = int64(input, 'version', true)!;
    const model = labModel(projectId, name);
    const found = model?.versions.find((v) => v.version === n);
    if (!found) {
      throw new MlflowError(
        'RESOURCE_DOES_NOT_EXIST',
        `Model Version (name=${name.slice(0, 250)}, version=${n}) not found`,
      );
    }
    return found;
  };
  const page = <T>(items: T[], input: Input, query: string): { items: T[]; next?: string } => {
    const max = maxResultsOf(int64(input, 'max_results'));
    const offset = offsetOf(text(input, 'page_token', { max: 1000 }), query);
    const slice = items.slice(offset, offset + max);
    const end = offset + slice.length;
    return end < items.length ? { items: slice, next: pageToken(end, query) } : { items: slice };
  };

  // registered models
  endpoint(scope, 'POST', '/registered-models/create', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const name = modelName(input);
    const problem = checkName('model', name);
    if (problem) {
      throw invalid(problem);
    }
    if (labModel(projectId, name) || marks.pending(projectId, name)) {
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
    }
    const tags = list(input, 'tags', 100).map((t) => t as { key: unknown; value: unknown });
    const description = text(input, 'description', { max: 65_536 }) ?? '';
    marks.setPending(projectId, { name, createdAt: Date.now(), description });
    for (const t of tags) {
      marks.setModelTag(projectId, name, checkKey(t.key, 'Tag'), String(t.value ?? ''));
    }
    return { registered_model: toModel(projectId, name) };
  });
  endpoint(scope, 'GET', '/registered-models/get', async (input, request) => {
    const projectId = await projectFor(request, 'read');
    return { registered_model: toModel(projectId, modelName(input)) };
  });
  const searchModels = async (input: Input, request: FastifyRequest) => {
    const projectId = await projectFor(request, 'read');
    const filter = text(input, 'filter', { max: 10_000 }) ?? '';
    const clauses = parseFilter(filter, MODEL_ATTRIBUTES);
    const orderBy = list(input, 'order_by', 10).map((o) => parseOrderBy(String(o), MODEL_ATTRIBUTES));
    const names = [...models.list(projectId).map((m) => m.name), ...marks.allPending(projectId).map((p) => p.name)];
    const all = names.map((n) => toModel(projectId, n));
    const valueOf = (m: MlflowRegisteredModel, c: Pick<Clause, 'entity' | 'key'>) =>
      c.entity === 'tag' ? m.tags.find((t) => t.key === c.key)?.value : c.entity === 'attribute' ? m.name : undefined;
    const matched = all
      .filter((m) => clauses.every((c) => passes(c, valueOf(m, c))))
      .sort((a, b) => {
        const desc = orderBy[0] && !orderBy[0].ascending;
        return (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) * (desc ? -1 : 1);
      });
    const { items, next } = page(matched, input, JSON.stringify([filter, orderBy]));
    return { registered_models: items, ...(next ? { next_page_token: next } : {}) };
  };
  endpoint(scope, 'GET', '/registered-models/search', searchModels);
  endpoint(scope, 'POST', '/registered-models/search', searchModels);
  endpoint(scope, 'PATCH', '/registered-models/update', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const name = modelName(input);
    const description = text(input, 'description', { max: 65_536 }) ?? '';
    const model = labModel(projectId, name);
    const pending = marks.pending(projectId, name);
    if (model) {
      await models.update(model, { description });
    } else if (pending) {
      marks.setPending(projectId, { ...pending, description });
    } else {
      throw notFound(name);
    }
    return { registered_model: toModel(projectId, name) };
  });
  endpoint(scope, 'POST', '/registered-models/rename', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const name = modelName(input);
    const newName = text(input, 'new_name', { required: true, max: MLFLOW_LIMITS.nameChars });
    const pending = marks.pending(projectId, name);
    if (labModel(projectId, name)) {
      throw new MlflowError(
        'NOT_IMPLEMENTED',
        `ML Lab does not rename a model that has versions ("${name}"): its versions, services and lineage keep the name. Register the file under the new name.`,
      );
    }
    if (!pending) {
      throw notFound(name);
    }
    if (labModel(projectId, newName) || marks.pending(projectId, newName)) {
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Registered Model (name=${newName}) already exists.`);
    }
    marks.setPending(projectId, undefined, name);
    marks.setPending(projectId, { ...pending, name: newName });
    return { registered_model: toModel(projectId, newName) };
  });
  endpoint(scope, 'DELETE', '/registered-models/delete', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const name = modelName(input);
    const model = labModel(projectId, name);
    if (!model && !marks.pending(projectId, name)) {
      throw notFound(name);
    }
    for (const v of model?.versions ?? []) {
      await models.deleteVersion(v);
    }
    marks.dropModel(projectId, name, model?.versions.map((v) => v.id) ?? []);
    return {};
  });
  endpoint(scope, 'POST', '/registered-models/set-tag', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const name = modelName(input);
    toModel(projectId, name);
    marks.setModelTag(
      projectId,
      name,
      checkKey(input.key, 'Tag'),
      text(input, 'value', { max: MLFLOW_LIMITS.tagValueChars }) ?? '',
    );
    return {};
  });
  endpoint(scope, 'DELETE', '/registered-models/delete-tag', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const name = modelName(input);
    toModel(projectId, name);
    marks.setModelTag(projectId, name, checkKey(input.key, 'Tag'), undefined);
    return {};
  });
  endpoint(scope, 'POST', '/registered-models/alias', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const version = versionOf(projectId, input);
    const alias = checkAlias(text(input, 'alias', { required: true, max: 64 }));
    await models.setAlias(models.get(projectId, version.name), alias, version.version);
    return {};
  });
  endpoint(scope, 'DELETE', '/registered-models/alias', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const name = modelName(input);
    const model = labModel(projectId, name);
    if (!model) {
      throw notFound(name);
    }
    await models.removeAlias(model, text(input, 'alias', { required: true, max: 64 }));
    return {};
  });
  endpoint(scope, 'GET', '/registered-models/alias', async (input, request) => {
    const projectId = await projectFor(request, 'read');
    const name = modelName(input);
    const alias = text(input, 'alias', { required: true, max: 64 });
    const version = labModel(projectId, name)?.versions.find((v) => v.aliases.includes(alias.toLowerCase()));
    if (!version) {
      throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Registered model alias ${alias} not found.`);
    }
    return { model_version: toVersion(version) };
  });
  const latest = async (input: Input, request: FastifyRequest) => {
    const projectId = await projectFor(request, 'read');
    const name = modelName(input);
    const model = toModel(projectId, name);
    return { model_versions: model.latest_versions };
  };
  endpoint(scope, 'POST', '/registered-models/get-latest-versions', latest);
  endpoint(scope, 'GET', '/registered-models/get-latest-versions', latest);

  // model versions
  endpoint(scope, 'POST', '/model-versions/create', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const name = modelName(input);
    const pending = marks.pending(projectId, name);
    if (!labModel(projectId, name) && !pending) {
      throw notFound(name);
    }
    const source = text(input, 'source', { required: true, max: 4096 });
    const { runId, relative } = sourceInRun(source);
    const given = text(input, 'run_id', { max: 100 });
    if (given && given !== runId) {
      throw invalid(`The source '${source.slice(0, 300)}' is an artifact of run ${runId}, not of run_id ${given}.`);
    }
    const runDir = existingRunFolder(deps.home, runId);
    if (runDir === undefined) {
      throw notFoundRun(runId);
    }
    const file = modelFile(runDir, relative);
    const description = text(input, 'description', { max: 65_536 });
    const { version } = await registerModel(deps, projectId, {
      name: pending?.name ?? name,
      path: file,
      runDir,
      insideRunOnly: true,
      experimentId: runId,
      description: description ?? '',
      operator: identityOf(request)?.name,
    });
    if (pending) {
      if (pending.description) {
        await models.update(models.get(projectId, name), { description: pending.description });
      }
      marks.setPending(projectId, undefined, name);
    }
    const tags = list(input, 'tags', 100).map((t) => t as { key: unknown; value: unknown });
    marks.setVersion(version.id, (v) => {
      v.source = source;
      for (const t of tags) {
        v.tags[checkKey(t.key, 'Tag')] = String(t.value ?? '');
      }
    });
    return { model_version: toVersion(models.byVersionId(version.id) ?? version) };
  });
  endpoint(scope, 'GET', '/model-versions/get', async (input, request) => {
    const projectId = await projectFor(request, 'read');
    return { model_version: toVersion(versionOf(projectId, input)) };
  });
  endpoint(scope, 'GET', '/model-versions/get-download-uri', async (input, request) => {
    const projectId = await projectFor(request, 'read');
    return { artifact_uri: sourceOf(versionOf(projectId, input)) };
  });
  endpoint(scope, 'PATCH', '/model-versions/update', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const version = versionOf(projectId, input);
    const description = text(input, 'description', { max: 65_536 }) ?? '';
    marks.setVersion(version.id, (v) => {
      v.source ||= sourceOf(version);
      v.description = description;
    });
    return { model_version: toVersion(version) };
  });
  endpoint(scope, 'DELETE', '/model-versions/delete', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const version = versionOf(projectId, input);
    await models.deleteVersion(version);
    marks.dropVersion(version.id);
    return {};
  });
  endpoint(scope, 'POST', '/model-versions/set-tag', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const version = versionOf(projectId, input);
    marks.setVersionTag(
      version.id,
      checkKey(input.key, 'Tag'),
      text(input, 'value', { max: MLFLOW_LIMITS.tagValueChars }) ?? '',
      `version ${version.version} of ${version.name}`,
    );
    return {};
  });
  endpoint(scope, 'DELETE', '/model-versions/delete-tag', async (input, request) => {
    const projectId = await projectFor(request, 'write');
    const version = versionOf(projectId, input);
    marks.setVersionTag(
      version.id,
      checkKey(input.key, 'Tag'),
      undefined,
      `version ${version.version} of ${version.name}`,
    );
    return {};
  });
  const searchVersions = async (input: Input, request: FastifyRequest) => {
    const projectId = await projectFor(request, 'read');
    const filter = text(input, 'filter', { max: 10_000 }) ?? '';
    const clauses = parseFilter(filter, VERSION_ATTRIBUTES);
    const all = models
      .list(projectId)
      .flatMap((m) => m.versions)
      .map(toVersion);
    const valueOf = (v: MlflowModelVersion, c: Clause): string | number | undefined =>
      c.entity === 'tag'
        ? v.tags.find((t) => t.key === c.key)?.value
        : c.key === 'version_number'
          ? Number(v.version)
          : (v as unknown as Record<string, string>)[c.key];
    const matched = all
      .filter((v) => clauses.every((c) => passes(c, valueOf(v, c))))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : Number(b.version) - Number(a.version)));
    const { items, next } = page(matched, input, filter);
    return { model_versions: items, ...(next ? { next_page_token: next } : {}) };
  };
  endpoint(scope, 'GET', '/model-versions/search', searchVersions);
  endpoint(scope, 'POST', '/model-versions/search', searchVersions);
}

import type { FastifyInstance } from 'fastify';
import type { Service } from '../../protocol/containers';
import type {
  DeployModelRequest,
  Model,
  ModelLineage,
  ModelVersion,
  ModelVersionDetails,
  RegisterModelRequest,
  SetAliasRequest,
  UpdateModelRequest,
} from '../../protocol/models';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { BlobStore } from '../files/blob-store';
import type { ExperimentRepository } from '../experiments/repository';
import type { Logger } from '../log';
import type { ProjectRepository } from '../projects/repository';
import type { RuntimeConnection } from '../runtime/connection';
import type { ServiceManager } from '../services/manager';
import type { ServiceRepository } from '../services/repository';
import { deployModel, MODEL_VERSION_ENV } from './deploy';
import { registerModel } from './register';
import type { ModelRepository } from './repository';
import { lookupText, nameParams, pathText, projectQuery, text, trueFalse } from '../http/schemas';
import { NAME_MAX_LENGTH } from '../../protocol/names';

export interface ModelRouteDeps {
  readonly projects: ProjectRepository;
  readonly models: ModelRepository;
  readonly experiments: ExperimentRepository;
  readonly blobs: BlobStore;
  readonly services: ServiceRepository;
  readonly manager: ServiceManager;
  readonly connection: RuntimeConnection;
  readonly events: EventBus;
  readonly log: Logger;
}

const projectProperty = lookupText;
const versionParams = {
  type: 'object',
  required: ['name', 'version'],
  properties: { name: nameParams.properties.name, version: text(100, 1) },
} as const;
const aliasParams = {
  type: 'object',
  required: ['name', 'alias'],
  properties: { name: nameParams.properties.name, alias: text(100, 1) },
} as const;
const tags = { type: 'array', maxItems: 100, items: text(100, 1) } as const;
const entryPoint = text(300);

type Q = { project?: string };
type NameRequest = { Params: { name: string }; Querystring: Q };

/** Services of a project deployed from a version, with their status. */
export function servicesOf(services: ServiceRepository, version: ModelVersion): Service[] {
  return services.list(version.projectId).filter((s) => s.env[MODEL_VERSION_ENV] === version.id);
}

const ACTIVE = new Set(['starting', 'running', 'healthy', 'unhealthy', 'unknown']);

export function registerModelRoutes(app: FastifyInstance, deps: ModelRouteDeps): void {
  const { projects, models, events } = deps;
  const projectOf = (q: Q) => projects.resolveOrActive(q.project).id;
  const changed = (model: Model) => events.publish({ type: 'modelChanged', model });
  const selector = (v: string | number | undefined) =>
    v === undefined
      ? 'latest'
      : typeof v === 'number' || /^v?[0-9]+$/.test(v)
        ? Number(String(v).replace(/^v/, ''))
        : v;

  const lineageOf = (v: ModelVersion): ModelLineage | null => {
    if (!v.experimentId) {
      return null;
    }
    try {
      const e = deps.experiments.details(v.experimentId);
      return { experimentId: e.id, experimentName: e.name, params: e.params, metrics: e.metrics, inputs: e.inputs };
    } catch {
      // deleted since: the id stays as the record of where the version came from
      return { experimentId: v.experimentId, experimentName: null, params: {}, metrics: [], inputs: [] };
    }
  };

  app.get<{ Querystring: Q }>(
    '/api/models',
    { schema: { querystring: projectQuery } },
    async (request): Promise<Model[]> => models.list(projectOf(request.query)),
  );

  app.post<{ Body: RegisterModelRequest }>(
    '/api/models',
    {
      schema: {
        body: {
          type: 'object',
          required: ['name', 'path'],
          additionalProperties: false,
          properties: {
            name: text(NAME_MAX_LENGTH),
            path: pathText,
            experimentId: lookupText,
            entryPoint,
            description: text(10000),
            tags,
            project: projectProperty,
            operator: text(200, 1),
          },
        },
      },
    },
    async (request, reply): Promise<ModelVersion> => {
      const body = request.body;
      const experiment = body.experimentId ? deps.experiments.get(body.experimentId) : undefined;
      const projectId = body.project ? projects.resolve(body.project).id : (experiment?.projectId ?? projectOf({}));
      if (experiment && experiment.projectId !== projectId) {
        throw new ApiError(
          400,
          'other_project',
          `Experiment ${experiment.id} belongs to another project: register the model in that project.`,
        );
      }
      const { version } = await registerModel(deps, projectId, {
        ...body,
        runDir: experiment?.dir,
        experimentId: experiment?.id ?? null,
      });
      changed(models.byId(version.modelId)!);
      void reply.code(201);
      return version;
    },
  );

  app.get<NameRequest>(
    '/api/models/:name',
    { schema: { params: nameParams, querystring: projectQuery } },
    async (request): Promise<Model> => models.get(projectOf(request.query), request.params.name),
  );

  app.patch<NameRequest & { Body: UpdateModelRequest }>(
    '/api/models/:name',
    {
      schema: {
        params: nameParams,
        querystring: projectQuery,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { description: text(10000), tags },
        },
      },
    },
    async (request): Promise<Model> => {
      const model = await models.update(models.get(projectOf(request.query), request.params.name), request.body);
      changed(model);
      return model;
    },
  );

  type VersionRequest = { Params: { name: string; version: string }; Querystring: Q & { force?: string } };

  app.get<VersionRequest>(
    '/api/models/:name/versions/:version',
    { schema: { params: versionParams, querystring: projectQuery } },
    async (request): Promise<ModelVersionDetails> => {
      const v = models.resolve(projectOf(request.query), request.params.name, selector(request.params.version));
      return {
        ...v,
        lineage: lineageOf(v),
        services: servicesOf(deps.services, v).map((s) => ({ name: s.name, status: s.status })),
      };
    },
  );

  app.delete<VersionRequest>(
    '/api/models/:name/versions/:version',
    {
      schema: {
        params: {
          ...versionParams,
          properties: {
            ...versionParams.properties,
            version: { type: 'string', maxLength: 10, pattern: '^v?[1-9][0-9]{0,8}$' },
          },
        },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { project: projectProperty, force: trueFalse },
        },
      },
    },
    async (request, reply): Promise<void> => {
      const v = models.resolve(projectOf(request.query), request.params.name, selector(request.params.version));
      const users = servicesOf(deps.services, v).filter((s) => ACTIVE.has(s.status));
      if (users.length > 0 && request.query.force !== 'true') {
        const names = users.map((s) => `"${s.name}" (${s.status})`).join(', ');
        throw new ApiError(
          409,
          'in_use',
          `${v.name}:v${v.version} is served by ${users.length === 1 ? 'the service' : 'the services'} ${names}: ` +
            'stop or remove it first, or delete anyway with force (mllab model rm --force).',
        );
      }
      await models.deleteVersion(v);
      const model = models.byId(v.modelId);
      if (model) {
        changed(model);
      } else {
        events.publish({ type: 'modelDeleted', projectId: v.projectId, modelId: v.modelId, name: v.name });
      }
      void reply.code(204);
    },
  );

  app.put<{ Params: { name: string; alias: string }; Querystring: Q; Body: SetAliasRequest }>(
    '/api/models/:name/aliases/:alias',
    {
      schema: {
        params: aliasParams,
        querystring: projectQuery,
        body: {
          type: 'object',
          required: ['version'],
          additionalProperties: false,
          properties: { version: { type: 'integer', minimum: 1, maximum: 999_999_999 } },
        },
      },
    },
    async (request): Promise<Model> => {
      const model = models.get(projectOf(request.query), request.params.name);
      const updated = await models.setAlias(model, request.params.alias, request.body.version);
      changed(updated);
      return updated;
    },
  );

  app.delete<{ Params: { name: string; alias: string }; Querystring: Q }>(
    '/api/models/:name/aliases/:alias',
    { schema: { params: aliasParams, querystring: projectQuery } },
    async (request): Promise<Model> => {
      const model = models.get(projectOf(request.query), request.params.name);
      const updated = await models.removeAlias(model, request.params.alias);
      changed(updated);
      return updated;
    },
  );

  app.post<NameRequest & { Body: DeployModelRequest }>(
    '/api/models/:name/deploy',
    {
      schema: {
        params: nameParams,
        querystring: projectQuery,
        body: {
          type: 'object',
          required: ['baseImage'],
          additionalProperties: false,
          properties: {
            version: {
              anyOf: [{ type: 'integer', minimum: 1, maximum: 999_999_999 }, text(100, 1)],
            },
            baseImage: text(255, 1),
            port: { type: 'integer', minimum: 1, maximum: 65535 },
            serviceName: text(NAME_MAX_LENGTH, 1),
            entryPoint,
          },
        },
      },
    },
    async (request, reply): Promise<Service> => {
      const v = models.resolve(projectOf(request.query), request.params.name, selector(request.body.version));
      const service = await deployModel(
        { connection: deps.connection, services: deps.manager, blobs: deps.blobs, events },
        v,
        request.body,
      );
      events.publish({ type: 'serviceUpdated', service });
      changed(models.byId(v.modelId)!);
      void reply.code(201);
      return service;
    },
  );
}

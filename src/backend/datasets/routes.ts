import { randomUUID } from 'crypto';
import type { FastifyInstance } from 'fastify';
import type { AddDatasetRequest, Dataset, DatasetVersion } from '../../protocol/datasets';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { BlobStore } from '../files/blob-store';
import type { Logger } from '../log';
import type { ProjectRepository } from '../projects/repository';
import { addDataset } from './add';
import type { Operations } from './operations';
import type { DatasetRepository } from './repository';
import { lookupText, pathText, projectQuery, text, trueFalse } from '../http/schemas';
import { NAME_MAX_LENGTH } from '../../protocol/names';

export interface DatasetRouteDeps {
  readonly projects: ProjectRepository;
  readonly datasets: DatasetRepository;
  readonly blobs: BlobStore;
  readonly operations: Operations;
  readonly events: EventBus;
  readonly log: Logger;
  /** experiments that record a dataset version as input: deleting it needs `force` */
  readonly usersOf: (projectId: string, dataset: string, version: number) => { id: string; name: string }[];
}

const versionParams = {
  type: 'object',
  required: ['name', 'version'],
  properties: {
    name: lookupText,
    version: { type: 'string', pattern: '^([1-9][0-9]{0,8}|latest)$' },
  },
} as const;

type VersionRequest = {
  Params: { name: string; version: string };
  Querystring: { project?: string; force?: string };
};

const deleteQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { project: projectQuery.properties.project, force: trueFalse },
} as const;

export function registerDatasetRoutes(app: FastifyInstance, deps: DatasetRouteDeps): void {
  const { projects, datasets, operations, events } = deps;
  const projectOf = (project: string | undefined) => projects.resolveOrActive(project).id;
  const parseVersion = (v: string) => (v === 'latest' ? 'latest' : Number(v));

  app.get<{ Querystring: { project?: string } }>(
    '/api/datasets',
    { schema: { querystring: projectQuery } },
    async (request): Promise<Dataset[]> => datasets.list(projectOf(request.query.project)),
  );

  app.post<{ Body: AddDatasetRequest }>(
    '/api/datasets',
    {
      schema: {
        body: {
          type: 'object',
          required: ['path'],
          additionalProperties: false,
          properties: {
            path: pathText,
            name: text(NAME_MAX_LENGTH),
            description: text(10000),
            tags: { type: 'array', maxItems: 100, items: text(100, 1) },
            project: lookupText,
            operationId: { type: 'string', maxLength: 100, pattern: '^[A-Za-z0-9_-]{1,100}$' },
            operator: text(200, 1),
          },
        },
      },
    },
    async (request, reply): Promise<DatasetVersion> => {
      const projectId = projectOf(request.body.project);
      const operationId = request.body.operationId ?? randomUUID();
      const operation = operations.start(operationId);
      // a client that goes away (closed window, Ctrl+C, cancelled notification) cancels its add
      const onClose = () => {
        if (!reply.sent) {
          operations.cancel(operationId);
        }
      };
      request.raw.socket.once('close', onClose);
      try {
        const version = await addDataset(deps, projectId, request.body, operation.signal, (p) =>
          events.publish({ type: 'operationProgress', progress: { operationId, ...p } }),
        );
        events.publish({ type: 'datasetVersionAdded', version });
        void reply.code(201);
        return version;
      } finally {
        request.raw.socket.off('close', onClose);
        operation.done();
      }
    },
  );

  app.get<VersionRequest>(
    '/api/datasets/:name/versions/:version',
    { schema: { params: versionParams, querystring: projectQuery } },
    async (request): Promise<DatasetVersion> =>
      datasets.get(projectOf(request.query.project), request.params.name, parseVersion(request.params.version)),
  );

  app.delete<VersionRequest>(
    '/api/datasets/:name/versions/:version',
    { schema: { params: versionParams, querystring: deleteQuery } },
    async (request, reply): Promise<void> => {
      if (request.params.version === 'latest') {
        throw new ApiError(400, 'explicit_version', 'Name the version to delete, e.g. "iris:v2": "latest" is refused.');
      }
      const version = datasets.get(
        projectOf(request.query.project),
        request.params.name,
        Number(request.params.version),
      );
      const users = deps.usersOf(version.projectId, version.name, version.version);
      if (users.length > 0 && request.query.force !== 'true') {
        const names = users.map((u) => `${u.name} (${u.id})`).join(', ');
        throw new ApiError(
          409,
          'in_use',
          `${version.name}:v${version.version} is recorded as input by ${users.length === 1 ? 'experiment' : 'experiments'} ${names}: ` +
            'deleting it breaks their reproducibility. Delete anyway with force (mllab dataset rm --force).',
        );
      }
      await datasets.deleteVersion(version);
      events.publish({
        type: 'datasetVersionDeleted',
        projectId: version.projectId,
        name: version.name,
        version: version.version,
      });
      void reply.code(204);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/operations/:id/cancel',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: text(100, 1) } } } },
    async (request, reply) => {
      operations.cancel(request.params.id);
      void reply.code(202).send({ cancelled: true });
    },
  );
}

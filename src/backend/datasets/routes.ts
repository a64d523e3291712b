import { randomUUID } from 'crypto';
import type { FastifyInstance } from 'fastify';
import { datasetRoutes as routes } from '../../protocol/routes/datasets';
import { ApiError } from '../errors';
import type { EventBus } from '../events';
import type { BlobStore } from '../files/blob-store';
import type { Logger } from '../log';
import type { ProjectRepository } from '../projects/repository';
import { addDataset } from './add';
import type { Operations } from './operations';
import type { DatasetRepository } from './repository';
import { register } from '../http/register';

export interface DatasetRouteDeps {
  readonly projects: ProjectRepository;
  readonly datasets: DatasetRepository;
  readonly blobs: BlobStore;
  readonly operations: Operations;
  /** where an add publishes its progress */
  readonly events: EventBus;
  readonly log: Logger;
  /** experiments that record a dataset version as input: deleting it needs `force` */
  readonly usersOf: (projectId: string, dataset: string, version: number) => { id: string; name: string }[];
}

export function registerDatasetRoutes(app: FastifyInstance, deps: DatasetRouteDeps): void {
  const { projects, datasets, operations } = deps;
  const projectOf = (project: string | undefined) => projects.resolveOrActive(project).id;
  const parseVersion = (v: string) => (v === 'latest' ? 'latest' : Number(v));

  register(app, routes.list, async (request) => datasets.list(projectOf(request.query.project)));

  register(app, routes.add, async (request, reply) => {
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
      return await addDataset(deps, projectId, request.body, { id: operationId, signal: operation.signal });
    } finally {
      request.raw.socket.off('close', onClose);
      operation.done();
    }
  });

  register(app, routes.getVersion, async (request) =>
    datasets.get(projectOf(request.query.project), request.params.name, parseVersion(request.params.version)),
  );

  register(app, routes.deleteVersion, async (request) => {
    if (request.params.version === 'latest') {
      throw new ApiError(400, 'explicit_version', 'Name the version to delete, e.g. "iris:v2": "latest" is refused.');
    }
    const version = datasets.get(projectOf(request.query.project), request.params.name, Number(request.params.version));
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
  });

  register(app, routes.cancelOperation, async (request) => {
    operations.cancel(request.params.id);
    return { cancelled: true };
  });
}

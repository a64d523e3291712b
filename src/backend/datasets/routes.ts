import { randomUUID } from 'crypto';
import * as fs from 'fs';
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
import { requireMachineAccess } from '../http/machine-access';
import { identityOf } from '../http/server';
import { sendContent } from '../blobs/ranges';
import { mayKnowBlob, registerBlobRoutes } from '../blobs/routes';
import { BlobUploads } from '../blobs/uploads';
import { addUploadedDataset } from './add-uploaded';

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
    requireMachineAccess(
      request,
      `Adding a dataset from a path on the lab's machine (${request.body.path.slice(0, 200)})`,
      'run "mllab dataset add NAME PATH" on your own machine with MLLAB_URL set, which sends the file',
    );
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

  // content sent over the network: blobs by sha256, then the version made of one
  const blobDeps = {
    blobs: deps.blobs,
    uploads: new BlobUploads(deps.blobs, deps.log),
    projectsHolding: (sha256: string) => datasets.projectsHolding(sha256),
  };
  registerBlobRoutes(app, blobDeps);

  register(app, routes.addUploaded, async (request) =>
    addUploadedDataset(
      deps,
      projectOf(request.body.project),
      request.body,
      identityOf(request)?.name ?? 'unknown',
      // content of a project the sender cannot read is not theirs to add without sending it
      mayKnowBlob(request, blobDeps, request.body.sha256),
    ),
  );

  register(app, routes.content, async (request, reply) => {
    const version = datasets.get(
      projectOf(request.query.project),
      request.params.name,
      parseVersion(request.params.version),
    );
    const size = fs.statSync(version.path, { throwIfNoEntry: false })?.size;
    if (size === undefined) {
      throw new ApiError(
        500,
        'content_missing',
        `The stored content of ${version.name}:v${version.version} is missing from the lab's blob store: see the lab's log.`,
      );
    }
    sendContent(request, reply, { ...version, size });
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

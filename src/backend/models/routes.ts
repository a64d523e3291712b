import type { FastifyInstance } from 'fastify';
import type { Service } from '../../protocol/containers';
import type { ModelLineage, ModelVersion } from '../../protocol/models';
import { modelRoutes as routes } from '../../protocol/routes/models';
import { ApiError } from '../errors';
import type { BlobStore } from '../files/blob-store';
import type { ExperimentRepository } from '../experiments/repository';
import type { Logger } from '../log';
import type { ProjectRepository } from '../projects/repository';
import type { RuntimeConnection } from '../runtime/connection';
import type { Images } from '../runtime/images';
import type { ServiceManager } from '../services/manager';
import type { ServiceRepository } from '../services/repository';
import { deployModel, MODEL_VERSION_ENV, rollAliasDeployments } from './deploy';
import { registerModel } from './register';
import type { ModelRepository } from './repository';
import { register } from '../http/register';
import { modelPathOnMachine, requireMachineAccess } from '../http/machine-access';

export interface ModelRouteDeps {
  readonly projects: ProjectRepository;
  readonly models: ModelRepository;
  readonly experiments: ExperimentRepository;
  readonly blobs: BlobStore;
  readonly services: ServiceRepository;
  readonly manager: ServiceManager;
  readonly connection: RuntimeConnection;
  readonly images: Images;
  readonly log: Logger;
}

/** Services of a project deployed from a version, with their status. */
export function servicesOf(services: ServiceRepository, version: ModelVersion): Service[] {
  return services.list(version.projectId).filter((s) => s.env[MODEL_VERSION_ENV] === version.id);
}

const ACTIVE = new Set(['starting', 'running', 'healthy', 'unhealthy', 'unknown']);

export function registerModelRoutes(app: FastifyInstance, deps: ModelRouteDeps): void {
  const { projects, models } = deps;
  const projectOf = (q: { project?: string }) => projects.resolveOrActive(q.project).id;
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

  register(app, routes.list, async (request) => models.list(projectOf(request.query)));

  register(app, routes.register, async (request) => {
    const body = request.body;
    requireMachineAccess(
      request,
      modelPathOnMachine(body)
        ? `Registering a model from a path on the lab's machine (${body.path.slice(0, 200)})`
        : undefined,
      "register a file a run sent to the lab: its experiment id and the file's path inside the run",
    );
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
    return version;
  });

  register(app, routes.get, async (request) => models.get(projectOf(request.query), request.params.name));

  register(app, routes.update, async (request) =>
    models.update(models.get(projectOf(request.query), request.params.name), request.body),
  );

  register(app, routes.getVersion, async (request) => {
    const v = models.resolve(projectOf(request.query), request.params.name, selector(request.params.version));
    return {
      ...v,
      lineage: lineageOf(v),
      services: servicesOf(deps.services, v).map((s) => ({ name: s.name, status: s.status })),
    };
  });

  register(app, routes.deleteVersion, async (request) => {
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
  });

  register(app, routes.setAlias, async (request) => {
    const model = models.get(projectOf(request.query), request.params.name);
    const moved = await models.setAlias(model, request.params.alias, request.body.version);
    // deployments on a cluster that follow the alias roll to its version now
    const { connection, images, blobs } = deps;
    await rollAliasDeployments(
      { connection, images, services: deps.manager, blobs, models },
      moved,
      request.params.alias,
    );
    return models.byId(moved.id) ?? moved;
  });

  register(app, routes.removeAlias, async (request) => {
    const model = models.get(projectOf(request.query), request.params.name);
    return models.removeAlias(model, request.params.alias);
  });

  register(app, routes.deploy, async (request) => {
    const v = models.resolve(projectOf(request.query), request.params.name, selector(request.body.version));
    const { connection, images, blobs } = deps;
    // a deployment of an alias (not a number, v3 or latest) follows that alias on a cluster
    const asked = request.body.version;
    const alias = typeof asked === 'string' && !/^(v?[0-9]+|latest)$/i.test(asked) ? asked : undefined;
    return deployModel({ connection, images, services: deps.manager, blobs, models }, v, { ...request.body, alias });
  });
}

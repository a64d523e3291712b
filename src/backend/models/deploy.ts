import { createHash } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type { Service } from '../../protocol/containers';
import { MODEL_SERVER_IMAGE, MODEL_SERVER_PORT, type Model, type ModelVersion } from '../../protocol/models';
import type { Target } from '../../protocol/targets';
import { ApiError } from '../errors';
import type { BlobStore } from '../files/blob-store';
import type { RuntimeConnection } from '../runtime/connection';
import type { Images } from '../runtime/images';
import { checkImage } from '../runtime/parse';
import type { ServiceManager } from '../services/manager';
import { checkEntryPoint } from './register';
import type { ModelRepository } from './repository';

/** The environment variable that ties a service to the model version it serves. */
export const MODEL_VERSION_ENV = 'MLLAB_MODEL_VERSION_ID';
/** A deployment of an alias ("production") on a cluster: it rolls to the version the alias moves to. */
export const MODEL_ALIAS_ENV = 'MLLAB_MODEL_ALIAS';
/** The model a deployment serves (its id), and the model-server image its model images are made from. */
const MODEL_ID_ENV = 'MLLAB_MODEL_ID';
const MODEL_SERVER_ENV = 'MLLAB_MODEL_SERVER';
/** Where the model file appears inside the model server's container. */
const CONTAINER_MODEL_DIR = '/model';
const RECIPE_FILES = ['Dockerfile', 'server.py'] as const;

/**
 * The folder of the model-server recipe (resources/model-server): next to the bundle (dist/ ->
 * ../resources) or the compiled sources, found by walking up from this file.
 */
export function modelServerRecipe(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'resources', 'model-server');
    if (fs.existsSync(path.join(candidate, 'server.py'))) {
      return candidate;
    }
    if (path.dirname(dir) === dir) {
      throw new ApiError(
        500,
        'recipe_missing',
        'The model-server recipe (resources/model-server) is missing: reinstall ML Lab.',
      );
    }
  }
}

/** The image tag for a base image and the recipe: the same inputs give the same tag, so it is built once. */
export function modelServerTag(baseImage: string, recipe = modelServerRecipe()): string {
  const hash = createHash('sha256').update(baseImage);
  for (const f of RECIPE_FILES) {
    hash.update('\0').update(fs.readFileSync(path.join(recipe, f)));
  }
  return `${MODEL_SERVER_IMAGE}:${hash.digest('hex').slice(0, 16)}`;
}

/** A port on 127.0.0.1 nobody listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A service name from the model's: `iris-v2`. */
export function defaultServiceName(version: ModelVersion): string {
  return `${version.name}-v${version.version}`.replace(/[^\p{L}\p{N}._-]+/gu, '-').slice(0, 64);
}

export interface DeployDeps {
  readonly connection: RuntimeConnection;
  readonly images: Images;
  readonly services: ServiceManager;
  readonly blobs: BlobStore;
  readonly models: ModelRepository;
}

export interface DeployOptions {
  readonly baseImage: string;
  readonly port?: number;
  readonly serviceName?: string;
  readonly entryPoint?: string;
  readonly target?: string;
  readonly replicas?: number;
  readonly nodePort?: number;
  /** the alias the version was chosen by: a cluster deployment follows it */
  readonly alias?: string;
}

/** What the model server is told of the version it serves. */
function serverEnv(
  version: ModelVersion,
  modelPath: string,
  entryPoint: string | null | undefined,
): Record<string, string> {
  return {
    MODEL_PATH: modelPath,
    MODEL_NAME: version.name,
    MODEL_VERSION: String(version.version),
    ...(entryPoint ? { MODEL_ENTRY_POINT: entryPoint } : {}),
    [MODEL_VERSION_ENV]: version.id,
  };
}

function modelFileName(version: ModelVersion): string {
  return version.fileName.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '') || 'model';
}

/**
 * Builds the model-server image from the chosen base image when it does not exist yet (only local
 * images are needed), then runs it as a service: the model file mounted read-only, the port
 * published on 127.0.0.1, /health as the health path. The model is published again afterwards:
 * its page lists the services of its versions.
 */
export async function deployModel(deps: DeployDeps, version: ModelVersion, o: DeployOptions): Promise<Service> {
  const baseImage = checkImage(o.baseImage);
  const entryPoint = checkEntryPoint(o.entryPoint ?? version.entryPoint);
  deps.connection.requireAvailable();
  const runtime = deps.connection.runtime;
  if (!(await runtime.image(baseImage))) {
    throw new ApiError(
      400,
      'base_image_missing',
      `The base image "${baseImage}" is not present locally: build or pull it first, or choose another (setting mllab.models.baseImage, or --base-image). It needs python3, and scikit-learn to serve pickled estimators.`,
    );
  }
  const recipe = modelServerRecipe();
  const tag = modelServerTag(baseImage, recipe);
  // the target is checked before the image is built: a wrong name fails at once
  const cluster = deps.services.clusterTarget(version.projectId, o.target);
  if (!(await runtime.image(tag))) {
    await buildServerImage(deps, recipe, baseImage, tag);
  }
  if (cluster) {
    return deployOnCluster(deps, version, o, cluster, tag, entryPoint);
  }
  const modelPath = `${CONTAINER_MODEL_DIR}/${modelFileName(version)}`;
  const port = o.port ?? (await freePort());
  const service = await deps.services.deploy(version.projectId, {
    name: o.serviceName ?? defaultServiceName(version),
    image: tag,
    env: serverEnv(version, modelPath, entryPoint),
    ports: [{ hostIp: '127.0.0.1', hostPort: port, containerPort: MODEL_SERVER_PORT }],
    volumes: [{ hostPath: deps.blobs.pathOf(version.sha256), containerPath: modelPath, readOnly: true }],
    restart: 'no',
    healthPath: '/health',
    // the model file is readable by the lab's owner only (0400): the server runs as the owner
    ...(process.getuid && process.getgid ? { user: `${process.getuid()}:${process.getgid()}` } : {}),
  });
  deps.models.announce(version.modelId);
  return service;
}

/**
 * A deployment on a Swarm target: no node can mount the lab's model file, so the model goes into an
 * image of its own (the model server's, plus the file), which the service manager pushes to the
 * target's registry and pins by digest. Replicas publish the server's port on their node (host mode),
 * and the lab serves the deployment at 127.0.0.1:`port`, forwarding to the healthy replicas.
 */
async function deployOnCluster(
  deps: DeployDeps,
  version: ModelVersion,
  o: DeployOptions,
  target: Target,
  serverTag: string,
  entryPoint: string | null | undefined,
): Promise<Service> {
  const image = await modelImage(deps, version, serverTag);
  const service = await deps.services.deploy(version.projectId, {
    name: o.serviceName ?? defaultServiceName(version),
    image,
    env: {
      ...serverEnv(version, `${CONTAINER_MODEL_DIR}/${modelFileName(version)}`, entryPoint),
      [MODEL_ID_ENV]: version.modelId,
      [MODEL_SERVER_ENV]: serverTag,
      ...(o.alias ? { [MODEL_ALIAS_ENV]: o.alias.toLowerCase() } : {}),
    },
    ports: [{ hostIp: '0.0.0.0', hostPort: o.nodePort ?? MODEL_SERVER_PORT, containerPort: MODEL_SERVER_PORT }],
    restart: 'always',
    healthPath: '/health',
    target: target.name,
    replicas: o.replicas ?? 1,
    endpointPort: o.port ?? (await freePort()),
  });
  deps.models.announce(version.modelId);
  return service;
}

/**
 * After `alias` moved: every cluster deployment that follows it rolls to the version it names now
 * (one replica at a time, each new one health-gated; Swarm rolls back by itself when one fails).
 * Answers the deployments it started to roll.
 */
export async function rollAliasDeployments(deps: DeployDeps, model: Model, alias: string): Promise<Service[]> {
  const name = alias.toLowerCase();
  const followers = deps.services
    .list(model.projectId)
    .filter((s) => s.env[MODEL_ALIAS_ENV] === name && s.env[MODEL_ID_ENV] === model.id);
  if (followers.length === 0) {
    return [];
  }
  const version = deps.models.resolve(model.projectId, model.name, name);
  const rolled: Service[] = [];
  for (const s of followers) {
    if (s.env[MODEL_VERSION_ENV] === version.id) {
      continue;
    }
    const serverTag = s.env[MODEL_SERVER_ENV];
    const entryPoint = checkEntryPoint(version.entryPoint);
    const image = await modelImage(deps, version, serverTag);
    const env = {
      ...s.env,
      ...serverEnv(version, `${CONTAINER_MODEL_DIR}/${modelFileName(version)}`, entryPoint),
    };
    if (!entryPoint) {
      delete env.MODEL_ENTRY_POINT;
    }
    rolled.push(await deps.services.rollout(s, image, env));
  }
  deps.models.announce(model.id);
  return rolled;
}

/** The model server image with the version's model file in it (built once per file and server image). */
async function modelImage(deps: DeployDeps, version: ModelVersion, serverTag: string): Promise<string> {
  const tag = `mllab-model:${version.sha256.slice(0, 16)}-${serverTag.split(':')[1] ?? 'latest'}`;
  if (await deps.connection.runtime.image(tag)) {
    return tag;
  }
  if (!(await deps.connection.runtime.image(serverTag))) {
    throw new ApiError(
      409,
      'server_image_missing',
      `The model-server image ${serverTag} is gone from this machine: deploy the model again (it is built anew).`,
    );
  }
  const context = deps.blobs.tempPath('.model-image');
  fs.mkdirSync(context, { recursive: true });
  try {
    const fileName = modelFileName(version);
    fs.writeFileSync(
      path.join(context, 'Dockerfile'),
      `FROM ${serverTag}\nCOPY ${fileName} ${CONTAINER_MODEL_DIR}/${fileName}\n`,
    );
    fs.copyFileSync(deps.blobs.pathOf(version.sha256), path.join(context, fileName));
    // the blob is private to the lab's owner; the server's user (nobody) must read it in the image
    fs.chmodSync(path.join(context, fileName), 0o644);
    fs.chmodSync(path.join(context, 'Dockerfile'), 0o644);
    await deps.images.runBuild(context, tag, 'Dockerfile');
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  if (!(await deps.connection.runtime.image(tag))) {
    throw new ApiError(500, 'build_failed', `The model image ${tag} was not built: see the build output.`);
  }
  return tag;
}

/** Builds the recipe with its Dockerfile's BASE_IMAGE default set to the chosen base image. */
async function buildServerImage(deps: DeployDeps, recipe: string, baseImage: string, tag: string): Promise<void> {
  // the runtime's build takes no build arguments: the argument's default is written into a copy
  const context = deps.blobs.tempPath('.model-server');
  fs.mkdirSync(context, { recursive: true });
  try {
    const dockerfile = fs
      .readFileSync(path.join(recipe, 'Dockerfile'), 'utf8')
      .replace(/^ARG BASE_IMAGE(=.*)?$/m, `ARG BASE_IMAGE=${baseImage}`);
    fs.writeFileSync(path.join(context, 'Dockerfile'), dockerfile);
    fs.copyFileSync(path.join(recipe, 'server.py'), path.join(context, 'server.py'));
    // the backend's files are private (umask 077), but the image's user must be able to read these
    for (const f of RECIPE_FILES) {
      fs.chmodSync(path.join(context, f), 0o644);
    }
    await deps.images.runBuild(context, tag, 'Dockerfile');
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  if (!(await deps.connection.runtime.image(tag))) {
    throw new ApiError(500, 'build_failed', `The model-server image ${tag} was not built: see the build output.`);
  }
}

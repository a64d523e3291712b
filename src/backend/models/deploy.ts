import { createHash } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import type { Service } from '../../protocol/containers';
import { MODEL_SERVER_IMAGE, MODEL_SERVER_PORT, type ModelVersion } from '../../protocol/models';
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
  if (!(await runtime.image(tag))) {
    await buildServerImage(deps, recipe, baseImage, tag);
  }
  const fileName = version.fileName.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '') || 'model';
  const modelPath = `${CONTAINER_MODEL_DIR}/${fileName}`;
  const port = o.port ?? (await freePort());
  const service = await deps.services.deploy(version.projectId, {
    name: o.serviceName ?? defaultServiceName(version),
    image: tag,
    env: {
      MODEL_PATH: modelPath,
      MODEL_NAME: version.name,
      MODEL_VERSION: String(version.version),
      ...(entryPoint ? { MODEL_ENTRY_POINT: entryPoint } : {}),
      [MODEL_VERSION_ENV]: version.id,
    },
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

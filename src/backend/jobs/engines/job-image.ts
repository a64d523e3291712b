import { createHash } from 'crypto';
import type Docker from 'dockerode';
import * as fs from 'fs';
import * as path from 'path';
import type { Target } from '../../../protocol/targets';
import { imageOnEngine } from '../../runtime/cluster-image';
import { RuntimeError } from '../../runtime/errors';
import { pushToRegistry } from '../../runtime/registry-push';
import type { ContainerRuntime } from '../../runtime/runtime';
import { CONTAINER_PYTHON, CONTAINER_WORKSPACE, pythonClientFolder } from '../run-directory';
import { copyWorkspace } from './workspace-copy';

/** Where the layer's files are gathered for the build (removed after it). */
const contextOf = (home: string, runId: string) => path.join(home, 'jobs', runId, 'image');

export { MAX_WORKSPACE_BYTES } from './workspace-copy';

/** images already made for a base image with no workspace: the same bits, pushed (or built) once */
const made = new Map<string, string>();

/** What a job's image is made of. */
export interface JobImageOptions {
  readonly home: string;
  readonly runId: string;
  readonly jobName: string;
  readonly image: string;
  readonly workspace: string | null;
  readonly target: Target;
  /** the lab machine's engine: it holds (or pulls) the job's image */
  readonly local: ContainerRuntime;
  readonly localDocker: Docker;
}

/** `mllab-job/NAME`: the repository of a job's images */
const repositoryOf = (jobName: string) => `mllab-job/${jobName.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}`;

/**
 * Writes the build context of the job's layer into a fresh folder: a Dockerfile `FROM` the job's
 * image adding the Python client and the workspace (without what its .dockerignore excludes).
 * Answers the folder; the caller removes it.
 */
function writeContext(o: JobImageOptions, client: string | null): string {
  const context = contextOf(o.home, o.runId);
  fs.rmSync(context, { recursive: true, force: true });
  fs.mkdirSync(context, { recursive: true });
  try {
    const lines = [`FROM ${o.image}`];
    if (client) {
      fs.cpSync(path.join(client, 'mllab'), path.join(context, 'mllab'), {
        recursive: true,
        filter: (f) => !f.includes('__pycache__'),
      });
      lines.push(`COPY mllab ${CONTAINER_PYTHON}/mllab`);
    }
    if (o.workspace) {
      copyWorkspace(o.workspace, path.join(context, 'workspace'));
      lines.push(`COPY workspace ${CONTAINER_WORKSPACE}`);
    }
    fs.writeFileSync(path.join(context, 'Dockerfile'), lines.join('\n') + '\n');
    return context;
  } catch (e) {
    fs.rmSync(context, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The image a job runs on a cluster, whose nodes see neither this machine's files nor its image
 * store: the job's image plus one layer holding ML Lab's Python client (at /mllab/python) and the
 * job's workspace snapshot (at /workspace), built on the lab machine's engine, pushed to the target's
 * registry and referenced by digest (REGISTRY/mllab-job/NAME@sha256:...), so that every node runs
 * the same bits and the workspace is content-addressed by its layer. The client's files cost a few
 * hundred kilobytes once per registry; a job without a workspace reuses the image made for the same
 * base image. Simpler and sturdier than fetching the client and a tarball at the job's start: no
 * download tool, shell or Python is needed in the image to get them.
 */
export async function jobImageForCluster(options: JobImageOptions): Promise<string> {
  const { target, image, local } = options;
  if (!target.registry) {
    throw new RuntimeError(
      400,
      'no_registry',
      `The target "${target.name}" has no registry: its nodes cannot see this machine's images. Add the target again with a registry its nodes pull from (mllab target add ${target.name} ... --registry HOST:PORT).`,
    );
  }
  let base = await local.image(image);
  if (!base) {
    await local.pull(image); // image_not_found when it exists nowhere
    base = await local.image(image);
  }
  const client = pythonClientFolder();
  const key = `${target.registry}|${base?.id ?? image}|${client ?? ''}`;
  const known = options.workspace ? undefined : made.get(key);
  if (known) {
    return known;
  }
  const context = writeContext(options, client);
  try {
    const name = repositoryOf(options.jobName);
    const tag = createHash('sha256').update(key).update(options.runId).digest('hex').slice(0, 16);
    await local.build(context, `${name}:${tag}`, 'Dockerfile');
    const pushed = await pushToRegistry(options.localDocker, `${name}:${tag}`, target.registry, undefined, undefined, {
      name,
      tag,
    });
    // the local tag is only the push's source: the registry keeps the bits
    await local.removeImage(`${name}:${tag}`).catch(() => undefined);
    if (!options.workspace) {
      made.set(key, pushed.reference);
    }
    return pushed.reference;
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

/** The tags of images made for one run (removed with the run's container), not shared by runs. */
export const RUN_IMAGE_TAG = /^mllab-job\/[^:]+:run-[a-f0-9]+$/;

/**
 * The image a job runs on a plain remote engine that has no registry: the same layer as on a
 * cluster (the Python client and the workspace), built by that engine itself, from the job's image
 * sent to it once (cluster-image.ts imageOnEngine); only the small context travels per run. A job
 * without a workspace reuses the image made for the same base image (`mllab-job/NAME:base-...`,
 * made again when the engine lost it); one with a workspace gets `mllab-job/NAME:run-...`, removed
 * with its container.
 */
export async function jobImageOnEngine(
  options: JobImageOptions & { readonly engine: ContainerRuntime; readonly engineDocker: Docker },
): Promise<string> {
  const { target, engine } = options;
  // the image as the lab machine has it (the engine gets those bits), else as the engine has it
  const here = await options.local.image(options.image);
  const client = pythonClientFolder();
  const key = `${target.name}|${target.dockerHost ?? ''}|${here?.id ?? options.image}|${client ?? ''}`;
  const known = options.workspace ? undefined : made.get(key);
  if (known && (await engine.image(known))) {
    return known;
  }
  await imageOnEngine(options.localDocker, options.engineDocker, options.image, target.name);
  const context = writeContext(options, client);
  try {
    const hash = createHash('sha256')
      .update(key)
      .update(options.workspace ? options.runId : '');
    const tagged = `${repositoryOf(options.jobName)}:${options.workspace ? 'run' : 'base'}-${hash.digest('hex').slice(0, 16)}`;
    await engine.build(context, tagged, 'Dockerfile');
    if (!options.workspace) {
      made.set(key, tagged);
    }
    return tagged;
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
}

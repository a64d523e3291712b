import { createHash } from 'crypto';
import type Docker from 'dockerode';
import * as fs from 'fs';
import * as path from 'path';
import type { Target } from '../../../protocol/targets';
import { RuntimeError } from '../../runtime/errors';
import { pushToRegistry } from '../../runtime/registry-push';
import type { ContainerRuntime } from '../../runtime/runtime';
import { CONTAINER_PYTHON, CONTAINER_WORKSPACE, pythonClientFolder } from '../run-directory';

/** Where the layer's files are gathered for the build (removed after it). */
const contextOf = (home: string, runId: string) => path.join(home, 'jobs', runId, 'image');

/** a workspace copied into a job's image: larger ones belong in a dataset (mllab.dataset()) */
export const MAX_WORKSPACE_BYTES = 1024 ** 3;

/** images already made for a base image with no workspace: the same bits, pushed once */
const made = new Map<string, string>();

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
export async function jobImageForCluster(options: {
  readonly home: string;
  readonly runId: string;
  readonly jobName: string;
  readonly image: string;
  readonly workspace: string | null;
  readonly target: Target;
  /** the lab machine's engine: it holds (or pulls) the job's image, builds the layer and pushes */
  readonly local: ContainerRuntime;
  readonly localDocker: Docker;
}): Promise<string> {
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
  const context = contextOf(options.home, options.runId);
  fs.rmSync(context, { recursive: true, force: true });
  fs.mkdirSync(context, { recursive: true });
  try {
    const lines = [`FROM ${image}`];
    if (client) {
      fs.cpSync(path.join(client, 'mllab'), path.join(context, 'mllab'), {
        recursive: true,
        filter: (f) => !f.includes('__pycache__'),
      });
      lines.push(`COPY mllab ${CONTAINER_PYTHON}/mllab`);
    }
    if (options.workspace) {
      let bytes = 0;
      fs.cpSync(options.workspace, path.join(context, 'workspace'), {
        recursive: true,
        dereference: false,
        filter: (source) => {
          bytes += fs.lstatSync(source).size;
          if (bytes > MAX_WORKSPACE_BYTES) {
            throw new RuntimeError(
              400,
              'workspace_too_large',
              `The workspace ${options.workspace} holds more than ${MAX_WORKSPACE_BYTES / 1024 ** 3} GiB: a job on a cluster gets a copy of it in its image. Keep the data in a dataset (read with mllab.dataset()) and create the job from its code's folder.`,
            );
          }
          return true;
        },
      });
      lines.push(`COPY workspace ${CONTAINER_WORKSPACE}`);
    }
    fs.writeFileSync(path.join(context, 'Dockerfile'), lines.join('\n') + '\n');
    const name = `mllab-job/${options.jobName.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}`;
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

import type Docker from 'dockerode';
import type { Target } from '../../protocol/targets';
import type { HealthTool } from '../services/engine';
import { DockerDemux } from './demux';
import { imageNotFound, RuntimeError, translate } from './errors';
import { pushToRegistry } from './registry-push';
import type { PullProgress } from './runtime';

/**
 * The image a cluster's nodes run for `image`: an image of the lab machine's engine (built or
 * pulled here, which no node can see) is pushed to the target's registry and referenced by digest,
 * so that every node runs the same bits; a name already pinned by digest, or an image this machine
 * does not have (the nodes pull it from its own registry), is used as it is. A plain remote engine
 * without a registry (`engine`: its client) gets the image itself (imageOnEngine).
 */
export async function imageForTarget(
  local: Docker,
  target: Target,
  image: string,
  onProgress?: (p: PullProgress) => void,
  signal?: AbortSignal,
  engine?: Docker,
): Promise<string> {
  if (target.kind === 'docker' && !target.registry && engine) {
    return imageOnEngine(local, engine, image, target.name);
  }
  if (/@sha256:[a-f0-9]{64}$/.test(image) || !target.registry || !(await hasImage(local, image))) {
    return image;
  }
  return (await pushToRegistry(local, image, target.registry, onProgress, signal)).reference;
}

async function hasImage(docker: Docker, image: string): Promise<boolean> {
  return (await imageId(docker, image)) !== undefined;
}

/** The id (sha256 of its configuration: the same on every engine for the same bits), or undefined. */
async function imageId(docker: Docker, image: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(image).inspect()).Id;
  } catch {
    return undefined;
  }
}

/** Reads an engine's progress stream (a load, a pull) to its end; an `error` message in it fails. */
function followed(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (err) => (err ? reject(err) : resolve()),
      (p: { error?: string }) => {
        if (p.error) {
          reject(new Error(p.error));
        }
      },
    ),
  );
}

/**
 * Makes `image` present on a remote engine that has no registry between it and the lab machine,
 * with the same bits as here: an image of the lab machine is sent to it (`docker save` here, `docker
 * load` there, once: an image whose id is there already is only tagged); an image this machine
 * lacks is used as the engine has it, or pulled by the engine. Answers the name to run.
 */
export async function imageOnEngine(local: Docker, engine: Docker, image: string, targetName: string): Promise<string> {
  const what = `send the image ${image} to the target "${targetName}"`;
  const here = await imageId(local, image);
  const there = await imageId(engine, image).catch(() => undefined);
  if (here === undefined) {
    if (there !== undefined) {
      return image;
    }
    try {
      await followed(engine, (await engine.pull(image)) as NodeJS.ReadableStream);
    } catch (e) {
      const error = translate(e, `pull the image ${image} on the target "${targetName}"`);
      throw error.code === 'docker_unavailable' ? error : imageNotFound(image);
    }
    return image;
  }
  if (there === here) {
    return image;
  }
  try {
    if (!(await hasImage(engine, here))) {
      const tarball = (await local.getImage(image).get()) as NodeJS.ReadableStream;
      await followed(engine, (await engine.loadImage(tarball, { quiet: true })) as NodeJS.ReadableStream);
    }
    if ((await imageId(engine, image)) !== here) {
      // the bits were there under another name (or the name pointed at other bits): named anew
      const { repo, tag } = splitTag(image);
      await engine.getImage(here).tag({ repo, tag });
    }
  } catch (e) {
    throw translate(e, what);
  }
  if ((await imageId(engine, image)) !== here) {
    throw new RuntimeError(502, 'image_transfer', `Docker could not ${what}: the engine does not list it afterwards.`);
  }
  return image;
}

/** "reg:5000/a/b:v1" -> { repo: "reg:5000/a/b", tag: "v1" }; no tag -> latest. */
function splitTag(image: string): { repo: string; tag: string } {
  const colon = image.lastIndexOf(':');
  return colon > image.lastIndexOf('/')
    ? { repo: image.slice(0, colon), tag: image.slice(colon + 1) }
    : { repo: image, tag: 'latest' };
}

const toolsByImage = new Map<string, HealthTool>();
const TOOLS = ['python3', 'curl', 'wget'] as const;

/**
 * The tool an image has to ask its own health path with (a Swarm HealthCheck runs inside each
 * replica), found by running `sh` in it once on the lab machine's engine; null when the image is
 * not here, has no shell or none of the tools (the lab then polls the replicas itself).
 */
export async function healthToolOf(local: Docker, image: string): Promise<HealthTool> {
  let id: string;
  try {
    id = (await local.getImage(image).inspect()).Id;
  } catch {
    return null;
  }
  const known = toolsByImage.get(id);
  if (known !== undefined) {
    return known;
  }
  let tool: HealthTool = null;
  const container = await local
    .createContainer({
      Image: image,
      Entrypoint: ['sh', '-c'],
      Cmd: [`for t in ${TOOLS.join(' ')}; do command -v $t >/dev/null 2>&1 && echo $t && exit 0; done; exit 0`],
      User: '',
      HostConfig: { NetworkMode: 'none' },
    })
    .catch(() => undefined);
  if (container) {
    try {
      await container.start();
      await container.wait();
      const raw = (await container.logs({ stdout: true, stderr: false, follow: false })) as unknown as Buffer;
      const demux = new DockerDemux();
      const chunks: Buffer[] = [];
      demux.on('data', (c: Buffer) => chunks.push(c));
      await new Promise<void>((resolve) => demux.end(raw, resolve));
      const found = Buffer.concat(chunks).toString('utf8').trim();
      tool = (TOOLS as readonly string[]).includes(found) ? (found as HealthTool) : null;
    } catch {
      tool = null; // no shell: the lab polls
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }
  toolsByImage.set(id, tool);
  return tool;
}

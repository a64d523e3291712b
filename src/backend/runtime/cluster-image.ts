import type Docker from 'dockerode';
import type { Target } from '../../protocol/targets';
import type { HealthTool } from '../services/engine';
import { DockerDemux } from './demux';
import { pushToRegistry } from './registry-push';
import type { PullProgress } from './runtime';

/**
 * The image a cluster's nodes run for `image`: an image of the lab machine's engine (built or
 * pulled here, which no node can see) is pushed to the target's registry and referenced by digest,
 * so that every node runs the same bits; a name already pinned by digest, or an image this machine
 * does not have (the nodes pull it from its own registry), is used as it is.
 */
export async function imageForTarget(
  local: Docker,
  target: Target,
  image: string,
  onProgress?: (p: PullProgress) => void,
  signal?: AbortSignal,
): Promise<string> {
  if (/@sha256:[a-f0-9]{64}$/.test(image) || !target.registry || !(await hasImage(local, image))) {
    return image;
  }
  return (await pushToRegistry(local, image, target.registry, onProgress, signal)).reference;
}

async function hasImage(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch {
    return false;
  }
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

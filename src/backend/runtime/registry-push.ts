import type Docker from 'dockerode';
import type { Readable } from 'stream';
import { ApiError } from '../errors';
import { cancelled, engineMessage, RuntimeError, translate } from './errors';
import { checkImage } from './parse';
import type { PullProgress } from './runtime';

/** What a push left in the registry: the name every node pulls, pinned to the pushed bits. */
export interface PushedImage {
  /** REGISTRY/NAME@sha256:...: what services and jobs on a cluster reference */
  readonly reference: string;
  /** sha256:... of the manifest the registry stored */
  readonly digest: string;
  /** REGISTRY/NAME:TAG, the tag that was pushed (for people and `docker pull`) */
  readonly tagged: string;
}

export interface PushOptions {
  /** the repository name in the registry; default: the local image's, without its registry host */
  readonly name?: string;
  /** the tag pushed; default: the local image's (or "latest") */
  readonly tag?: string;
  /** credentials for registries that ask for them (base64 JSON of the X-Registry-Auth header) */
  readonly auth?: Docker.AuthConfig;
}

/** Progress messages of a push as the engine streams them (one per layer step, plus `aux` at the end). */
interface PushMessage {
  readonly id?: string;
  readonly status?: string;
  readonly error?: string;
  readonly errorDetail?: { message?: string };
  readonly progressDetail?: { current?: number; total?: number };
  readonly aux?: { Tag?: string; Digest?: string; Size?: number };
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** "reg:5000/team/model:v2" -> { name: "team/model", tag: "v2" } (the registry host dropped). */
export function splitImage(image: string): { name: string; tag: string } {
  const noDigest = image.replace(/@sha256:[a-f0-9]{64}$/, '');
  const slash = noDigest.indexOf('/');
  const first = slash > 0 ? noDigest.slice(0, slash) : '';
  // Docker's rule: a first component with a "." or ":" or "localhost" is a registry host
  const path = /[.:]/.test(first) || first === 'localhost' ? noDigest.slice(slash + 1) : noDigest;
  const colon = path.lastIndexOf(':');
  return colon > 0 ? { name: path.slice(0, colon), tag: path.slice(colon + 1) } : { name: path, tag: 'latest' };
}

/** "host:port" or "host:port/prefix", checked: no scheme, no trailing slash. */
export function checkRegistry(registry: string): string {
  const r = registry.trim().replace(/\/+$/, '');
  if (!/^[a-zA-Z0-9.-]+(?::[0-9]+)?(?:\/[a-z0-9._/-]+)?$/.test(r)) {
    throw new ApiError(
      400,
      'invalid_registry',
      `"${registry}" is not a registry address: write it as HOST:PORT or HOST:PORT/PREFIX (e.g. registry.lan:5000/team), without http://.`,
    );
  }
  return r;
}

const refused = (registry: string, image: string, detail: string) =>
  new RuntimeError(
    502,
    'registry_refused',
    `The registry ${registry} refused the push of ${image}: ${detail}. Check that the registry runs at that address and accepts pushes from this machine (the target's registry setting).`,
  );

/**
 * Tags a local image into a registry and pushes it with `docker.getImage(..).push`, reporting
 * progress as a pull does (layers, bytes). The digest is the one the engine's last message (`aux`)
 * names, which is the manifest digest the registry stored; every node that pulls
 * REGISTRY/NAME@DIGEST runs the same bits, whatever the tag points to later. `docker` is the engine
 * that holds the local image (it does the push). Aborting `signal` stops the push.
 */
export async function pushToRegistry(
  docker: Docker,
  localImage: string,
  registry: string,
  onProgress?: (p: PullProgress) => void,
  signal?: AbortSignal,
  options: PushOptions = {},
): Promise<PushedImage> {
  checkImage(localImage);
  const reg = checkRegistry(registry);
  const split = splitImage(localImage);
  const name = options.name ?? split.name;
  const tag = options.tag ?? split.tag;
  const repo = `${reg}/${name}`;
  const tagged = `${repo}:${tag}`;
  checkImage(tagged);
  try {
    await docker.getImage(localImage).tag({ repo, tag });
  } catch (e) {
    const err = translate(e, `tag the image ${localImage} as ${tagged}`);
    throw err.statusCode === 404
      ? new RuntimeError(404, 'image_missing', `The image ${localImage} is not present locally: build it first.`)
      : err;
  }
  let digest: string | undefined;
  try {
    const stream = (await docker
      .getImage(tagged)
      .push({ tag, authconfig: options.auth, abortSignal: signal } as Docker.ImagePushOptions)) as Readable;
    const layers = new Map<string, { current: number; total: number }>();
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(
        stream,
        (err) => (err ? reject(err) : resolve()),
        (m: PushMessage) => {
          if (m.error) {
            reject(refused(reg, localImage, m.errorDetail?.message ?? m.error));
            return;
          }
          if (m.aux?.Digest) {
            digest = m.aux.Digest;
          }
          if (m.id && m.progressDetail?.total) {
            layers.set(m.id, { current: m.progressDetail.current ?? 0, total: m.progressDetail.total });
          } else if (m.id && /Pushed|already exists/.test(m.status ?? '')) {
            const l = layers.get(m.id);
            layers.set(m.id, { current: l?.total ?? 0, total: l?.total ?? 0 });
          }
          const all = [...layers.values()];
          onProgress?.({
            layers: layers.size,
            currentBytes: all.reduce((s, l) => s + l.current, 0),
            totalBytes: all.reduce((s, l) => s + l.total, 0),
            status: m.status ?? '',
          });
        },
      ),
    );
  } catch (e) {
    if (signal?.aborted) {
      throw cancelled(`push ${localImage} to ${reg}`);
    }
    if (e instanceof RuntimeError && e.code !== 'docker_error') {
      throw e;
    }
    throw e instanceof RuntimeError ? e : refused(reg, localImage, engineMessage(e));
  }
  if (!digest || !DIGEST.test(digest)) {
    digest = await manifestDigest(reg, name, tag);
  }
  return { reference: `${repo}@${digest}`, digest, tagged };
}

/**
 * The digest of REGISTRY/NAME:TAG from the registry's manifest (HEAD, Docker-Content-Digest), for
 * engines whose push does not end with an `aux` message. Registries on loopback speak plain HTTP
 * (as Docker assumes for them); others HTTPS.
 */
export async function manifestDigest(registry: string, name: string, tag: string): Promise<string> {
  const host = registry.split('/')[0];
  const path = registry.slice(host.length + 1);
  const scheme = /^(127\.|localhost(:|$)|\[::1\])/.test(host) ? 'http' : 'https';
  const url = `${scheme}://${host}/v2/${path ? `${path}/` : ''}${name}/manifests/${tag}`;
  const accept = [
    'application/vnd.docker.distribution.manifest.v2+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.oci.image.index.v1+json',
  ].join(', ');
  let res: Response;
  try {
    res = await fetch(url, { method: 'HEAD', headers: { accept } });
  } catch (e) {
    throw refused(registry, `${name}:${tag}`, `its manifest could not be read (${(e as Error).message})`);
  }
  const digest = res.headers.get('docker-content-digest') ?? '';
  if (!res.ok || !DIGEST.test(digest)) {
    throw refused(registry, `${name}:${tag}`, `its manifest answered ${res.status} without a digest`);
  }
  return digest;
}

import Docker from 'dockerode';
import * as fs from 'fs';
import * as path from 'path';
import type { Readable } from 'stream';
import { demuxed, DockerDemux } from './demux';
import type { TargetTls } from '../../protocol/targets';
import { dockerOptions } from './docker-host';
import { cancelled, imageNotFound, RuntimeError, translate } from './errors';
import type {
  ContainerEvent,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ContainerState,
  EventSubscription,
  ImageInfo,
  PullProgress,
} from './runtime';

export interface DockerRuntimeOptions {
  /** unix:///..., tcp://..., ssh://...; undefined = MLLAB_DOCKER_HOST, then DOCKER_HOST, then the default socket */
  readonly host?: string;
  /** TLS client files for a tcp:// host (a target's); none = plain TCP, or dockerode's DOCKER_TLS_VERIFY handling */
  readonly tls?: TargetTls | null;
  /** time limit of one API call (streams excepted) */
  readonly callTimeoutMs?: number;
  /** time limit of a pull or a build */
  readonly longTimeoutMs?: number;
}

const ACTIONS = new Set(['create', 'start', 'die', 'stop', 'kill', 'oom', 'destroy', 'restart']);

/** The files under `dir`, relative, with "/" separators. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await fs.promises.readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      files.push(...(await listFiles(dir, rel)));
    } else {
      files.push(rel);
    }
  }
  return files;
}

function labelFilter(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`);
}

function toInfo(c: Docker.ContainerInspectInfo): ContainerInfo {
  const s = c.State;
  const time = (t: string | undefined) => (t && !t.startsWith('0001-') ? t : null);
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    image: c.Config.Image,
    state: s.Status as ContainerState,
    exitCode: s.Status === 'exited' || s.Status === 'dead' ? s.ExitCode : null,
    error: s.Error ?? '',
    oomKilled: s.OOMKilled,
    startedAt: time(s.StartedAt),
    finishedAt: time(s.FinishedAt),
    restartCount: c.RestartCount ?? 0,
    labels: c.Config.Labels ?? {},
  };
}

/** The ContainerRuntime of a Docker Engine, on dockerode. */
export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;
  private readonly callMs: number;
  private readonly longMs: number;

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker = new Docker(
      dockerOptions(options.host ?? process.env.MLLAB_DOCKER_HOST ?? process.env.DOCKER_HOST, options.tls),
    );
    this.callMs = options.callTimeoutMs ?? 30_000;
    this.longMs = options.longTimeoutMs ?? 30 * 60_000;
  }

  /** The engine's dockerode client, for what lies beyond containers (Swarm nodes, services, tasks). */
  get client(): Docker {
    return this.docker;
  }

  /**
   * Runs one API call with a time limit and a person-readable error; with a `signal`, it fails at
   * once with `cancelled` when the signal aborts (`fn` hands the signal to dockerode, which closes
   * the engine's request).
   */
  private async call<T>(what: string, fn: () => Promise<T>, ms = this.callMs, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) {
      throw cancelled(what);
    }
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(cancelled(what));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RuntimeError(
              504,
              'docker_timeout',
              `Docker did not answer within ${ms / 1000} s when asked to ${what}.`,
            ),
          ),
        ms,
      );
    });
    try {
      return await Promise.race(signal ? [fn(), timeout, aborted] : [fn(), timeout]);
    } catch (e) {
      throw signal?.aborted ? cancelled(what) : translate(e, what);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort!);
    }
  }

  async ping(): Promise<string> {
    const v = await this.call('report its version', () => this.docker.version(), 5000);
    return `Docker Engine ${v.Version} (API ${v.ApiVersion})`;
  }

  async create(spec: ContainerSpec): Promise<string> {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of spec.ports) {
      const key = `${p.containerPort}/tcp`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    }
    const container = await this.call('create the container', () =>
      this.docker.createContainer({
        name: spec.name,
        Hostname: spec.hostname,
        Image: spec.image,
        User: spec.user,
        Cmd: spec.command.length > 0 ? [...spec.command] : undefined,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        WorkingDir: spec.workingDir ?? undefined,
        Labels: { ...spec.labels },
        ExposedPorts: exposed,
        Tty: false,
        HostConfig: {
          Binds: spec.mounts.map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`),
          PortBindings: bindings,
          ...(spec.network ? { NetworkMode: spec.network } : {}),
          NanoCpus: spec.cpus === null ? undefined : Math.round(spec.cpus * 1e9),
          Memory: spec.memoryBytes ?? undefined,
          RestartPolicy: { Name: spec.restart === 'no' ? '' : spec.restart },
          // the `local` log driver (compact binary records) keeps the output readable after a
          // backend restart, like json-file, at less cost per line than JSON escaping
          LogConfig: { Type: 'local', Config: {} },
          DeviceRequests:
            spec.gpus === 0 ? undefined : [{ Driver: '', Count: spec.gpus, Capabilities: [['gpu']], Options: {} }],
        },
      }),
    );
    return container.id;
  }

  async start(id: string): Promise<void> {
    await this.call('start the container', () => this.docker.getContainer(id).start());
  }

  async stop(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.call(
        'stop the container',
        () => this.docker.getContainer(id).stop({ t: graceSeconds }),
        this.callMs + graceSeconds * 1000,
      );
    } catch (e) {
      // 304: already stopped, which is what was asked
      if (
        (e as RuntimeError).message.includes('already stopped') ||
        (e as { statusCode?: number }).statusCode === 304
      ) {
        return;
      }
      throw e;
    }
  }

  async restart(id: string, graceSeconds: number): Promise<void> {
    await this.call(
      'restart the container',
      () => this.docker.getContainer(id).restart({ t: graceSeconds }),
      this.callMs + graceSeconds * 1000,
    );
  }

  async remove(id: string): Promise<void> {
    await this.call('remove the container', async () => {
      try {
        await this.docker.getContainer(id).remove({ force: true });
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 404) {
          throw e;
        }
      }
    });
  }

  async inspect(id: string): Promise<ContainerInfo | undefined> {
    return this.call('inspect the container', async () => {
      try {
        return toInfo(await this.docker.getContainer(id).inspect());
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) {
          return undefined;
        }
        throw e;
      }
    });
  }

  async list(labels: Readonly<Record<string, string>>): Promise<ContainerInfo[]> {
    const summaries = await this.call('list the containers', () =>
      this.docker.listContainers({ all: true, filters: { label: labelFilter(labels) } }),
    );
    const infos = await Promise.all(summaries.map((s) => this.inspect(s.Id)));
    return infos.filter((i): i is ContainerInfo => i !== undefined);
  }

  async logs(id: string, follow: boolean, signal?: AbortSignal): Promise<Readable> {
    // dockerode answers a stream when following, and the whole output as one Buffer otherwise
    const container = this.docker.getContainer(id);
    const options = { stdout: true, stderr: true, abortSignal: signal };
    const raw = await this.call<NodeJS.ReadableStream | Buffer>(
      'read the container output',
      () => (follow ? container.logs({ ...options, follow: true }) : container.logs({ ...options, follow: false })),
      this.callMs,
      signal,
    );
    return demuxed(raw);
  }

  async attach(id: string): Promise<Readable> {
    const raw = await this.call('attach to the container output', () =>
      this.docker.getContainer(id).attach({ stream: true, stdout: true, stderr: true }),
    );
    const demux = new DockerDemux();
    raw.on('error', (e: Error) => demux.destroy(e));
    return raw.pipe(demux);
  }

  async events(
    labels: Readonly<Record<string, string>>,
    onEvent: (e: ContainerEvent) => void,
  ): Promise<EventSubscription> {
    const stream = (await this.call('stream its events', () =>
      this.docker.getEvents({ filters: { type: ['container'], label: labelFilter(labels) } }),
    )) as Readable;
    let rest = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') {
          continue;
        }
        const e = JSON.parse(line) as { Action: string; Actor: { ID: string; Attributes: Record<string, string> } };
        const action = e.Action.split(':')[0];
        const attrs = e.Actor.Attributes ?? {};
        onEvent({
          containerId: e.Actor.ID,
          action: (ACTIONS.has(action) ? action : 'other') as ContainerEvent['action'],
          exitCode: attrs.exitCode === undefined ? null : Number(attrs.exitCode),
          labels: attrs,
        });
      }
    });
    const ended = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    return { ended, close: () => stream.destroy() };
  }

  async image(name: string): Promise<ImageInfo | undefined> {
    return this.call('inspect the image', async () => {
      try {
        const i = await this.docker.getImage(name).inspect();
        return { id: i.Id, tags: i.RepoTags ?? [], sizeBytes: i.Size };
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) {
          return undefined;
        }
        throw e;
      }
    });
  }

  async images(): Promise<ImageInfo[]> {
    return this.call('list the images', async () => {
      const all = await this.docker.listImages();
      return all
        .map((i) => ({
          id: i.Id,
          tags: (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
          sizeBytes: i.Size,
        }))
        .filter((i) => i.tags.length > 0)
        .sort((a, b) => b.sizeBytes - a.sizeBytes);
    });
  }

  async pull(name: string, onProgress?: (p: PullProgress) => void, signal?: AbortSignal): Promise<void> {
    try {
      await this.call(
        `pull the image ${name}`,
        async () => {
          const stream = (await this.docker.pull(name, { abortSignal: signal })) as Readable;
          const layers = new Map<string, { current: number; total: number }>();
          await new Promise<void>((resolve, reject) =>
            this.docker.modem.followProgress(
              stream,
              (err) => (err ? reject(err) : resolve()),
              (p: {
                id?: string;
                status?: string;
                error?: string;
                progressDetail?: { current?: number; total?: number };
              }) => {
                if (p.error) {
                  reject(new Error(p.error));
                  return;
                }
                if (p.id && p.progressDetail?.total) {
                  layers.set(p.id, { current: p.progressDetail.current ?? 0, total: p.progressDetail.total });
                }
                const all = [...layers.values()];
                onProgress?.({
                  layers: layers.size,
                  currentBytes: all.reduce((s, l) => s + l.current, 0),
                  totalBytes: all.reduce((s, l) => s + l.total, 0),
                  status: p.status ?? '',
                });
              },
            ),
          );
        },
        this.longMs,
        signal,
      );
    } catch (e) {
      if (e instanceof RuntimeError && (e.code === 'docker_unavailable' || e.code === 'cancelled')) {
        throw e;
      }
      throw imageNotFound(name);
    }
  }

  async removeImage(name: string): Promise<void> {
    await this.call(`remove the image ${name}`, () => this.docker.getImage(name).remove());
  }

  async build(
    contextDir: string,
    tag: string,
    dockerfile: string,
    onOutput?: (line: string) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.call(
      `build the image ${tag}`,
      async () => {
        // every file is listed: dockerode applies .dockerignore to the listed entries only
        const src = await listFiles(contextDir);
        // closing the build's request makes the engine stop the build (and its step's container)
        const stream = await this.docker.buildImage(
          { context: contextDir, src },
          { t: tag, dockerfile, abortSignal: signal },
        );
        await new Promise<void>((resolve, reject) =>
          this.docker.modem.followProgress(
            stream,
            (err) => (err ? reject(err) : resolve()),
            (p: { stream?: string; error?: string }) => {
              if (p.error) {
                reject(new Error(p.error));
              } else if (p.stream) {
                onOutput?.(p.stream.replace(/\n$/, ''));
              }
            },
          ),
        );
      },
      this.longMs,
      signal,
    );
  }
}

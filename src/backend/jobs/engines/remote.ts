import type { Readable } from 'stream';
import { RuntimeConnection } from '../../runtime/connection';
import { imageNotFound, RuntimeError, translate } from '../../runtime/errors';
import { LABELS, type ContainerRuntime } from '../../runtime/runtime';
import type { EngineEnd, EngineObserver, EngineRun, EngineRunInfo, JobEngine, SubmitHooks } from '../engine';
import { CONTAINER_WORKSPACE } from '../run-directory';
import { containerEnd, containerRun, isMissingImage } from './container';
import { jobImageForCluster, jobImageOnEngine, RUN_IMAGE_TAG } from './job-image';
import { labEnv } from './lab-env';
import { SECRET_DIR, secretArchive } from './secret-files';
import type { LabAccess, TargetEngineDeps } from './swarm';

export interface RemoteEngineDeps extends TargetEngineDeps {
  /** the target's engine */
  readonly runtime: ContainerRuntime;
  /** how often the engine is pinged while it answers (a machine or network that goes ends no stream) */
  readonly heartbeatMs?: number;
}

/** how long a first use waits for the engine's first answer before saying it does not answer */
const FIRST_ANSWER_MS = 8000;

/**
 * Jobs on a Docker Engine of another machine (tcp:// with or without TLS, ssh://): the same as on the
 * lab machine's engine (one container per run, its end from the engine's `die` events, its output
 * attached before it starts, containers found again by their labels), minus the mounts. The job's
 * image carries the Python client and the workspace as on a cluster: built by the engine itself from
 * the job's image sent to it once, or pushed to the target's registry when it names one
 * (job-image.ts). The run reaches the lab by URL on the machine's own network, with its token and
 * the lab's certificate put as files into the container before it starts. An engine that stops
 * answering (its stream ends, or a ping fails) makes its runs lost until it answers again.
 */
export class RemoteEngine implements JobEngine {
  readonly outputEndsWithRun = true;
  readonly sharesRunDirectory = false;
  private readonly connection: RuntimeConnection;
  private first: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RemoteEngineDeps) {
    this.connection = new RuntimeConnection(deps.runtime, this.labels, deps.log, undefined, deps.heartbeatMs ?? 5000);
  }

  get target(): string {
    return this.deps.target.name;
  }

  private get labels() {
    return { [LABELS.home]: this.deps.home, [LABELS.kind]: 'job' };
  }

  requireAvailable(): void {
    if (!this.connection.status.available) {
      throw new RuntimeError(
        503,
        'target_unavailable',
        `The target "${this.target}" does not answer: ${this.connection.status.message}`,
      );
    }
  }

  owns(ref: string): boolean {
    return ref.startsWith(`${this.target}:`);
  }

  private containerId(ref: string): string {
    return ref.slice(this.target.length + 1);
  }

  private refOf(containerId: string): string {
    return `${this.target}:${containerId}`;
  }

  observe(observer: EngineObserver): void {
    this.connection.listen({
      onAvailable: () => observer.available(),
      onUnavailable: () =>
        observer.unavailable(
          `The target "${this.target}" stopped answering: its runs are lost until it answers again.`,
        ),
      onEvent: (e) => {
        const runId = e.labels[LABELS.id];
        if (e.action === 'die' && e.labels[LABELS.kind] === 'job' && runId) {
          observer.ended(runId, this.refOf(e.containerId), e.exitCode);
        }
      },
    });
    this.first = this.connection.start(FIRST_ANSWER_MS);
  }

  ready(): Promise<void> {
    return this.first;
  }

  async submit(run: EngineRun, hooks: SubmitHooks): Promise<{ ref: string; running: boolean }> {
    const spec = run.job.spec;
    const imageOptions = {
      ...this.deps,
      runId: run.runId,
      jobName: spec.name,
      image: spec.image,
      workspace: run.workspace,
    };
    // the image and the run's token at once; both settled before a failure is thrown, so that a
    // token made for a run that does not start is revoked with it (the lifecycle revokes at the end)
    const [built, granted] = await Promise.allSettled([
      this.deps.target.registry
        ? jobImageForCluster(imageOptions)
        : jobImageOnEngine({ ...imageOptions, engine: this.deps.runtime, engineDocker: this.deps.docker }),
      this.deps.access(run),
    ]);
    if (built.status === 'rejected') {
      throw built.reason;
    }
    if (granted.status === 'rejected') {
      if (RUN_IMAGE_TAG.test(built.value)) {
        await this.deps.runtime.removeImage(built.value).catch(() => undefined);
      }
      throw granted.reason;
    }
    const [image, access] = [built.value, granted.value];
    const id = await this.create(run, image, access).catch(async (e: unknown) => {
      if (!isMissingImage(e)) {
        throw e;
      }
      // pushed to the target's registry: the engine pulls it by digest
      await this.deps.runtime.pull(image).catch(() => {
        throw imageNotFound(image);
      });
      return this.create(run, image, access);
    });
    const ref = this.refOf(id);
    hooks.created(ref);
    try {
      const files = { token: access.token, ...(access.ca ? { ca: access.ca } : {}) };
      const [, output] = await Promise.all([
        secretArchive(files).then((tar) =>
          this.deps.docker
            .getContainer(id)
            .putArchive(tar, { path: '/' })
            .catch((e: unknown) => {
              throw translate(e, `give the job its token on the target "${this.target}"`);
            }),
        ),
        // attached before the start, so that the first line is not missed
        this.deps.runtime.attach(id),
      ]);
      hooks.output(output);
      await this.deps.runtime.start(id);
    } catch (e) {
      await this.deps.runtime.remove(id).catch(() => undefined);
      throw e;
    }
    return { ref, running: true };
  }

  private create(run: EngineRun, image: string, access: LabAccess): Promise<string> {
    const { job, runId, workspace } = run;
    const spec = job.spec;
    return this.deps.runtime.create({
      hostname: `job-${runId.slice(0, 8)}`,
      image,
      command: spec.command,
      env: labEnv(run, access, { token: `${SECRET_DIR}/token`, ca: access.ca ? `${SECRET_DIR}/ca` : null }),
      workingDir: spec.workingDir ?? (workspace ? CONTAINER_WORKSPACE : null),
      labels: { ...this.labels, [LABELS.project]: job.projectId, [LABELS.id]: runId },
      mounts: [],
      ports: [],
      cpus: spec.cpus,
      memoryBytes: spec.memoryBytes,
      gpus: spec.gpus,
      restart: 'no',
      // the machine's own network: the lab is reached at the URL that machine knows it by
      network: 'host',
    });
  }

  logs(ref: string, follow: boolean): Promise<Readable> {
    return this.deps.runtime.logs(this.containerId(ref), follow);
  }

  stop(ref: string, graceSeconds: number): Promise<void> {
    return this.deps.runtime.stop(this.containerId(ref), graceSeconds);
  }

  async ended(ref: string): Promise<EngineEnd | undefined> {
    const info = await this.deps.runtime.inspect(this.containerId(ref)).catch(() => undefined);
    return info && containerEnd(info);
  }

  /** The container goes, and the image made for this run alone (its workspace) with it. */
  async release(ref: string): Promise<void> {
    const info = await this.deps.runtime.inspect(this.containerId(ref)).catch(() => undefined);
    await this.deps.runtime.remove(this.containerId(ref)).catch(() => undefined);
    if (info && RUN_IMAGE_TAG.test(info.image)) {
      await this.deps.runtime.removeImage(info.image).catch(() => undefined);
    }
  }

  async list(): Promise<EngineRunInfo[]> {
    const containers = await this.deps.runtime.list(this.labels);
    return containers.map((c) => containerRun(c, this.refOf(c.id)));
  }

  close(): void {
    this.connection.close();
  }
}

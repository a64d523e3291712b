import type { Readable } from 'stream';
import { LOCAL_TARGET } from '../../../protocol/targets';
import type { Logger } from '../../log';
import type { RuntimeConnection } from '../../runtime/connection';
import { imageNotFound, RuntimeError } from '../../runtime/errors';
import { LABELS, type ContainerInfo, type ContainerRuntime } from '../../runtime/runtime';
import type { EngineEnd, EngineObserver, EngineRun, EngineRunInfo, JobEngine, SubmitHooks } from '../engine';
import {
  CONTAINER_HOME,
  CONTAINER_RUN_DIR,
  CONTAINER_WORKSPACE,
  containerHostname,
  type DatasetBlob,
  gatherJobBlobs,
  JOB_DATASETS_ENV,
  pythonClientMount,
} from '../run-directory';

export const isMissingImage = (e: unknown) => e instanceof RuntimeError && e.code === 'image_missing';

export interface ContainerEngineDeps {
  readonly home: string;
  readonly connection: RuntimeConnection;
  readonly log: Logger;
  /** the dataset versions of a project, which its jobs may read (none when absent) */
  readonly datasetBlobs?: (projectId: string) => readonly DatasetBlob[];
}

/**
 * Jobs as containers of the lab machine's Docker Engine: the run directory, the workspace, the
 * dataset blobs and the Python client are mounted from this machine; the end comes from the engine's
 * `die` events, and the containers are found again by their labels.
 */
export class ContainerEngine implements JobEngine {
  readonly target = LOCAL_TARGET;
  readonly outputEndsWithRun = true;
  readonly sharesRunDirectory = true;
  private readonly runtime: ContainerRuntime;

  constructor(private readonly deps: ContainerEngineDeps) {
    this.runtime = deps.connection.runtime;
  }

  private get labels() {
    return { [LABELS.home]: this.deps.home, [LABELS.kind]: 'job' };
  }

  requireAvailable(): void {
    this.deps.connection.requireAvailable();
  }

  /** container ids are hexadecimal: other targets' references carry their name and a colon */
  owns(ref: string): boolean {
    return !ref.includes(':');
  }

  observe(observer: EngineObserver): void {
    this.deps.connection.listen({
      onAvailable: () => observer.available(),
      onUnavailable: (reason) => observer.unavailable(reason),
      onEvent: (e) => {
        const runId = e.labels[LABELS.id];
        if (e.action === 'die' && e.labels[LABELS.kind] === 'job' && runId) {
          observer.ended(runId, e.containerId, e.exitCode);
        }
      },
    });
  }

  async submit(run: EngineRun, hooks: SubmitHooks): Promise<{ ref: string; running: boolean }> {
    const image = run.job.spec.image;
    let id: string;
    try {
      // created straight away (no image lookup first): the engine says when the image is missing
      id = await this.create(run).catch(async (e: unknown) => {
        if (!isMissingImage(e)) {
          throw e;
        }
        await this.runtime.pull(image);
        return this.create(run);
      });
    } catch (e) {
      throw isMissingImage(e) ? imageNotFound(image) : e;
    }
    hooks.created(id);
    try {
      // attached before the start, so that the first line is not missed
      hooks.output(await this.runtime.attach(id));
      await this.runtime.start(id);
    } catch (e) {
      await this.runtime.remove(id).catch(() => undefined);
      throw e;
    }
    return { ref: id, running: true };
  }

  private create(run: EngineRun): Promise<string> {
    const { job, runId, runDir, workspace } = run;
    const spec = job.spec;
    // only the blobs of the datasets the job may read, not the whole store (other projects, models)
    const blobs = gatherJobBlobs(
      this.deps.home,
      runId,
      this.deps.datasetBlobs?.(job.projectId) ?? [],
      spec.env[JOB_DATASETS_ENV],
    );
    if (blobs.missing.length > 0) {
      this.deps.log.warn(
        `jobs: run ${runId}: ${JOB_DATASETS_ENV} names ${blobs.missing.map((m) => `"${m}"`).join(', ')}, which the project has no version of`,
      );
    }
    const python = pythonClientMount(spec.env);
    return this.runtime.create({
      hostname: containerHostname(runDir),
      image: spec.image,
      command: spec.command,
      env: {
        ...spec.env,
        ...python.env,
        MLLAB_HOME: CONTAINER_HOME,
        MLLAB_RUN_DIR: CONTAINER_RUN_DIR,
        MLLAB_JOB: spec.name,
        MLLAB_JOB_RUN_ID: runId,
      },
      workingDir: spec.workingDir ?? (workspace ? CONTAINER_WORKSPACE : null),
      labels: { ...this.labels, [LABELS.project]: job.projectId, [LABELS.id]: runId },
      mounts: [
        ...(workspace ? [{ hostPath: workspace, containerPath: CONTAINER_WORKSPACE, readOnly: true }] : []),
        { hostPath: blobs.dir, containerPath: `${CONTAINER_HOME}/blobs`, readOnly: true },
        ...blobs.unlinked.map((b) => ({ ...b, readOnly: true })),
        ...python.mounts,
        { hostPath: runDir, containerPath: CONTAINER_RUN_DIR, readOnly: false },
      ],
      ports: [],
      cpus: spec.cpus,
      memoryBytes: spec.memoryBytes,
      gpus: spec.gpus,
      restart: 'no',
    });
  }

  logs(ref: string, follow: boolean): Promise<Readable> {
    return this.runtime.logs(ref, follow);
  }

  stop(ref: string, graceSeconds: number): Promise<void> {
    return this.runtime.stop(ref, graceSeconds);
  }

  async ended(ref: string): Promise<EngineEnd | undefined> {
    const info = await this.runtime.inspect(ref).catch(() => undefined);
    return info && containerEnd(info);
  }

  async release(ref: string): Promise<void> {
    await this.runtime.remove(ref).catch(() => undefined);
  }

  async list(): Promise<EngineRunInfo[]> {
    const containers = await this.runtime.list(this.labels);
    return containers.map((c) => containerRun(c, c.id));
  }
}

/** A job's container as the lifecycle lists runs, under the engine's reference `ref`. */
export function containerRun(c: ContainerInfo, ref: string): EngineRunInfo {
  return {
    runId: c.labels[LABELS.id] ?? '',
    ref,
    name: c.name,
    phase:
      c.state === 'created'
        ? 'starting'
        : c.state === 'running' || c.state === 'restarting' || c.state === 'paused'
          ? 'running'
          : 'ended',
    ...containerEnd(c),
  };
}

/** How a job's container ended. */
export function containerEnd(info: ContainerInfo): EngineEnd {
  return {
    exitCode: info.exitCode,
    failure: info.oomKilled ? 'killed: out of memory (raise the memory limit)' : null,
    startedAt: info.startedAt,
    finishedAt: info.finishedAt,
  };
}

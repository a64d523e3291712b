import type Docker from 'dockerode';
import { PassThrough, type Readable } from 'stream';
import type { Target } from '../../../protocol/targets';
import type { Logger } from '../../log';
import { demuxed } from '../../runtime/demux';
import { RuntimeError, translate } from '../../runtime/errors';
import { LABELS, type ContainerRuntime } from '../../runtime/runtime';
import {
  toEnd,
  type EngineEnd,
  type EngineObserver,
  type EngineRun,
  type EngineRunInfo,
  type JobEngine,
  type SubmitHooks,
} from '../engine';
import { CONTAINER_WORKSPACE } from '../run-directory';
import { jobImageForCluster } from './job-image';
import { labEnv } from './lab-env';
import { classifyTask, type NodeStates, type SwarmTask } from './swarm-tasks';

/** What a run on another machine gets to reach the lab (see jobs/run-access.ts). */
export interface LabAccess {
  /** where the nodes reach the lab, e.g. https://lab.example.com:8443 */
  readonly url: string;
  /** a token for this run only, revoked when it ends */
  readonly token: string;
  /** the lab's certificate (PEM) when it is self-made, for the job to trust; null otherwise */
  readonly ca: string | null;
}

/** What a job engine of another machine (a Swarm, a plain remote engine) is given. */
export interface TargetEngineDeps {
  readonly home: string;
  readonly target: Target;
  /** the target's Engine API (a Swarm's manager) */
  readonly docker: Docker;
  /** the lab machine's engine: it holds the jobs' images (sent to the target, or pushed to its registry) */
  readonly local: ContainerRuntime;
  readonly localDocker: Docker;
  /** the lab's URL and a token for the run; throws when the lab cannot be reached from the target */
  readonly access: (run: EngineRun) => Promise<LabAccess>;
  readonly log: Logger;
}

export interface SwarmEngineDeps extends TargetEngineDeps {
  /** how often the manager is asked about the runs' tasks (default 500 ms) */
  readonly pollMs?: number;
}

/** SIGTERM, then SIGKILL after this long (Swarm stops a task by removing its service) */
const STOP_GRACE_NS = 5e9;
const SECRET_DIR = '/run/secrets';
/** how often the manager is asked while a run waits to be placed and started */
const STARTING_POLL_MS = 100;

/**
 * Jobs on a Docker Swarm: a run is a `replicated-job` service with one task that is never restarted
 * (Swarm places it, honouring the job's placement constraints and resource reservations). Nothing of
 * the lab machine is mounted: the job's image carries the Python client and the workspace
 * (job-image.ts), and the job reaches the lab by URL with a token given as a Swarm secret. Swarm 20.10
 * sends no task events, so the manager is asked about the tasks every `pollMs` while runs are
 * followed; a task's outcome is its state and its container's exit code; a task whose node is down
 * is lost (Swarm would keep it "running" for a day), and one that stays pending with Swarm's
 * "no suitable node" is failed with Swarm's reason.
 */
export class SwarmEngine implements JobEngine {
  readonly outputEndsWithRun = false;
  readonly sharesRunDirectory = false;
  private observer: EngineObserver | undefined;
  private timer: NodeJS.Timeout | undefined;
  private available = false;
  private message = 'Connecting to the cluster...';
  /** the phase last reported per run, so that each change is reported once */
  private readonly reported = new Map<string, 'starting' | 'running' | 'ended'>();
  /** the end of runs as last seen (after a stop, the service is gone) */
  private readonly ends = new Map<string, EngineEnd>();
  private closed = false;
  private first: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SwarmEngineDeps) {}

  get target(): string {
    return this.deps.target.name;
  }

  private get labels() {
    return { [LABELS.home]: this.deps.home, [LABELS.kind]: 'job' };
  }

  requireAvailable(): void {
    if (!this.available) {
      throw new RuntimeError(503, 'target_unavailable', `The target "${this.target}" does not answer: ${this.message}`);
    }
  }

  owns(ref: string): boolean {
    return ref.startsWith(`${this.target}:`);
  }

  private serviceId(ref: string): string {
    return ref.slice(this.target.length + 1);
  }

  observe(observer: EngineObserver): void {
    this.observer = observer;
    this.first = this.poll();
  }

  ready(): Promise<void> {
    return this.first;
  }

  private schedule(): void {
    if (!this.closed) {
      clearTimeout(this.timer);
      // a run being placed is looked at more often: its start is what a person waits for
      const starting = [...this.reported.values()].includes('starting');
      this.timer = setTimeout(() => void this.poll(), starting ? STARTING_POLL_MS : (this.deps.pollMs ?? 500));
      this.timer.unref();
    }
  }

  /** One look at the manager: availability, then each run's phase, reported when it changed. */
  private async poll(): Promise<void> {
    try {
      let runs: EngineRunInfo[];
      try {
        runs = await this.list();
      } catch (e) {
        if (this.available || this.message.startsWith('Connecting')) {
          this.available = false;
          this.message = (e as Error).message;
          this.observer?.unavailable(`The target "${this.target}" stopped answering: ${this.message}`);
        }
        return;
      }
      if (!this.available) {
        this.available = true;
        this.message = '';
        await this.observer?.available();
      }
      const seen = new Set<string>();
      for (const run of runs) {
        seen.add(run.ref);
        const before = this.reported.get(run.ref);
        if (before === run.phase || !this.observer) {
          continue;
        }
        this.reported.set(run.ref, run.phase);
        if (run.phase === 'running' && before !== 'ended') {
          this.observer.running(run.runId, run.ref);
        } else if (run.phase === 'ended') {
          this.ends.set(run.ref, toEnd(run));
          this.observer.ended(run.runId, run.ref, run.exitCode ?? null);
        }
      }
      for (const ref of this.reported.keys()) {
        if (!seen.has(ref)) {
          this.reported.delete(ref); // released (or removed outside ML Lab: reconciling says so)
        }
      }
    } finally {
      this.schedule();
    }
  }

  async submit(run: EngineRun, hooks: SubmitHooks): Promise<{ ref: string; running: boolean }> {
    const spec = run.job.spec;
    if (spec.gpus < 0) {
      throw new RuntimeError(
        400,
        'invalid_gpus',
        `A job on the cluster "${this.target}" asks for a number of GPUs, not all of a node's: set gpus to a count.`,
      );
    }
    const image = await jobImageForCluster({
      home: this.deps.home,
      runId: run.runId,
      jobName: spec.name,
      image: spec.image,
      workspace: run.workspace,
      target: this.deps.target,
      local: this.deps.local,
      localDocker: this.deps.localDocker,
    });
    const access = await this.deps.access(run);
    const labels = { ...this.labels, [LABELS.project]: run.job.projectId, [LABELS.id]: run.runId };
    const secrets = await this.createSecrets(run.runId, labels, access);
    const env = labEnv(run, access, {
      token: `${SECRET_DIR}/${secrets.token}`,
      ca: secrets.ca ? `${SECRET_DIR}/${secrets.ca}` : null,
    });
    const nano = (cpus: number | null) => (cpus === null ? undefined : Math.round(cpus * 1e9));
    let id: string;
    try {
      const created = (await this.deps.docker.createService({
        Name: serviceName(run.runId),
        Labels: labels,
        TaskTemplate: {
          ContainerSpec: {
            Image: image,
            ...(spec.command.length > 0 ? { Args: [...spec.command] } : {}),
            Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
            Dir: spec.workingDir ?? (run.workspace ? CONTAINER_WORKSPACE : undefined),
            Labels: labels,
            Hostname: `job-${run.runId.slice(0, 8)}`,
            StopGracePeriod: STOP_GRACE_NS,
            Secrets: [
              { SecretID: secrets.tokenId, SecretName: secrets.token, File: secretFile(secrets.token) },
              ...(secrets.caId && secrets.ca
                ? [{ SecretID: secrets.caId, SecretName: secrets.ca, File: secretFile(secrets.ca) }]
                : []),
            ],
          },
          Resources: {
            Limits: { NanoCPUs: nano(spec.cpus), MemoryBytes: spec.memoryBytes ?? undefined },
            // reserved as limited: Swarm places the job on a node that has that much free
            Reservations: {
              NanoCPUs: nano(spec.cpus),
              MemoryBytes: spec.memoryBytes ?? undefined,
              ...(spec.gpus > 0
                ? { GenericResources: [{ DiscreteResourceSpec: { Kind: 'NVIDIA-GPU', Value: spec.gpus } }] }
                : {}),
            },
          },
          RestartPolicy: { Condition: 'none', MaxAttempts: 0 },
          Placement: { Constraints: [...(spec.placement ?? [])] },
          // the node's own network: the lab is reached at the URL the nodes know it by
          Networks: [{ Target: 'host' }],
        },
        Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
      } as unknown as Docker.CreateServiceOptions)) as { id?: string; ID?: string };
      id = created.id ?? created.ID ?? '';
    } catch (e) {
      await this.removeSecrets(run.runId);
      throw translate(e, `create the job's service on the target "${this.target}"`);
    }
    const ref = `${this.target}:${id}`;
    this.reported.set(ref, 'starting');
    hooks.created(ref);
    hooks.output(await this.logs(ref, true).catch(() => emptyStream()));
    return { ref, running: false };
  }

  private async createSecrets(
    runId: string,
    labels: Record<string, string>,
    access: LabAccess,
  ): Promise<{ token: string; tokenId: string; ca?: string; caId?: string }> {
    const make = async (name: string, data: string) =>
      (
        (await this.deps.docker.createSecret({
          Name: name,
          Labels: labels,
          Data: Buffer.from(data, 'utf8').toString('base64'),
        })) as { id: string }
      ).id;
    const token = `${serviceName(runId)}-token`;
    try {
      const tokenId = await make(token, access.token);
      if (!access.ca) {
        return { token, tokenId };
      }
      const ca = `${serviceName(runId)}-ca`;
      return { token, tokenId, ca, caId: await make(ca, access.ca) };
    } catch (e) {
      await this.removeSecrets(runId);
      throw translate(e, `give the job its token on the target "${this.target}"`);
    }
  }

  private async removeSecrets(runId: string): Promise<void> {
    const secrets = await this.deps.docker
      .listSecrets({ filters: { label: [`${LABELS.home}=${this.deps.home}`, `${LABELS.id}=${runId}`] } })
      .catch(() => []);
    await Promise.all(
      secrets.map((s) =>
        this.deps.docker
          .getSecret(s.ID)
          .remove()
          .catch(() => undefined),
      ),
    );
  }

  async logs(ref: string, follow: boolean): Promise<Readable> {
    const service = this.deps.docker.getService(this.serviceId(ref));
    const options = { stdout: true, stderr: true, follow, timestamps: false } as const;
    const raw = (await service.logs(options as never)) as unknown as Readable | Buffer;
    return demuxed(raw);
  }

  /** Swarm cannot stop a task: the service is removed, which stops its container (SIGTERM, then SIGKILL). */
  async stop(ref: string): Promise<void> {
    const runs = await this.list();
    const run = runs.find((r) => r.ref === ref);
    this.ends.set(ref, { ...toEnd(run ?? {}), exitCode: null });
    await this.deps.docker
      .getService(this.serviceId(ref))
      .remove()
      .catch((e: unknown) => {
        if ((e as { statusCode?: number }).statusCode !== 404) {
          throw translate(e, `stop the job on the target "${this.target}"`);
        }
      });
    this.reported.set(ref, 'ended');
    if (run) {
      this.observer?.ended(run.runId, ref, null);
    }
  }

  async ended(ref: string): Promise<EngineEnd | undefined> {
    const run = (await this.list().catch(() => [])).find((r) => r.ref === ref);
    return run ? toEnd(run) : this.ends.get(ref);
  }

  async release(ref: string): Promise<void> {
    const run = (await this.list().catch(() => [])).find((r) => r.ref === ref);
    await this.deps.docker
      .getService(this.serviceId(ref))
      .remove()
      .catch(() => undefined);
    if (run) {
      await this.removeSecrets(run.runId);
    }
    this.ends.delete(ref);
    this.reported.delete(ref);
  }

  async list(): Promise<EngineRunInfo[]> {
    const filters = { label: Object.entries(this.labels).map(([k, v]) => `${k}=${v}`) };
    const docker = this.deps.docker;
    const services = await docker.listServices({ filters });
    if (services.length === 0) {
      return [];
    }
    const [tasks, nodes] = await Promise.all([
      docker.listTasks({ filters: { service: services.map((s) => s.ID) } }) as Promise<SwarmTask[]>,
      docker.listNodes(),
    ]);
    const states: NodeStates = new Map(
      nodes.map((n) => [n.ID, { name: n.Description?.Hostname ?? n.ID, state: n.Status?.State ?? 'unknown' }]),
    );
    return services.map((s) => {
      const labels = s.Spec?.Labels ?? {};
      const own = tasks.filter((t) => t.ServiceID === s.ID);
      return {
        runId: labels[LABELS.id] ?? '',
        ref: `${this.target}:${s.ID}`,
        name: s.Spec?.Name ?? s.ID,
        ...classifyTask(own, states, Date.now()),
      };
    });
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }
}

/** one service per run: its name says whose it is */
const serviceName = (runId: string) => `mllab-job-${runId}`;

const secretFile = (name: string) => ({ Name: name, UID: '0', GID: '0', Mode: 0o444 });

function emptyStream(): Readable {
  const s = new PassThrough();
  s.end();
  return s;
}

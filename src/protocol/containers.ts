/**
 * Jobs and services: containers the backend runs in a Docker Engine. DTOs of the /api/jobs and
 * /api/services routes and the payloads of their events.
 */

/** Whether the backend can talk to the Docker Engine right now. */
export interface DockerStatus {
  readonly available: boolean;
  /** the engine's version when available, else a sentence that says what to do */
  readonly message: string;
}

export interface ImageInfo {
  readonly id: string;
  readonly tags: readonly string[];
  readonly sizeBytes: number;
}

/** POST /api/images/build: a Dockerfile in a folder on the backend's machine (.dockerignore honoured). */
export interface BuildImageRequest {
  /** the build context: an absolute folder */
  readonly context: string;
  /** relative to the context; default "Dockerfile" */
  readonly dockerfile?: string;
  readonly tag: string;
}

/** Progress of a pull (event imagePullProgress), at most ten a second. */
export interface ImagePullProgress {
  readonly image: string;
  readonly layers: number;
  readonly currentBytes: number;
  readonly totalBytes: number;
  readonly status: string;
}

/** A container labelled with this lab home that belongs to no job run or service the store knows. */
export interface OrphanContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly kind: string;
  readonly state: string;
}

/** What a job runs; the same fields are exported to and imported from a jobs file. */
export interface JobSpec {
  readonly name: string;
  readonly image: string;
  /** the command and its arguments; empty = the image's own command */
  readonly command: readonly string[];
  /** KEY -> value */
  readonly env: Readonly<Record<string, string>>;
  /** inside the container; null = the image's */
  readonly workingDir: string | null;
  /** CPU limit in cores (e.g. 1.5); null = no limit */
  readonly cpus: number | null;
  /** memory limit in bytes; null = no limit */
  readonly memoryBytes: number | null;
  /** GPUs to request: 0 = none, -1 = all */
  readonly gpus: number;
  /** seconds before the run is stopped and failed; null = no limit */
  readonly timeoutSeconds: number | null;
  /** the target the job runs on (see targets.ts); absent or null = the project's default */
  readonly target?: string | null;
  /** Swarm placement constraints, e.g. "node.labels.gpu==true" (a cluster target only) */
  readonly placement?: readonly string[];
  /** times a run is started again when its node left the cluster (0 when absent) */
  readonly retries?: number;
}

export interface Job extends JobSpec {
  readonly id: string;
  readonly projectId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** the newest run, if any */
  readonly lastRun: JobRun | null;
  /** risky settings (no CPU or memory limit, ...), for people to see; see container-warnings.ts */
  readonly warnings: readonly string[];
}

/** `skipped`: never started because an upstream job of its pipeline did not succeed (see `reason`). */
export type JobRunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'stopped' | 'unknown' | 'skipped';

/** Why a run happened: a person (or a script), a cron schedule, or the end of an upstream job. */
export type JobRunTrigger = 'manual' | 'cron' | 'dependency';

export interface JobRun {
  readonly id: string;
  readonly jobId: string;
  readonly projectId: string;
  readonly trigger: JobRunTrigger;
  /** cron: the schedule's expression and zone; dependency: the upstream run's id; manual: a note or null */
  readonly triggerDetail: string | null;
  /** the pipeline execution the run belongs to (runs of jobs with dependencies), else null */
  readonly executionId: string | null;
  readonly state: JobRunState;
  readonly exitCode: number | null;
  /** why a run failed or stopped, or why its state is unknown; null when it speaks for itself */
  readonly reason: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly containerId: string | null;
  /** the run directory mounted into the container (experiment tracking) */
  readonly runDir: string;
  /** bytes of output captured so far */
  readonly logBytes: number;
}

/**
 * The ranges a job definition is checked against, by the API, the jobs file import and the CLI alike:
 * a definition that passes them does not fail later for its numbers.
 */
export const JOB_LIMITS = {
  /** a second */
  minTimeoutSeconds: 1,
  /** 30 days */
  maxTimeoutSeconds: 30 * 24 * 3600,
  /** Docker's smallest CPU share */
  minCpus: 0.01,
  maxCpus: 1024,
  /** Docker refuses less than 6 MiB */
  minMemoryBytes: 6 * 1024 ** 2,
  /** 64 TiB */
  maxMemoryBytes: 64 * 1024 ** 4,
  /** -1 (or "all") requests every GPU */
  maxGpus: 64,
  /** placement constraints of one job */
  maxPlacement: 20,
  /** re-runs of a run whose node left the cluster */
  maxRetries: 3,
} as const;

/** POST /api/jobs: every field but name and image is optional. */
export interface CreateJobRequest {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  /** KEY=VALUE strings or a KEY -> value map */
  readonly env?: readonly string[] | Readonly<Record<string, string>>;
  readonly workingDir?: string | null;
  readonly cpus?: number | null;
  /** bytes, or a size such as "512m", "2g" */
  readonly memory?: number | string | null;
  /** a count, or -1 or "all" for every GPU */
  readonly gpus?: number | 'all';
  readonly timeoutSeconds?: number | null;
  /** the workspace folder mounted read-only at /workspace; null = none */
  readonly workspace?: string | null;
  readonly target?: string | null;
  readonly placement?: readonly string[];
  readonly retries?: number;
}

/**
 * POST /api/jobs/:name/runs (the body is optional): what the run's experiment starts with, as
 * `mllab run --param/--tag` gives a local run. The job's code reads the params through `exp.params`
 * (the run's run.json); the tags are added to the run's `job` tag. A sweep's job trials start this
 * way (sweeps.ts). Only on a target that shares the lab machine's run directory (the local Docker
 * Engine); a job elsewhere records its experiment itself through the lab's URL.
 */
export interface RunJobRequest {
  readonly params?: Readonly<Record<string, string | number | boolean | null>>;
  readonly tags?: Readonly<Record<string, string>>;
}

/** The readable jobs file (JSON or YAML) of export and import. */
export interface JobsFile {
  readonly format: 1;
  readonly jobs: readonly JobSpec[];
}

export interface ImportJobsResult {
  readonly created: readonly string[];
  readonly updated: readonly string[];
}

/** `restarting`: the container exited and Docker restarts it (its restart policy); see `restartCount`. */
export type ServiceStatus =
  'starting' | 'running' | 'healthy' | 'unhealthy' | 'restarting' | 'exited' | 'stopped' | 'unknown';

export type RestartPolicy = 'no' | 'on-failure' | 'always' | 'unless-stopped';

export interface PortMapping {
  /** the address the port is published on; 127.0.0.1 unless a person chose otherwise */
  readonly hostIp: string;
  readonly hostPort: number;
  readonly containerPort: number;
}

export interface VolumeMapping {
  readonly hostPath: string;
  readonly containerPath: string;
  readonly readOnly: boolean;
}

export interface ServiceSpec {
  readonly name: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly ports: readonly PortMapping[];
  readonly volumes: readonly VolumeMapping[];
  readonly restart: RestartPolicy;
  /** path polled over HTTP on the first port (e.g. "/health"); null = no health check */
  readonly healthPath: string | null;
  /**
   * "uid:gid" the container runs as; absent = the image's user. Set by ML Lab itself (the model
   * server runs as the lab's owner, so that it can read the owner's private model file).
   */
  readonly user?: string;
  /** the target it runs on (src/protocol/targets.ts); absent = the project's default target */
  readonly target?: string;
  /** copies running at once on a Swarm target (absent = 1); a local service has one container */
  readonly replicas?: number;
  /**
   * Swarm: how ports are published. `host` (the default): on the node that runs a replica, one
   * replica per node and port; `ingress`: Swarm's routing mesh on every node (needs IPVS).
   */
  readonly publishMode?: 'host' | 'ingress';
  /**
   * Swarm: a port on 127.0.0.1 of the lab's machine where the lab itself serves the service's first
   * port, forwarding each request to a healthy replica (a replica being replaced is left out first);
   * absent = none.
   */
  readonly endpointPort?: number;
}

/** One replica of a service on a Swarm target (a Swarm task). */
export interface ServiceReplica {
  /** the node's host name, '' before the task is placed */
  readonly node: string;
  /** Swarm's task state: pending, starting, running, failed, shutdown, ... */
  readonly state: string;
  /** the image it runs (NAME@sha256:...) */
  readonly image: string;
  /** where the lab reaches its first published port (HOST:PORT), null when not published or not running */
  readonly address: string | null;
  /** Swarm's message or error for the task, '' if none */
  readonly message: string;
}

/** The replicas of a service on a Swarm target, as the engine reports them. */
export interface ServiceReplicas {
  readonly desired: number;
  /** replicas running (and healthy, for a service with a health path) */
  readonly running: number;
  readonly replicas: readonly ServiceReplica[];
  /** the rolling update in progress or last done: Swarm's state (updating, completed, rollback_completed, ...) */
  readonly update: { readonly state: string; readonly message: string } | null;
}

export interface Service extends ServiceSpec {
  readonly id: string;
  readonly projectId: string;
  readonly createdAt: string;
  readonly status: ServiceStatus;
  readonly exitCode: number | null;
  /** why it is unhealthy, exited or unknown */
  readonly reason: string | null;
  readonly containerId: string | null;
  /** the `docker run` command line that starts the same container */
  readonly dockerRun: string;
  /** how many times Docker restarted the container (restart policy), as the engine counts */
  readonly restartCount: number;
  /** risky settings (ports on all interfaces, the Docker socket mounted, ...); see container-warnings.ts */
  readonly warnings: readonly string[];
  /** on a Swarm target: its replicas across the nodes; absent for a local service */
  readonly replicaStatus?: ServiceReplicas;
}

/** POST /api/services/:name/scale */
export interface ScaleServiceRequest {
  readonly replicas: number;
}

/** The most replicas a service may ask for. */
export const MAX_REPLICAS = 1000;

export interface DeployServiceRequest {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly env?: readonly string[] | Readonly<Record<string, string>>;
  /** "HOST:CONTAINER", "IP:HOST:CONTAINER" or objects */
  readonly ports?: readonly (string | PortMapping)[];
  /** "HOST:CONTAINER[:ro]" or objects */
  readonly volumes?: readonly (string | VolumeMapping)[];
  readonly restart?: RestartPolicy;
  readonly healthPath?: string | null;
  /** "uid:gid"; not accepted over HTTP (only ML Lab's own deploys set it) */
  readonly user?: string;
  readonly target?: string;
  readonly replicas?: number;
  readonly publishMode?: 'host' | 'ingress';
  readonly endpointPort?: number;
}

/**
 * Experiments: the run directory format written by the clients and the DTOs of the backend API.
 * docs/RUN-DIRECTORY.md describes the files; this file is the typed contract.
 */

export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted';

/** `<home>/runs/<id>/run.json`: written atomically by the client at start, rewritten at the end. */
export interface RunManifest {
  /** format version of the run directory */
  readonly format: 1;
  /** a sortable unique id: `<yyyyMMdd-HHmmss>-<6 hex>` */
  readonly id: string;
  readonly name: string;
  /** project id or name given by the client; null = the lab home's active project at ingest */
  readonly project: string | null;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly exitCode: number | null;
  /** the process that writes the run (the script, or `mllab run`'s child); used to detect a killed run */
  readonly pid: number;
  readonly operator: string;
  /** command line of the run */
  readonly command: readonly string[];
  readonly cwd: string;
  /** the script or notebook file, and the copy kept in the run directory (relative), if any */
  readonly script: { readonly path: string; readonly copy: string } | null;
  readonly host: {
    readonly hostname: string;
    readonly os: string;
    readonly cpus: number;
    readonly memoryBytes: number;
    readonly gpus: readonly string[];
  };
  /** e.g. { "python": "3.11.7", "node": "20.20.2" } */
  readonly runtime: Readonly<Record<string, string>>;
  /** relative path of the installed-packages list (pip freeze), if captured */
  readonly packages: string | null;
  readonly git: {
    readonly commit: string | null;
    readonly branch: string | null;
    readonly dirty: boolean;
    /** relative path of the uncommitted diff, if any */
    readonly diff: string | null;
    /**
     * whether the commit holds the script: `untracked` or `ignored` (.gitignore) means the commit
     * and the diff say nothing about it; absent when there is no script or it was not checked
     */
    readonly script?: 'tracked' | 'untracked' | 'ignored';
  } | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * One line of `<home>/runs/<id>/events.jsonl` (appended by the client; the backend ingests lines
 * incrementally and ignores a last line without its newline until it is complete).
 * Numbers that JSON cannot hold are strings: "NaN", "Infinity", "-Infinity".
 */
export type RunEvent =
  /** metric point: key, value, step (null = next step of that key), time (unix ms) */
  | {
      readonly k: 'm';
      readonly key: string;
      readonly v: number | 'NaN' | 'Infinity' | '-Infinity';
      readonly s: number | null;
      readonly t: number;
    }
  | { readonly k: 'param'; readonly key: string; readonly v: unknown; readonly t: number }
  /** a tag; `v: null` deletes the tag (MLflow's delete-tag) */
  | { readonly k: 'tag'; readonly key: string; readonly v: string | null; readonly t: number }
  /** a file copied into the run directory's artifacts/ (path relative to the run directory) */
  | { readonly k: 'artifact'; readonly path: string; readonly source: string; readonly t: number }
  | { readonly k: 'input'; readonly dataset: string; readonly version: number | null; readonly t: number }
  /**
   * a model file (path relative to the run directory, usually an artifact logged just before) to
   * register as the next version of the model `name`, with lineage to this run
   */
  | {
      readonly k: 'model';
      readonly name: string;
      readonly path: string;
      readonly entryPoint?: string | null;
      readonly description?: string;
      readonly tags?: readonly string[];
      readonly t: number;
    }
  | { readonly k: 'output'; readonly path: string; readonly t: number }
  | { readonly k: 'result'; readonly v: unknown; readonly t: number }
  /** a client's warning about what it was asked to record (a value it cut to the limit, ...) */
  | { readonly k: 'warning'; readonly message: string; readonly t: number }
  | { readonly k: 'status'; readonly status: RunStatus; readonly exitCode: number | null; readonly t: number };

/** Per metric key, kept in the store for sorting and filtering. */
export interface MetricSummary {
  readonly key: string;
  readonly count: number;
  /** null while no finite value was logged */
  readonly last: number | null;
  readonly lastStep: number;
  readonly min: number | null;
  readonly max: number | null;
  /** the last value as logged, including NaN/Infinity ("NaN", "Infinity", "-Infinity") */
  readonly lastRaw: number | string;
}

export interface Experiment {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly status: RunStatus;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly durationMs: number | null;
  readonly exitCode: number | null;
  readonly operator: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly metrics: readonly MetricSummary[];
  /** the run directory */
  readonly dir: string;
}

/** GET /api/experiments/:id: everything recorded. */
export interface ExperimentDetails extends Experiment {
  readonly manifest: RunManifest;
  readonly artifacts: readonly { readonly path: string; readonly source: string }[];
  readonly inputs: readonly { readonly dataset: string; readonly version: number | null }[];
  readonly outputs: readonly string[];
  readonly result: unknown;
  /** what the backend refused or cut while ingesting the run (src/protocol/limits.ts), links it did not follow */
  readonly warnings?: readonly string[];
}

/** GET /api/experiments/:id/metrics/:key?maxPoints=&from=&to= */
export interface MetricSeries {
  readonly key: string;
  /** parallel arrays; values that are not finite are null in `values` and listed in `special` */
  readonly steps: readonly number[];
  readonly times: readonly number[];
  readonly values: readonly (number | null)[];
  readonly special: readonly { readonly index: number; readonly value: 'NaN' | 'Infinity' | '-Infinity' }[];
  /** points in the stored series (before any downsampling) */
  readonly total: number;
}

/*
 * Routes (bearer token; `project` = id or name, default the active project):
 *   GET    /api/experiments?project=P                 -> ExperimentList (experiment-list.ts; newest first)
 *   GET    /api/experiments/:id                        -> ExperimentDetails
 *   GET    /api/experiments/:id/metrics/:key           -> MetricSeries
 *   DELETE /api/experiments/:id                        -> 204 (removes the run directory too)
 * Events on /api/events:
 *   { type: 'experimentUpdated', experiment: Experiment }   (new run, status change, new metrics; at most ~10/s per run)
 *   { type: 'experimentDeleted', id }
 *   { type: 'metricPoints', runId, key, steps, values }     (live points, batched, for charts)
 */

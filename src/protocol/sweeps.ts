/**
 * Parameter sweeps: a search over a script's params (grid, random, TPE, CMA-ES through Optuna),
 * each trial an ordinary experiment run, bad trials stopped early by an Optuna pruner. The types of
 * `sweep.yaml` (docs/SWEEPS.md), of the /api/sweeps routes (routes/sweeps.ts) and of what the sweep
 * page charts (the optimization history and the parameter importances).
 */

/** A value a `choice` param can take (what `exp.params` gives the script). */
export type SweepParamValue = string | number | boolean | null;

/**
 * When a param exists at all (a conditional param): every param named here must have that value, or
 * one of the values of a list (e.g. `{ optimizer: sgd }` for `momentum`). The named params must be
 * `choice` params declared before this one.
 */
export type SweepCondition = Readonly<Record<string, SweepParamValue | readonly SweepParamValue[]>>;

/** One param's space, as written in sweep.yaml under `params:`. */
export type SweepParamSpace =
  /** one of the values (a grid takes each) */
  | { readonly type: 'choice'; readonly values: readonly SweepParamValue[]; readonly when?: SweepCondition }
  /**
   * an integer from min to max, both included; `step` (default 1) the grid's spacing; `log` samples
   * on a log scale (min >= 1, no step)
   */
  | {
      readonly type: 'int';
      readonly min: number;
      readonly max: number;
      readonly step?: number;
      readonly log?: boolean;
      readonly when?: SweepCondition;
    }
  /**
   * a number from min to max; `log` samples on a log scale (min > 0); `step` makes it discrete (and
   * is what a grid needs: a float range without a step cannot be enumerated)
   */
  | {
      readonly type: 'float';
      readonly min: number;
      readonly max: number;
      readonly step?: number;
      readonly log?: boolean;
      readonly when?: SweepCondition;
    };

export type SweepParamType = SweepParamSpace['type'];
export const SWEEP_PARAM_TYPES: readonly SweepParamType[] = ['choice', 'int', 'float'];

/** How the next params are chosen: Optuna's GridSampler, RandomSampler, TPESampler, CmaEsSampler. */
export type SweepMethod = 'grid' | 'random' | 'tpe' | 'cmaes';
export const SWEEP_METHODS: readonly SweepMethod[] = ['grid', 'random', 'tpe', 'cmaes'];

export type SweepGoal = 'minimize' | 'maximize';

/**
 * The objective: a metric the script logs (`exp.log_metric`). `use` says which of its values is the
 * trial's value: the `last` logged (default), the `best` one (lowest when minimizing), or the value
 * at `step`.
 */
export interface SweepMetric {
  readonly name: string;
  readonly goal: SweepGoal;
  readonly use?: 'last' | 'best' | 'step';
  /** with `use: step` */
  readonly step?: number;
}

/**
 * Early stopping on the metric as it is logged (each point is reported to Optuna at its step):
 * Optuna's MedianPruner, SuccessiveHalvingPruner or HyperbandPruner. A pruned trial is stopped
 * (SIGTERM to its process group) and recorded `pruned` with the step and the reason.
 */
export interface SweepEarlyStop {
  readonly type: 'median' | 'successiveHalving' | 'hyperband';
  /** median: trials that complete before any is pruned (default 5) */
  readonly startupTrials?: number;
  /** median: steps of a trial before it may be pruned (default 0) */
  readonly warmupSteps?: number;
  /** successive halving and hyperband: the first rung's step (default 1) */
  readonly minResource?: number;
  /** hyperband: the last step a trial reaches (default: the largest step logged) */
  readonly maxResource?: number;
  /** successive halving and hyperband: keep 1 of this many at each rung (default 3) */
  readonly reductionFactor?: number;
}

/**
 * Trials as job runs on the project's container target instead of local processes (`job:` in
 * sweep.yaml). Either an existing job of the project, run as it is defined (`job: train`: its image,
 * command, workspace and target), or an image the sweep's command runs in, with the folder of
 * sweep.yaml (`cwd`) as the job's workspace (/workspace) and the job's limits: the controller makes
 * that job (named after the sweep) the first time. Each trial is a run of the job started with its
 * params and sweep tags (RunJobRequest), on a target that shares the lab's run directory.
 */
export type SweepJob =
  | { readonly name: string }
  | {
      readonly image: string;
      /** as in a job definition (containers.ts): cores, a size such as "1g", a GPU count or "all" */
      readonly cpus?: number;
      readonly memory?: string | number;
      readonly gpus?: number | 'all';
      readonly timeoutSeconds?: number;
      /** default: the project's target, as jobs resolve it */
      readonly target?: string;
      readonly env?: Readonly<Record<string, string>>;
    };

/**
 * A sweep as defined in `sweep.yaml` next to the script (docs/SWEEPS.md), once read and checked by
 * the backend: the command is a list, relative paths are read from `cwd`.
 */
export interface SweepDefinition {
  /** the sweep's name (default: the script's file name without its extension) */
  readonly name: string;
  /**
   * the command of one trial (`script: train.py` in the file is `[python3, train.py]`); each trial
   * gets its params through `exp.params` (the run's run.json), as a re-run with changed params does
   */
  readonly command: readonly string[];
  /** absolute: the folder of sweep.yaml, or its `cwd:` read from there */
  readonly cwd: string;
  /** param name -> space, in the order written (a condition names params before it) */
  readonly params: Readonly<Record<string, SweepParamSpace>>;
  readonly method: SweepMethod;
  readonly metric: SweepMetric;
  /** how many trials end (completed, pruned or failed) before the sweep is finished; a grid: its size at most */
  readonly trials: number;
  /** how many trials run at once (default 1) */
  readonly parallel: number;
  readonly earlyStop: SweepEarlyStop | null;
  /** the sweep stops (`failed`) after this many trials failed in a row (default 3) */
  readonly maxFailures: number;
  /** the sampler's seed (the same seed and results give the same params) */
  readonly seed: number | null;
  /** trials as job runs (absent or null: local processes of the backend's machine) */
  readonly job?: SweepJob | null;
}

/**
 * `running`: trials are started; `paused`: no new trial starts, running ones go on; `stopped` by a
 * person (running trials are stopped too); `finished`: every trial ended; `failed`: the sweep cannot
 * go on (`message` says why: failures in a row, a metric never logged, Optuna missing).
 */
export type SweepState = 'running' | 'paused' | 'stopped' | 'finished' | 'failed';

/** `failed`: the process exited non-zero, was lost, or logged no value of the metric. */
export type SweepTrialState = 'running' | 'completed' | 'pruned' | 'failed';

export interface SweepTrial {
  /** 0, 1, 2... in the order trials were started (Optuna's trial number) */
  readonly number: number;
  /** the experiment run of this trial (tagged `mllab.sweep` and `mllab.sweep.trial`) */
  readonly runId: string | null;
  readonly state: SweepTrialState;
  /** the params given to it (a conditional param is absent when its condition did not hold) */
  readonly params: Readonly<Record<string, SweepParamValue>>;
  /** the objective's value; null while running, and for a failed trial */
  readonly value: number | null;
  /** a pruned trial: the step of the last value reported before it was stopped */
  readonly prunedStep: number | null;
  /** why it was pruned or failed, in words; null otherwise */
  readonly reason: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
}

/** How many trials are in each state; `total` is the number the sweep runs (definition.trials). */
export interface SweepCounts {
  readonly done: number;
  readonly running: number;
  readonly pruned: number;
  readonly failed: number;
  readonly total: number;
}

export interface Sweep {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly state: SweepState;
  readonly definition: SweepDefinition;
  readonly counts: SweepCounts;
  /** the completed trial with the best value so far; null before one completes */
  readonly best: SweepTrial | null;
  /** why it failed or stopped by itself, or what to fix; null when there is nothing to say */
  readonly message: string | null;
  /** things a person should know that did not stop it (e.g. a fallback of the importance evaluator) */
  readonly warnings: readonly string[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** One point of the optimization history: completed trials in the order they ended. */
export interface SweepHistoryPoint {
  readonly trial: number;
  readonly value: number;
  /** the best value of the trials completed up to this one */
  readonly best: number;
}

/**
 * Parameter importances from Optuna's evaluators over the completed trials: `fanova` (needs
 * scikit-learn), else `meanDecreaseImpurity` (also scikit-learn), else none (`note` says why and how
 * to install it). Null until two trials completed.
 */
export interface SweepImportances {
  readonly evaluator: 'fanova' | 'meanDecreaseImpurity';
  /** param -> importance (they sum to 1), most important first */
  readonly values: readonly { readonly param: string; readonly importance: number }[];
  /** computed over this many completed trials */
  readonly trials: number;
}

/** GET /api/sweeps/:id: the sweep, its trials (by number) and what its page charts. */
export interface SweepDetails extends Sweep {
  readonly trials: readonly SweepTrial[];
  readonly history: readonly SweepHistoryPoint[];
  readonly importances: SweepImportances | null;
  /** why importances are null once two trials completed (e.g. scikit-learn missing), else null */
  readonly importanceNote: string | null;
}

/**
 * POST /api/sweeps: creates a sweep and starts it. `yaml` is the text of a sweep.yaml and `dir` the
 * absolute folder it is in (on the backend's machine: relative paths and the command are read from
 * there). `trials` and `parallel` override the file's.
 */
export interface CreateSweepRequest {
  readonly yaml: string;
  readonly dir: string;
  readonly trials?: number;
  readonly parallel?: number;
}

/** POST /api/sweeps/:id/trials: runs `add` more trials (a finished sweep runs again). */
export interface AddSweepTrialsRequest {
  readonly add: number;
}

/** Tags of each trial's run: the sweep's id and the trial's number (as text). */
export const SWEEP_TAG = 'mllab.sweep';
export const SWEEP_TRIAL_TAG = 'mllab.sweep.trial';

/** Bounds the backend checks (and the editor's quick form can use). */
export const SWEEP_LIMITS = {
  maxTrials: 100_000,
  maxParallel: 64,
  maxParams: 100,
  maxChoiceValues: 1000,
  maxFailures: 1000,
  yamlChars: 64 * 1024,
} as const;

/*
 * Routes (routes/sweeps.ts; bearer token; `project` = id or name, default the active project):
 *   GET  /api/sweeps?project=P                 -> Sweep[] (newest first)
 *   POST /api/sweeps?project=P                 CreateSweepRequest -> 201 Sweep
 *   GET  /api/sweeps/:id?project=P             -> SweepDetails
 *   POST /api/sweeps/:id/pause|resume|stop     -> Sweep
 *   POST /api/sweeps/:id/trials                AddSweepTrialsRequest -> Sweep
 * Events on /api/events:
 *   { type: 'sweepUpdated', sweep: Sweep }  (state, counts or best changed; at most a few per second)
 */

import type { JobEngine } from '../engine';
import type { JobEngines } from '../run-lifecycle';
import type { JobRow } from '../repository';

/**
 * The engines of the lab: the local one, and one per target made on first use by `make` (which
 * throws a clear error for a target that does not exist or cannot be reached).
 */
export class EngineSet implements JobEngines {
  private readonly byTarget = new Map<string, JobEngine>();
  private readonly watchers: ((engine: JobEngine) => void)[] = [];

  constructor(
    readonly local: JobEngine,
    /** the target a run of `job` goes to; null = the lab machine */
    private readonly targetOf: (job: JobRow) => string | null = () => null,
    private readonly make?: (target: string) => JobEngine,
  ) {
    this.byTarget.set(local.target, local);
  }

  forJob(job: JobRow): JobEngine {
    return this.engine(this.targetOf(job) ?? this.local.target);
  }

  /** references of other targets start with their name and a colon (`swarm-a:service id`) */
  forRef(ref: string): JobEngine | undefined {
    const colon = ref.indexOf(':');
    if (colon < 0) {
      return this.local;
    }
    try {
      return this.engine(ref.slice(0, colon));
    } catch {
      return undefined; // the target is gone
    }
  }

  private engine(target: string): JobEngine {
    let engine = this.byTarget.get(target);
    if (!engine) {
      if (!this.make) {
        throw new Error(`No target "${target}" in this lab: jobs run on the lab machine ("local").`);
      }
      engine = this.make(target);
      this.byTarget.set(target, engine);
      this.watchers.forEach((w) => w(engine!));
    }
    return engine;
  }

  each(f: (engine: JobEngine) => void): void {
    this.watchers.push(f);
    this.byTarget.forEach((e) => f(e));
  }
}

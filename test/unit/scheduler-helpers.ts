import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EventBus } from '../../src/backend/events';
import { JobRepository, type JobRow, type RunTrigger } from '../../src/backend/jobs/repository';
import { MemoryLogger } from '../../src/backend/log';
import type { Clock } from '../../src/backend/scheduler/clock';
import { Store } from '../../src/backend/store/database';
import type { JobRun, JobRunState } from '../../src/protocol/containers';

/** A clock that stands still until a test moves it; timers fire in order as it passes them. */
export class FakeClock implements Clock {
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 0;

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  at(at: number, fn: () => void): () => void {
    const id = this.nextId++;
    this.timers.push({ at, fn, id });
    return () => (this.timers = this.timers.filter((x) => x.id !== id));
  }

  /** timers armed right now */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves to `target`, firing each timer at its time and letting `settle` finish the work it started. */
  async advanceTo(target: number, settle: () => Promise<void>): Promise<void> {
    for (;;) {
      const due = this.timers.filter((x) => x.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) {
        break;
      }
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
      await settle();
    }
    this.t = target;
  }
}

export const at = (iso: string) => Date.parse(iso);

/** A store in a fresh temp folder, with a job repository publishing on `events`, for tests without a backend. */
export async function schedulerStore(): Promise<{
  dir: string;
  store: Store;
  jobs: JobRepository;
  events: EventBus;
  log: MemoryLogger;
  reopen: () => Promise<void>;
  cleanup: () => void;
}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-sched-'));
  const log = new MemoryLogger();
  const ctx = {
    dir,
    store: await Store.open(path.join(dir, 'db'), log),
    jobs: undefined as unknown as JobRepository,
    events: new EventBus(),
    log,
    reopen: async () => {
      ctx.store.close();
      ctx.store = await Store.open(path.join(dir, 'db'), log);
      ctx.events = new EventBus();
      ctx.jobs = new JobRepository(ctx.store, dir, ctx.events);
    },
    cleanup: () => {
      ctx.store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  ctx.jobs = new JobRepository(ctx.store, dir, ctx.events);
  return ctx;
}

export const PROJECT = 'p1';

export async function defineJob(jobs: JobRepository, name: string): Promise<JobRow> {
  await jobs.save(
    PROJECT,
    {
      name,
      image: 'example/none:1',
      command: [],
      env: {},
      workingDir: null,
      cpus: null,
      memoryBytes: null,
      gpus: 0,
      timeoutSeconds: null,
    },
    null,
    false,
  );
  return jobs.definition(PROJECT, name);
}

/** A stand-in for the job runner: records starts; a test ends the runs with `finish`. */
export class FakeRunner {
  readonly started: { job: string; run: JobRun; trigger: RunTrigger }[] = [];

  constructor(private readonly ctx: { jobs: JobRepository; events: EventBus }) {}

  start = async (job: JobRow, trigger: RunTrigger): Promise<JobRun> => {
    const run = await this.ctx.jobs.insertRun(job, '', trigger);
    const running = await this.ctx.jobs.updateRun(run.id, { state: 'running', startedAt: new Date().toISOString() });
    this.started.push({ job: job.spec.name, run: running, trigger });
    return running;
  };

  names(): string[] {
    return this.started.map((s) => s.job);
  }

  runOf(job: string): JobRun {
    const found = this.started.filter((s) => s.job === job);
    if (found.length !== 1) {
      throw new Error(`${job} started ${found.length} times`);
    }
    return found[0].run;
  }

  async finish(job: string, state: JobRunState, exitCode = state === 'succeeded' ? 0 : 1): Promise<JobRun> {
    const run = await this.ctx.jobs.updateRun(this.runOf(job).id, {
      state,
      exitCode,
      endedAt: new Date().toISOString(),
    });
    this.ctx.events.publish({ type: 'jobRunUpdated', run });
    return run;
  }
}

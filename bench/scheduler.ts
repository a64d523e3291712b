// Scheduler figures (issue "Scheduling and pipelines"): (a) how late a schedule fires, over several
// fires of a six-field `* * * * * *` schedule on the real clock, next to a bare setTimeout aimed at the
// same whole seconds; (b) what 1,000 schedules cost a backend while idle: process.cpuUsage of an
// in-process backend with 1,000 jobs over MLLAB_BENCH_IDLE_SECONDS (default 30), the jobs on schedules
// vs the same jobs without.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { Backend } from '../src/backend/app';
import { JobRepository } from '../src/backend/jobs/repository';
import { MemoryLogger } from '../src/backend/log';
import { realClock } from '../src/backend/scheduler/clock';
import { CronScheduler } from '../src/backend/scheduler/cron-scheduler';
import { SchedulerRepository } from '../src/backend/scheduler/repository';
import { Store } from '../src/backend/store/database';
import { ApiClient } from '../src/client/api-client';
import { median, percentile } from './stats';
import { EventBus } from '../src/backend/events';

const FIRES = Number(process.env.MLLAB_BENCH_SCHEDULER_FIRES ?? 10);
const IDLE_SECONDS = Number(process.env.MLLAB_BENCH_IDLE_SECONDS ?? 30);
const SCHEDULES = 1000;
const TOKEN = 'b'.repeat(64);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A full, heap-shrinking garbage collection (V8's `gc`, without a command-line flag). */
function fullGc(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

function line(text: string): void {
  process.stdout.write(`${text}\n`);
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-bench-sched-'));
}

/** Delays (ms) of `FIRES` fires of `* * * * * *` through the scheduler with the real clock. */
async function schedulerDelays(): Promise<number[]> {
  const dir = tempDir();
  const log = new MemoryLogger();
  const store = await Store.open(path.join(dir, 'db'), log);
  const jobs = new JobRepository(store, dir, new EventBus());
  await jobs.save(
    'p',
    {
      name: 'tick',
      image: 'none:1',
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
  const repo = new SchedulerRepository(store);
  await repo.saveSchedule('p', jobs.definition('p', 'tick').id, {
    cron: '* * * * * *',
    timeZone: 'UTC',
    overlap: 'skip',
    missed: 'skip',
    enabled: true,
  });
  const delays: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const scheduler = new CronScheduler({
    repo,
    clock: realClock,
    log,
    isActive: () => false,
    fire: async (fires) => {
      for (const f of fires) {
        delays.push(Date.now() - f.at);
      }
      if (delays.length >= FIRES) {
        done();
      }
      return new Map();
    },
  });
  await scheduler.start();
  // the one timer is unref'ed (the backend's server keeps a backend alive): keep this process alive
  const keepAlive = setInterval(() => undefined, 1000);
  await finished;
  clearInterval(keepAlive);
  scheduler.stop();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return delays.slice(0, FIRES);
}

/** Delays (ms) of a bare setTimeout aimed at each of the next `FIRES` whole seconds. */
async function setTimeoutDelays(): Promise<number[]> {
  const delays: number[] = [];
  for (let i = 0; i < FIRES; i++) {
    const target = Math.ceil((Date.now() + 1) / 1000) * 1000;
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        delays.push(Date.now() - target);
        resolve();
      }, target - Date.now()),
    );
  }
  return delays;
}

/**
 * CPU time (µs, user + system) of this process while an in-process backend idles with `count`
 * schedules: the total over IDLE_SECONDS, and the median 5-s window times the number of windows (an
 * occasional spike of about 100 ms that every backend shows, schedules or not, falls in one window).
 */
async function idleCpu(withSchedules: boolean): Promise<{ total: number; steady: number }> {
  const root = tempDir();
  const backend = await Backend.start({
    home: path.join(root, '.mllab'),
    token: TOKEN,
    version: '0.0.0-bench',
    log: new MemoryLogger(),
  });
  const client = new ApiClient(backend.port, TOKEN);
  const project = await client.createProject('bench');
  await client.setActiveProject(project.id);
  // the same jobs and as many writes in both arms, so that only the schedules differ
  for (let i = 0; i < SCHEDULES; i++) {
    await client.createJob({ name: `job-${i}`, image: 'none:1', command: ['true'] });
    // yearly at different minutes: none fires while measuring
    const cron = `${i % 60} ${i % 24} 1 1 *`;
    if (withSchedules) {
      await client.scheduleJob(`job-${i}`, { cron, timeZone: 'UTC' });
    } else {
      await client.previewSchedule(cron, 'UTC');
    }
  }
  client.dispose();
  // the 2,000 requests of the set-up grow the heap; V8 shrinks it with full collections once the
  // process idles, some 30-50 s later, in whichever arm: collect now, so that the windows measure idling
  fullGc();
  await sleep(5000);
  const windows: number[] = [];
  for (let i = 0; i < IDLE_SECONDS / 5; i++) {
    const before = process.cpuUsage();
    await sleep(5000);
    const used = process.cpuUsage(before);
    windows.push(used.user + used.system);
  }
  await backend.stop('bench done');
  fs.rmSync(root, { recursive: true, force: true });
  return { total: windows.reduce((a, b) => a + b, 0), steady: median(windows) * windows.length };
}

export async function schedulerBench(): Promise<void> {
  const ours = await schedulerDelays();
  const ref = await setTimeoutDelays();
  const stat = (d: number[]) => {
    const sorted = [...d].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), max: sorted[sorted.length - 1] };
  };
  const o = stat(ours);
  const r = stat(ref);
  line(
    `schedule fire delay, ${FIRES} fires of "* * * * * *" (real clock): p50 ${o.p50.toFixed(1)} ms, max ${o.max.toFixed(1)} ms (ML Lab) vs p50 ${r.p50.toFixed(1)} ms, max ${r.max.toFixed(1)} ms (bare setTimeout to the same seconds); ideal 0, limit 1000 ms`,
  );
  // schedules first: a one-off heap-shrinking collection tends to fall in the second arm's window
  const many = await idleCpu(true);
  const none = await idleCpu(false);
  const pct = (us: number) => (us / (IDLE_SECONDS * 1e6)) * 100;
  for (const kind of ['total', 'steady'] as const) {
    const m = many[kind];
    const n = none[kind];
    line(
      `idle backend CPU over ${IDLE_SECONDS} s (${kind === 'total' ? 'total' : 'median 5-s window'}): ${pct(m).toFixed(3)}% of one core with ${SCHEDULES} jobs on schedules (ML Lab) vs ${pct(n).toFixed(3)}% with the same jobs unscheduled, ratio ${(m / Math.max(n, 1)).toFixed(2)}; extra ${pct(m - n).toFixed(3)}% of one core (limit 1%)`,
    );
  }
}

// Jobs in Docker, side by side with the docker CLI running the same image and command: time from
// "run job" to the container running and to its exit being recorded, and the throughput of a job's
// output into its log file. Needs a Docker Engine and the test image (scripts/ensure-docker.sh).
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { ApiClient } from '../src/client/api-client';
import { EventStream } from '../src/client/event-stream';
import type { JobRun } from '../src/protocol/containers';
import { startBackend, tempHome } from './http-bench';
import { median, report } from './stats';

const IMAGE = 'mllab-test/busybox:1';
const RUNS = Number(process.env.MLLAB_BENCH_DOCKER_RUNS ?? 7);
const LOG_BYTES = 100 * 1024 * 1024;
// 100 MiB of 100-byte lines
const PRINT_100MB = `yes ${'x'.repeat(99 - 1)} | head -c ${LOG_BYTES}`;

/** Wall time of a docker CLI command, its output thrown away as it arrives. */
function timeDocker(args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.resume();
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - t0) : reject(new Error(`docker ${args.join(' ')}: ${code}`)),
    );
  });
}

/** Ends of runs as the event stream reports them, by run id, with the time they arrived. */
class RunEnds {
  private readonly ends = new Map<string, { at: number; run: JobRun }>();
  private readonly stream: EventStream;
  constructor(client: ApiClient) {
    this.stream = new EventStream(
      client,
      (e) => {
        if (e.type === 'jobRunUpdated' && !['queued', 'running', 'unknown'].includes(e.run.state)) {
          this.ends.set(e.run.id, { at: performance.now(), run: e.run });
        }
      },
      () => undefined,
    );
  }
  async wait(runId: string): Promise<{ at: number; run: JobRun }> {
    for (let i = 0; i < 120_000; i++) {
      const end = this.ends.get(runId);
      if (end) {
        return end;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    throw new Error(`run ${runId} did not end`);
  }
  dispose(): void {
    this.stream.dispose();
  }
}

export async function dockerBench(): Promise<void> {
  const inspect = spawnSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' });
  if (inspect.status !== 0) {
    throw new Error(`the image ${IMAGE} is missing: run scripts/ensure-docker.sh`);
  }
  const home = tempHome();
  const backend = await startBackend(home);
  const client = new ApiClient(backend.port, backend.token!);
  const ends = new RunEnds(client);
  try {
    const project = await client.createProject('bench');
    await client.setActiveProject(project.id);
    while (!(await client.dockerStatus()).available) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await client.createJob({ name: 'noop', image: IMAGE, command: ['true'] });
    await client.createJob({ name: 'print', image: IMAGE, command: ['sh', '-c', PRINT_100MB] });
    const toRunning: number[] = [];
    const toExit: number[] = [];
    const refStart: number[] = [];
    const refRun: number[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      const t0 = performance.now();
      const run = await client.runJob('noop');
      const running = performance.now() - t0;
      const end = await ends.wait(run.id);
      const started = await timeDocker(['run', '-d', '--name', `mllab-bench-${i}`, IMAGE, 'true']);
      await timeDocker(['rm', '-f', `mllab-bench-${i}`]);
      const ran = await timeDocker(['run', '--rm', IMAGE, 'true']);
      if (i > 0) {
        // the first round warms caches on both sides
        toRunning.push(running);
        toExit.push(end.at - t0);
        refStart.push(started);
        refRun.push(ran);
      }
    }
    report('job "true": run to container started (median)', median(toRunning), median(refStart), 'ms', 'docker run -d');
    report('job "true": run to exit recorded (median)', median(toExit), median(refRun), 'ms', 'docker run --rm');

    const ours: number[] = [];
    const ref: number[] = [];
    for (let i = 0; i < Math.min(RUNS, 3); i++) {
      const t0 = performance.now();
      const run = await client.runJob('print');
      const end = await ends.wait(run.id);
      if (end.run.logBytes !== LOG_BYTES) {
        throw new Error(`the log of run ${run.id} holds ${end.run.logBytes} bytes, not ${LOG_BYTES}`);
      }
      ours.push(LOG_BYTES / 1e6 / ((end.at - t0) / 1000));
      ref.push(LOG_BYTES / 1e6 / ((await timeDocker(['run', '--rm', IMAGE, 'sh', '-c', PRINT_100MB])) / 1000));
    }
    report(
      'job printing 100 MiB: output into its log file (median)',
      median(ours),
      median(ref),
      'MB/s',
      'docker run --rm > /dev/null',
    );
  } finally {
    ends.dispose();
    client.dispose();
    await backend.stop();
    fs.rmSync(path.dirname(home), { recursive: true, force: true });
  }
}

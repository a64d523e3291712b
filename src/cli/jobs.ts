import * as fs from 'fs';
import { finished } from 'stream/promises';
import type { ApiClient } from '../client/api-client';
import { warningLines } from '../protocol/container-warnings';
import { JOB_LIMITS, type Job, type JobRun } from '../protocol/containers';
import { expectArgs, Output, table } from './output';
import { JOB_USAGE } from './usage';

export interface JobFlags {
  readonly project?: string;
  readonly image?: string;
  readonly env?: string[];
  readonly cpus?: string;
  readonly gpus?: string;
  readonly memory?: string;
  readonly timeout?: string;
  readonly workdir?: string;
  readonly target?: string;
  readonly placement?: string[];
  readonly retries?: string;
  readonly wait?: boolean;
  readonly run?: string;
  readonly follow?: boolean;
  readonly format?: string;
  readonly to?: string;
}

/** A number flag within `min`..`max` (the limits the backend checks too), or undefined when absent. */
export function numberFlag(
  value: string | undefined,
  flag: string,
  limits: { min: number; max: number; whole?: boolean; example: string },
): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  const n = Number(value);
  if (
    value.trim() === '' ||
    !Number.isFinite(n) ||
    n < limits.min ||
    n > limits.max ||
    (limits.whole && !Number.isInteger(n))
  ) {
    const kind = limits.whole ? 'a whole number' : 'a number';
    throw new Error(
      `${flag} takes ${kind} from ${limits.min} to ${limits.max} (e.g. ${limits.example}), not "${value}".`,
    );
  }
  return n;
}

const CPUS = { min: JOB_LIMITS.minCpus, max: JOB_LIMITS.maxCpus, example: '--cpus 2' };
const GPUS = { min: 0, max: JOB_LIMITS.maxGpus, whole: true, example: '--gpus 1, or --gpus all' };
const RETRIES = { min: 0, max: JOB_LIMITS.maxRetries, whole: true, example: '--retries 1' };
const TIMEOUT = {
  min: JOB_LIMITS.minTimeoutSeconds,
  max: JOB_LIMITS.maxTimeoutSeconds,
  example: '--timeout 3600 for an hour; the most is 30 days',
};

/** " on target T placed by ..." for a job that runs elsewhere than on the lab machine; '' otherwise */
function where(j: Job): string {
  return [
    j.target ? ` on target ${j.target}` : '',
    j.placement ? ` placed by ${j.placement.join(', ')}` : '',
    j.retries ? `, run again up to ${j.retries} times when its node leaves` : '',
  ].join('');
}

function describeRun(r: JobRun): string {
  const code = r.exitCode === null ? '' : `, exit code ${r.exitCode}`;
  return `${r.state}${code}${r.reason ? ` (${r.reason})` : ''}`;
}

/** Copies a log stream to stdout until it ends. */
async function pipeOut(stream: NodeJS.ReadableStream): Promise<void> {
  for await (const chunk of stream) {
    process.stdout.write(chunk as Buffer);
  }
}

/** Waits for the end of a run: its followed log stream ends when the run does. */
async function waitForEnd(client: ApiClient, run: JobRun, follow?: NodeJS.ReadableStream): Promise<JobRun> {
  const stream = follow ?? (await client.jobRunLogs(run.id, true));
  await finished(stream.resume());
  let current = await client.getJobRun(run.id);
  while (current.state === 'queued' || current.state === 'running') {
    await new Promise((r) => setTimeout(r, 100));
    current = await client.getJobRun(run.id);
  }
  return current;
}

export async function jobCommand(client: ApiClient, out: Output, args: string[], flags: JobFlags): Promise<number> {
  const [sub, ...rest] = args;
  const need = (n: number) => expectArgs(`job ${sub}`, rest, n, JOB_USAGE);
  const p = flags.project;
  switch (sub) {
    case 'create': {
      const [name, ...command] = rest;
      if (!name || !flags.image) {
        throw new Error(`"mllab job create" needs a NAME and --image. Usage:\n${JOB_USAGE}`);
      }
      const job = await client.createJob(
        {
          name,
          image: flags.image,
          command,
          env: flags.env ?? [],
          cpus: numberFlag(flags.cpus, '--cpus', CPUS) ?? null,
          gpus: flags.gpus === 'all' ? -1 : (numberFlag(flags.gpus, '--gpus', GPUS) ?? 0),
          memory: flags.memory ?? null,
          timeoutSeconds: numberFlag(flags.timeout, '--timeout', TIMEOUT) ?? null,
          workingDir: flags.workdir ?? null,
          workspace: process.cwd(),
          ...(flags.target ? { target: flags.target } : {}),
          ...(flags.placement ? { placement: flags.placement } : {}),
          ...(flags.retries !== undefined ? { retries: numberFlag(flags.retries, '--retries', RETRIES) } : {}),
        },
        p,
      );
      out.result(
        job,
        () => `Created job ${job.name} (${job.image} ${job.command.join(' ')})${where(job)}.${warningLines([job])}`,
      );
      return 0;
    }
    case 'run': {
      need(1);
      const started = await client.runJob(rest[0], p);
      if (!flags.wait) {
        out.result(started, () => `Run ${started.id} of ${rest[0]}: ${describeRun(started)}.`);
        return started.state === 'failed' ? 1 : 0;
      }
      const logs = await client.jobRunLogs(started.id, true);
      if (!out.json) {
        await pipeOut(logs);
      }
      const run = await waitForEnd(client, started, logs);
      out.result(run, () => `Run ${run.id} of ${rest[0]}: ${describeRun(run)}.`);
      // the job's own exit code, so that scripts and CI can chain on it
      return run.exitCode ?? (run.state === 'succeeded' ? 0 : 1);
    }
    case 'list': {
      need(0);
      const jobs = await client.listJobs(p);
      // a target column only when a job runs elsewhere than on the lab machine
      const elsewhere = jobs.some((j) => j.target || j.placement);
      out.result(jobs, () =>
        jobs.length === 0
          ? 'No jobs in this project yet: create one with "mllab job create NAME --image IMG -- CMD".'
          : table(
              ['NAME', 'IMAGE', 'COMMAND', ...(elsewhere ? ['TARGET'] : []), 'LAST RUN', 'STATE'],
              jobs.map((j: Job) => [
                j.name,
                j.image,
                j.command.join(' '),
                ...(elsewhere
                  ? [`${j.target ?? '(default)'}${j.placement ? ` [${j.placement.join(', ')}]` : ''}`]
                  : []),
                j.lastRun?.createdAt ?? '',
                j.lastRun ? describeRun(j.lastRun) : 'never run',
              ]),
            ) + warningLines(jobs),
      );
      return 0;
    }
    case 'runs': {
      need(1);
      const runs = await client.jobRuns(rest[0], p);
      out.result(runs, () =>
        table(
          ['RUN', 'STARTED', 'ENDED', 'STATE'],
          runs.map((r) => [r.id, r.startedAt ?? '', r.endedAt ?? '', describeRun(r)]),
        ),
      );
      return 0;
    }
    case 'logs': {
      need(1);
      const runId = flags.run ?? (await client.getJob(rest[0], p)).lastRun?.id;
      if (!runId) {
        throw new Error(`The job "${rest[0]}" has not run yet: run it with "mllab job run ${rest[0]}".`);
      }
      await pipeOut(await client.jobRunLogs(runId, flags.follow ?? false));
      return 0;
    }
    case 'stop': {
      need(1);
      const run = await client.stopJob(rest[0], p);
      out.result(run, () => `Run ${run.id} of ${rest[0]}: ${describeRun(run)}.`);
      return 0;
    }
    case 'rm': {
      need(1);
      await client.deleteJob(rest[0], p);
      out.result({ deleted: true, name: rest[0] }, () => `Removed job ${rest[0]} and its run history.`);
      return 0;
    }
    case 'export': {
      need(0);
      const format = flags.format ?? 'yaml';
      if (format !== 'yaml' && format !== 'json') {
        throw new Error(`--format takes yaml or json, not "${format}".`);
      }
      const text = await client.exportJobs(format, p);
      if (flags.to) {
        fs.writeFileSync(flags.to, text);
        out.result({ file: flags.to }, () => `Wrote the job definitions to ${flags.to}.`);
      } else {
        process.stdout.write(text);
      }
      return 0;
    }
    case 'import': {
      need(1);
      const result = await client.importJobs(fs.readFileSync(rest[0], 'utf8'), p);
      out.result(
        result,
        () => `Created ${result.created.length} and updated ${result.updated.length} jobs from ${rest[0]}.`,
      );
      return 0;
    }
    default:
      throw new Error(`Unknown command "mllab job ${sub ?? ''}". Usage:\n${JOB_USAGE}`);
  }
}

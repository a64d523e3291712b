import * as path from 'path';
import YAML from 'yaml';
import { JOB_LIMITS, type CreateJobRequest, type JobSpec, type JobsFile } from '../../protocol/containers';
import { checkName } from '../../protocol/names';
import { ApiError } from '../errors';
import { describeValidation, type SchemaError } from '../http/validation';
import { checkImage, parseEnv, parseMemory } from '../runtime/parse';

const bad = (code: string, message: string) => new ApiError(400, code, message);

/**
 * A job definition from a request or a jobs file, already checked against `jobSchema` (in the jobs
 * route table: types and ranges): the checks here are those a schema cannot say well (name rules,
 * image grammar, sizes).
 */
export function toJobSpec(r: CreateJobRequest): JobSpec {
  const problem = checkName('job', r.name);
  if (problem) {
    throw bad('invalid_name', problem);
  }
  if (r.workingDir && !r.workingDir.startsWith('/')) {
    throw bad(
      'invalid_working_dir',
      `The working directory "${r.workingDir}" is inside the container and must be absolute, e.g. /workspace.`,
    );
  }
  if (r.workspace && !path.isAbsolute(r.workspace)) {
    throw bad('invalid_workspace', `The workspace "${r.workspace}" must be an absolute folder on this machine.`);
  }
  const memoryBytes = parseMemory(r.memory);
  if (memoryBytes !== null && memoryBytes > JOB_LIMITS.maxMemoryBytes) {
    throw bad(
      'invalid_memory',
      `The memory limit "${r.memory}" is more than ${JOB_LIMITS.maxMemoryBytes / 1024 ** 4} TiB: write a size such as 512m or 16g.`,
    );
  }
  return {
    name: r.name,
    image: checkImage(r.image),
    command: [...(r.command ?? [])],
    env: parseEnv(r.env),
    workingDir: r.workingDir ?? null,
    cpus: r.cpus ?? null,
    memoryBytes,
    gpus: r.gpus === 'all' ? -1 : (r.gpus ?? 0),
    timeoutSeconds: r.timeoutSeconds ?? null,
    // only when set: definitions (and jobs files) of jobs on the lab machine stay as they were
    ...(r.target ? { target: r.target } : {}),
    ...(r.placement && r.placement.length > 0 ? { placement: r.placement.map((p) => p.trim()) } : {}),
    ...(r.retries ? { retries: r.retries } : {}),
  };
}

/** The most jobs one file may define. */
export const JOBS_FILE_MAX_JOBS = 1000;

/** Checks one value against `jobsFileEntrySchema`, with the route validator (the API's own rules). */
export type EntryValidator = ((data: unknown) => unknown) & { errors?: readonly SchemaError[] | null };

const invalidFile = (message: string) => bad('invalid_jobs_file', message);
const LAYOUT_HINT = 'export one with "mllab job export" to see the layout';

/**
 * A jobs file (YAML or JSON) into job definitions, each entry through the same schema and checks as
 * POST /api/jobs; the first problem is reported with its job's number and name, and nothing is kept.
 */
export function parseJobsFile(textOfFile: string, validate: EntryValidator): JobSpec[] {
  let parsed: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both kinds of file
    // warnings (an unknown directive...) are not the backend's to print; errors still throw
    parsed = YAML.parse(textOfFile, { logLevel: 'error' });
  } catch (e) {
    throw invalidFile(`The jobs file is not valid YAML or JSON: ${(e as Error).message}`);
  }
  const file = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  const { format, jobs } = file as { format?: unknown; jobs?: unknown };
  if (format !== 1 || !Array.isArray(jobs)) {
    throw invalidFile(`The jobs file needs "format: 1" and a list "jobs": ${LAYOUT_HINT}.`);
  }
  const unknown = Object.keys(file).filter((k) => k !== 'format' && k !== 'jobs');
  if (unknown.length > 0) {
    throw invalidFile(`The jobs file has the unknown field "${unknown[0]}": ${LAYOUT_HINT}.`);
  }
  if (jobs.length > JOBS_FILE_MAX_JOBS) {
    throw invalidFile(`The jobs file defines ${jobs.length} jobs: import at most ${JOBS_FILE_MAX_JOBS} at once.`);
  }
  return jobs.map((entry: unknown, i) => {
    const named = (entry as { name?: unknown } | null)?.name;
    const which = `Job ${i + 1} of the file${typeof named === 'string' && named.length <= 64 ? ` ("${named}")` : ''}`;
    if (!validate(entry)) {
      throw invalidFile(`${which}: ${describeValidation(validate.errors ?? [], 'entry', entry)}.`);
    }
    try {
      return toJobSpec(fromFileEntry(entry as JobSpec & { memory?: string | number | null }));
    } catch (e) {
      throw invalidFile(`${which}: ${(e as Error).message}`);
    }
  });
}

/** A jobs file entry back into a request (a file holds specs; memoryBytes is their memory field). */
export function fromFileEntry(spec: JobSpec & { memory?: string | number | null }): CreateJobRequest {
  return { ...spec, memory: spec.memory ?? spec.memoryBytes };
}

export function toJobsFile(specs: readonly JobSpec[]): JobsFile {
  return { format: 1, jobs: specs };
}

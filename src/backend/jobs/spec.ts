import type { CreateJobRequest, JobSpec, JobsFile } from '../../protocol/containers';
import { ApiError } from '../errors';
import { checkImage, parseEnv, parseMemory } from '../runtime/parse';

/** A job definition from a request or a jobs file, checked field by field. */
export function toJobSpec(r: CreateJobRequest): JobSpec {
  if (r.cpus !== undefined && r.cpus !== null && !(r.cpus > 0)) {
    throw new ApiError(400, 'invalid_cpus', `The CPU limit must be more than 0 (e.g. 0.5 or 2), not ${r.cpus}.`);
  }
  if (r.timeoutSeconds !== undefined && r.timeoutSeconds !== null && !(r.timeoutSeconds > 0)) {
    throw new ApiError(
      400,
      'invalid_timeout',
      `The timeout must be a number of seconds above 0, not ${r.timeoutSeconds}.`,
    );
  }
  return {
    name: r.name,
    image: checkImage(r.image),
    command: [...(r.command ?? [])],
    env: parseEnv(r.env),
    workingDir: r.workingDir ?? null,
    cpus: r.cpus ?? null,
    memoryBytes: parseMemory(r.memory),
    gpus: r.gpus ?? 0,
    timeoutSeconds: r.timeoutSeconds ?? null,
  };
}

/** The body schema of a job definition (POST /api/jobs and each entry of an import). */
export const jobSchema = {
  type: 'object',
  required: ['name', 'image'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: 1000 },
    image: { type: 'string', minLength: 1, maxLength: 1000 },
    command: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 10000 } },
    env: {
      anyOf: [
        { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 10000 } },
        { type: 'object', additionalProperties: { type: 'string', maxLength: 10000 } },
      ],
    },
    workingDir: { type: ['string', 'null'], maxLength: 4096 },
    cpus: { type: ['number', 'null'] },
    memory: { anyOf: [{ type: 'number' }, { type: 'string', maxLength: 100 }, { type: 'null' }] },
    memoryBytes: { type: ['number', 'null'] },
    gpus: { type: 'integer', minimum: -1, maximum: 64 },
    timeoutSeconds: { type: ['number', 'null'] },
    workspace: { type: ['string', 'null'], maxLength: 4096 },
  },
} as const;

/** A jobs file entry back into a request (a file holds specs; memoryBytes is their memory field). */
export function fromFileEntry(spec: JobSpec & { memory?: string | number | null }): CreateJobRequest {
  return { ...spec, memory: spec.memory ?? spec.memoryBytes };
}

export function toJobsFile(specs: readonly JobSpec[]): JobsFile {
  return { format: 1, jobs: specs };
}

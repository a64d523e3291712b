import {
  JOB_LIMITS,
  type CreateJobRequest,
  type ImportJobsResult,
  type Job,
  type JobRun,
  type RunJobRequest,
} from '../containers';
import { RUN_LIMITS } from '../limits';
import { NAME_MAX_LENGTH } from '../names';
import { route, type Streamed } from './route';
import {
  lookupText,
  nameParams,
  NO_NUL_PATTERN,
  pathText,
  projectQuery,
  text,
  trueFalse,
  type InProject,
} from './schema';

/** The fields of a job definition: the same in POST /api/jobs and in each entry of a jobs file. */
const specProperties = {
  name: text(NAME_MAX_LENGTH),
  image: text(255, 1),
  // a list, never a string: a string would need a shell's word splitting to become arguments
  command: { type: 'array', maxItems: 1000, items: text(10000) },
  env: {
    anyOf: [
      { type: 'array', maxItems: 1000, items: text(10000) },
      {
        type: 'object',
        maxProperties: 1000,
        propertyNames: { maxLength: 256 },
        additionalProperties: text(10000),
      },
    ],
  },
  workingDir: { type: ['string', 'null'], minLength: 1, maxLength: 4096, pattern: NO_NUL_PATTERN },
  cpus: { type: ['number', 'null'], minimum: JOB_LIMITS.minCpus, maximum: JOB_LIMITS.maxCpus },
  memory: {
    anyOf: [
      { type: 'integer', minimum: JOB_LIMITS.minMemoryBytes, maximum: JOB_LIMITS.maxMemoryBytes },
      text(100, 1),
      { type: 'null' },
    ],
  },
  memoryBytes: {
    type: ['integer', 'null'],
    minimum: JOB_LIMITS.minMemoryBytes,
    maximum: JOB_LIMITS.maxMemoryBytes,
  },
  gpus: {
    anyOf: [
      { type: 'integer', minimum: -1, maximum: JOB_LIMITS.maxGpus },
      { type: 'string', enum: ['all'] },
    ],
  },
  timeoutSeconds: {
    type: ['number', 'null'],
    minimum: JOB_LIMITS.minTimeoutSeconds,
    maximum: JOB_LIMITS.maxTimeoutSeconds,
  },
  target: { anyOf: [text(NAME_MAX_LENGTH, 1), { type: 'null' }] },
  // "node.labels.gpu==true", "node.hostname!=a": Swarm's own constraint grammar
  placement: {
    type: 'array',
    maxItems: JOB_LIMITS.maxPlacement,
    items: { type: 'string', minLength: 3, maxLength: 256, pattern: '^[A-Za-z0-9_.\\-]+ *(==|!=) *[^\\s].*$' },
  },
  retries: { type: 'integer', minimum: 0, maximum: JOB_LIMITS.maxRetries },
} as const;

/** The body schema of POST /api/jobs. */
export const jobSchema = {
  type: 'object',
  required: ['name', 'image'],
  additionalProperties: false,
  properties: {
    ...specProperties,
    workspace: { anyOf: [pathText, { type: 'null' }] },
  },
} as const;

/** The schema of one entry of a jobs file (the workspace is the importer's, never the file's). */
export const jobsFileEntrySchema = {
  type: 'object',
  required: ['name', 'image'],
  additionalProperties: false,
  properties: specProperties,
} as const;

/** The optional body of POST /api/jobs/:name/runs: the params and tags of the run's experiment. */
const runJobSchema = {
  // no body (fastify gives null) is a run as the job defines it
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    params: {
      type: 'object',
      maxProperties: 1000,
      propertyNames: { minLength: 1, maxLength: RUN_LIMITS.keyChars },
      additionalProperties: {
        anyOf: [text(RUN_LIMITS.paramValueChars), { type: 'number' }, { type: 'boolean' }, { type: 'null' }],
      },
    },
    tags: {
      type: 'object',
      maxProperties: 100,
      propertyNames: { minLength: 1, maxLength: RUN_LIMITS.keyChars },
      additionalProperties: text(RUN_LIMITS.tagValueChars),
    },
  },
} as const;

const runParams = {
  type: 'object',
  required: ['runId'],
  properties: { runId: lookupText },
} as const;

const named = { params: nameParams, query: projectQuery } as const;

/** Jobs of a project (`:name` is the job), their runs (`:runId`) and output, and the jobs file. */
export const jobRoutes = {
  list: route<Job[], undefined, InProject>()({ method: 'GET', path: '/api/jobs', query: projectQuery }),
  create: route<Job, CreateJobRequest, InProject>()({
    method: 'POST',
    path: '/api/jobs',
    status: 201,
    query: projectQuery,
    body: jobSchema,
  }),
  get: route<Job, undefined, InProject>()({ method: 'GET', path: '/api/jobs/:name', ...named }),
  delete: route<void, undefined, InProject>()({ method: 'DELETE', path: '/api/jobs/:name', status: 204, ...named }),
  run: route<JobRun, RunJobRequest | undefined, InProject>()({
    method: 'POST',
    path: '/api/jobs/:name/runs',
    status: 201,
    ...named,
    body: runJobSchema,
  }),
  runs: route<JobRun[], undefined, InProject>()({ method: 'GET', path: '/api/jobs/:name/runs', ...named }),
  stop: route<JobRun, undefined, InProject>()({ method: 'POST', path: '/api/jobs/:name/stop', ...named }),
  getRun: route<JobRun>()({ method: 'GET', path: '/api/job-runs/:runId', params: runParams }),
  stopRun: route<JobRun>()({ method: 'POST', path: '/api/job-runs/:runId/stop', params: runParams }),
  /** the run's output as text; with `follow` the stream ends when the run does */
  runLogs: route<Streamed, undefined, { readonly follow?: 'true' | 'false' }>()({
    method: 'GET',
    path: '/api/job-runs/:runId/logs',
    params: runParams,
    query: { type: 'object', additionalProperties: false, properties: { follow: trueFalse } },
  }),
  /** the project's jobs as a jobs file (YAML by default) */
  exportFile: route<Streamed, undefined, InProject & { readonly format?: 'yaml' | 'json' }>()({
    method: 'GET',
    path: '/api/jobs-file',
    query: {
      type: 'object',
      additionalProperties: false,
      properties: { ...projectQuery.properties, format: { type: 'string', enum: ['yaml', 'json'] } },
    },
  }),
  /** creates or replaces the jobs a jobs file defines */
  importFile: route<ImportJobsResult, { readonly text: string }, InProject>()({
    method: 'POST',
    path: '/api/jobs-file',
    query: projectQuery,
    body: {
      type: 'object',
      required: ['text'],
      additionalProperties: false,
      properties: { text: { type: 'string', maxLength: 60000 } },
    },
  }),
} as const;

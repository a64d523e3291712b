import type { FastifyInstance } from 'fastify';
import YAML from 'yaml';
import type { CreateJobRequest, ImportJobsResult, Job, JobRun, JobSpec } from '../../protocol/containers';
import { ApiError } from '../errors';
import { sendTextStream } from '../runtime/stream-reply';
import type { EventBus } from '../events';
import type { ProjectRepository } from '../projects/repository';
import { ACTIVE_STATES, runLogFile, type JobRepository, type JobRow } from './repository';
import { followFile } from './follow-file';
import type { JobRunner } from './runner';
import { type EntryValidator, jobSchema, jobsFileEntrySchema, parseJobsFile, toJobSpec, toJobsFile } from './spec';
import { trueFalse, lookupText, nameParams, projectQuery } from '../http/schemas';

export interface JobRouteDeps {
  readonly home: string;
  readonly projects: ProjectRepository;
  readonly jobs: JobRepository;
  readonly runner: JobRunner;
  readonly events: EventBus;
  /** starts a manual run (the scheduler's, so that the jobs that depend on it follow); default: the runner */
  readonly startRun?: (job: JobRow) => Promise<JobRun>;
}

const runParams = {
  type: 'object',
  required: ['runId'],
  properties: { runId: lookupText },
} as const;

type NameRequest = { Params: { name: string }; Querystring: { project?: string } };

export function registerJobRoutes(app: FastifyInstance, deps: JobRouteDeps): void {
  const { projects, jobs, runner, events } = deps;
  const projectOf = (q: { project?: string }) => projects.resolveOrActive(q.project).id;
  // the entries of a jobs file go through the API's own validator (same rules, same messages);
  // it exists once the server is ready, so it is compiled at the first import
  let validateEntry: EntryValidator | undefined;
  const entryValidator = (): EntryValidator =>
    (validateEntry ??= app.validatorCompiler!({
      schema: jobsFileEntrySchema,
      method: 'POST',
      url: '/api/jobs-file',
      httpPart: 'body',
    }) as EntryValidator);
  const changed = (job: Job) => {
    events.publish({ type: 'jobChanged', job });
    return job;
  };

  app.get<{ Querystring: { project?: string } }>(
    '/api/jobs',
    { schema: { querystring: projectQuery } },
    async (request): Promise<Job[]> => jobs.list(projectOf(request.query)),
  );

  app.post<{ Body: CreateJobRequest; Querystring: { project?: string } }>(
    '/api/jobs',
    { schema: { querystring: projectQuery, body: jobSchema } },
    async (request, reply): Promise<Job> => {
      const projectId = projectOf(request.query);
      const spec = toJobSpec(request.body);
      await jobs.save(projectId, spec, request.body.workspace ?? null, false);
      void reply.code(201);
      return changed(jobs.get(projectId, spec.name));
    },
  );

  app.get<NameRequest>(
    '/api/jobs/:name',
    { schema: { params: nameParams, querystring: projectQuery } },
    async (request): Promise<Job> => jobs.get(projectOf(request.query), request.params.name),
  );

  app.delete<NameRequest>(
    '/api/jobs/:name',
    { schema: { params: nameParams, querystring: projectQuery } },
    async (request, reply): Promise<void> => {
      const job = jobs.get(projectOf(request.query), request.params.name);
      if (job.lastRun && ACTIVE_STATES.includes(job.lastRun.state)) {
        throw new ApiError(
          409,
          'job_running',
          `The job "${job.name}" is running: stop it first ("mllab job stop ${job.name}").`,
        );
      }
      await jobs.delete(job.id);
      events.publish({ type: 'jobDeleted', projectId: job.projectId, jobId: job.id });
      void reply.code(204);
    },
  );

  app.post<NameRequest>(
    '/api/jobs/:name/runs',
    { schema: { params: nameParams, querystring: projectQuery } },
    async (request, reply): Promise<JobRun> => {
      const job = jobs.definition(projectOf(request.query), request.params.name);
      const run = await (deps.startRun ? deps.startRun(job) : runner.run(job));
      void reply.code(201);
      return run;
    },
  );

  app.get<NameRequest>(
    '/api/jobs/:name/runs',
    { schema: { params: nameParams, querystring: projectQuery } },
    async (request): Promise<JobRun[]> => jobs.runs(jobs.get(projectOf(request.query), request.params.name).id),
  );

  app.post<NameRequest>(
    '/api/jobs/:name/stop',
    { schema: { params: nameParams, querystring: projectQuery } },
    async (request): Promise<JobRun> => {
      const job = jobs.get(projectOf(request.query), request.params.name);
      if (!job.lastRun || !ACTIVE_STATES.includes(job.lastRun.state)) {
        throw new ApiError(409, 'not_running', `The job "${job.name}" is not running: nothing to stop.`);
      }
      return runner.stop(job.lastRun.id);
    },
  );

  app.get<{ Params: { runId: string } }>(
    '/api/job-runs/:runId',
    { schema: { params: runParams } },
    async (request): Promise<JobRun> => jobs.run(request.params.runId),
  );

  app.post<{ Params: { runId: string } }>(
    '/api/job-runs/:runId/stop',
    { schema: { params: runParams } },
    async (request): Promise<JobRun> => runner.stop(request.params.runId),
  );

  app.get<{ Params: { runId: string }; Querystring: { follow?: string } }>(
    '/api/job-runs/:runId/logs',
    {
      schema: {
        params: runParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { follow: trueFalse },
        },
      },
    },
    async (request, reply): Promise<void> => {
      const run = jobs.run(request.params.runId);
      const follow = request.query.follow === 'true';
      sendTextStream(
        reply,
        followFile(runLogFile(deps.home, run.id), () => !follow || !ACTIVE_STATES.includes(jobs.run(run.id).state)),
      );
    },
  );

  app.get<{ Querystring: { project?: string; format?: string } }>(
    '/api/jobs-file',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { ...projectQuery.properties, format: { type: 'string', enum: ['yaml', 'json'] } },
        },
      },
    },
    async (request, reply): Promise<string> => {
      const specs: JobSpec[] = jobs.list(projectOf(request.query)).map((j) => ({
        name: j.name,
        image: j.image,
        command: j.command,
        env: j.env,
        workingDir: j.workingDir,
        cpus: j.cpus,
        memoryBytes: j.memoryBytes,
        gpus: j.gpus,
        timeoutSeconds: j.timeoutSeconds,
      }));
      const file = toJobsFile(specs);
      if (request.query.format === 'json') {
        void reply.type('application/json; charset=utf-8');
        return JSON.stringify(file, null, 2) + '\n';
      }
      void reply.type('text/yaml; charset=utf-8');
      return `# ML Lab jobs: import with "mllab job import FILE"\n${YAML.stringify(file)}`;
    },
  );

  app.post<{ Body: { text: string }; Querystring: { project?: string } }>(
    '/api/jobs-file',
    {
      schema: {
        querystring: projectQuery,
        body: {
          type: 'object',
          required: ['text'],
          additionalProperties: false,
          properties: { text: { type: 'string', maxLength: 60000 } },
        },
      },
    },
    async (request): Promise<ImportJobsResult> => {
      const projectId = projectOf(request.query);
      const specs = parseJobsFile(request.body.text, entryValidator());
      const created: string[] = [];
      const updated: string[] = [];
      for (const spec of specs) {
        const outcome = await jobs.save(projectId, spec, null, true);
        (outcome === 'created' ? created : updated).push(spec.name);
        changed(jobs.get(projectId, spec.name));
      }
      return { created, updated };
    },
  );
}

import type { FastifyInstance } from 'fastify';
import YAML from 'yaml';
import type { JobRun, JobSpec } from '../../protocol/containers';
import { jobRoutes as routes, jobsFileEntrySchema } from '../../protocol/routes/jobs';
import { ApiError } from '../errors';
import { sendTextStream } from '../runtime/stream-reply';
import type { ProjectRepository } from '../projects/repository';
import { ACTIVE_STATES, MANUAL_TRIGGER, runLogFile, type JobRepository, type JobRow } from './repository';
import { followFile } from './follow-file';
import type { JobRunner } from './run-lifecycle';
import { type EntryValidator, parseJobsFile, toJobSpec, toJobsFile } from './spec';
import { register } from '../http/register';
import { requireMachineAccess } from '../http/machine-access';

const WITHOUT_WORKSPACE = 'leave out "workspace": a job reads its project\'s datasets with mllab.dataset()';

/** What a job's workspace does, for requireMachineAccess. */
function workspaceUse(workspace: string | null | undefined): string | undefined {
  return workspace ? `Mounting a folder of the lab's machine (${workspace.slice(0, 200)}) into a job` : undefined;
}

export interface JobRouteDeps {
  readonly home: string;
  readonly projects: ProjectRepository;
  readonly jobs: JobRepository;
  readonly runner: JobRunner;
  /** starts a manual run (the scheduler's, so that the jobs that depend on it follow); default: the runner */
  readonly startRun?: (job: JobRow) => Promise<JobRun>;
}

export function registerJobRoutes(app: FastifyInstance, deps: JobRouteDeps): void {
  const { projects, jobs, runner } = deps;
  const projectOf = (q: { project?: string }) => projects.resolveOrActive(q.project).id;
  // the entries of a jobs file go through the API's own validator (same rules, same messages);
  // it exists once the server is ready, so it is compiled at the first import
  let validateEntry: EntryValidator | undefined;
  const entryValidator = (): EntryValidator =>
    (validateEntry ??= app.validatorCompiler!({
      schema: jobsFileEntrySchema,
      method: routes.importFile.method,
      url: routes.importFile.path,
      httpPart: 'body',
    }) as EntryValidator);

  register(app, routes.list, async (request) => jobs.list(projectOf(request.query)));

  register(app, routes.create, async (request) => {
    requireMachineAccess(request, workspaceUse(request.body.workspace), WITHOUT_WORKSPACE);
    const projectId = projectOf(request.query);
    const { job } = await jobs.save(projectId, toJobSpec(request.body), request.body.workspace ?? null, false);
    return job;
  });

  register(app, routes.get, async (request) => jobs.get(projectOf(request.query), request.params.name));

  register(app, routes.delete, async (request) => {
    const job = jobs.get(projectOf(request.query), request.params.name);
    if (job.lastRun && ACTIVE_STATES.includes(job.lastRun.state)) {
      throw new ApiError(
        409,
        'job_running',
        `The job "${job.name}" is running: stop it first ("mllab job stop ${job.name}").`,
      );
    }
    await jobs.delete(job);
  });

  register(app, routes.run, async (request) => {
    const job = jobs.definition(projectOf(request.query), request.params.name);
    const given = request.body ?? {};
    if (given.params || given.tags) {
      // a run with params of its own (a sweep's trial) is one experiment, not the start of a pipeline
      return runner.run(job, MANUAL_TRIGGER, given);
    }
    return deps.startRun ? deps.startRun(job) : runner.run(job);
  });

  register(app, routes.runs, async (request) => jobs.runs(jobs.get(projectOf(request.query), request.params.name).id));

  register(app, routes.stop, async (request) => {
    const job = jobs.get(projectOf(request.query), request.params.name);
    if (!job.lastRun || !ACTIVE_STATES.includes(job.lastRun.state)) {
      throw new ApiError(409, 'not_running', `The job "${job.name}" is not running: nothing to stop.`);
    }
    return runner.stop(job.lastRun.id);
  });

  register(app, routes.getRun, async (request) => jobs.run(request.params.runId));

  register(app, routes.stopRun, async (request) => runner.stop(request.params.runId));

  register(app, routes.runLogs, async (request, reply) => {
    const run = jobs.run(request.params.runId);
    const follow = request.query.follow === 'true';
    sendTextStream(
      reply,
      followFile(runLogFile(deps.home, run.id), () => !follow || !ACTIVE_STATES.includes(jobs.run(run.id).state)),
    );
  });

  register(app, routes.exportFile, async (request, reply) => {
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
      ...(j.target ? { target: j.target } : {}),
      ...(j.placement ? { placement: j.placement } : {}),
      ...(j.retries ? { retries: j.retries } : {}),
    }));
    const file = toJobsFile(specs);
    if (request.query.format === 'json') {
      void reply.type('application/json; charset=utf-8');
      return JSON.stringify(file, null, 2) + '\n';
    }
    void reply.type('text/yaml; charset=utf-8');
    return `# ML Lab jobs: import with "mllab job import FILE"\n${YAML.stringify(file)}`;
  });

  register(app, routes.importFile, async (request) => {
    const projectId = projectOf(request.query);
    const specs = parseJobsFile(request.body.text, entryValidator());
    const created: string[] = [];
    const updated: string[] = [];
    for (const spec of specs) {
      const { outcome } = await jobs.save(projectId, spec, null, true);
      (outcome === 'created' ? created : updated).push(spec.name);
    }
    return { created, updated };
  });
}

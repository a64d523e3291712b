import type { FastifyRequest } from 'fastify';
import type { Project } from '../../protocol/api';
import type { RunEvent } from '../../protocol/experiments';
import { ApiError } from '../errors';
import type { ProjectNeed } from '../http/project-scopes';
import { checkNamedProject, projectAnswer } from '../http/server';
import type { ProjectRepository } from '../projects/repository';
import { invalid } from './errors';
import { type MlflowExperiments, notFoundExperiment } from './experiments';
import { DELETED_TAG, type MlflowRunWriter, notFoundRun } from './run-writer';
import type { RunsView } from './runs-view';
import { type Input, runIdOf, text } from './values';

/**
 * What an MLflow request may reach: the experiment or run it names, checked against the user's role
 * in its project. A project the user cannot read is answered as MLflow answers an experiment (or run)
 * that does not exist, word for word (its existence is no one else's business).
 */
export class MlflowAccess {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly experiments: MlflowExperiments,
    private readonly view: RunsView,
    private readonly writer: MlflowRunWriter,
  ) {}

  /** The user's role in the project allows `need`; else `hidden()` (not found) or the lab's 403. */
  check(
    request: FastifyRequest,
    project: Project,
    need: ProjectNeed,
    hidden: () => Error = () => notFoundExperiment(project.id),
  ): void {
    try {
      checkNamedProject(request, project.id, need);
    } catch (e) {
      throw e instanceof ApiError && e.statusCode === 404 ? hidden() : e;
    }
  }

  /** The experiment (project) of a request's `experiment_id`, checked. */
  experimentOf(request: FastifyRequest, input: Input, need: ProjectNeed): Project {
    const id = text(input, 'experiment_id', { required: true, max: 100 });
    const project = this.experiments.projectOf(id);
    this.check(request, project, need, () => notFoundExperiment(id));
    return project;
  }

  /** The run of a request, checked against the user's role in its project. */
  runOf(request: FastifyRequest, input: Input, need: ProjectNeed): { id: string; project: Project } {
    const id = runIdOf(input);
    const project = this.projectOfRun(id);
    this.check(request, project, need, () => notFoundRun(id));
    return { id, project };
  }

  /** A run that may change: active (not deleted through MLflow) in an active experiment. */
  writableRun(request: FastifyRequest, input: Input): { id: string; project: Project } {
    const run = this.runOf(request, input, 'write');
    this.experiments.checkActive(run.project);
    if (this.writer.state(run.id).tags.get(DELETED_TAG) === 'true') {
      throw invalid(`The run ${run.id} must be in the 'active' state. Current state is deleted.`);
    }
    return run;
  }

  /** The project id of a run whose artifacts a request reaches, checked (and active, to write). */
  runProject(request: FastifyRequest, runId: string, need: ProjectNeed): string {
    const project = this.projectOfRun(runId);
    this.check(request, project, need, () => notFoundRun(runId));
    if (need !== 'read') {
      this.experiments.checkActive(project);
    }
    return project.id;
  }

  /** The experiments the user may read. */
  async readable(request: FastifyRequest): Promise<Project[]> {
    return (await projectAnswer(request, 'projectList', this.experiments.all())) as Project[];
  }

  /** Params to log: refused all together when one would change a value the run holds (MLflow's rule). */
  paramEvents(id: string, params: readonly { key: string; value: string }[], t: number): RunEvent[] {
    const held = this.writer.state(id).params;
    const seen = new Map<string, string>();
    for (const p of params) {
      const old = held.get(p.key) ?? seen.get(p.key);
      if (old !== undefined && old !== p.value) {
        throw invalid(
          `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old.slice(0, 500)}' for run ID='${id}'. Attempted logging new value '${p.value.slice(0, 500)}'.`,
        );
      }
      seen.set(p.key, p.value);
    }
    return params.filter((p) => !held.has(p.key)).map((p) => ({ k: 'param', key: p.key, v: p.value, t }));
  }

  /**
   * The project of a run: the store's once the ingest has the run, else the one its run.json names
   * (an id or a name), else the active one.
   */
  private projectOfRun(id: string): Project {
    const named = this.view.projectOf(id, () => this.projects.activeId());
    try {
      return this.projects.resolve(named);
    } catch {
      throw notFoundRun(id);
    }
  }
}

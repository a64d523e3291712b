import * as fs from 'fs';
import * as path from 'path';
import type { Project } from '../../protocol/api';
import {
  DEFAULT_EXPERIMENT_ID,
  DEFAULT_EXPERIMENT_NAME,
  MLFLOW_LIMITS,
  type MlflowExperiment,
  type MlflowTag,
} from '../../protocol/mlflow';
import { writeJsonAtomic } from '../../common/run-directory/files';
import type { ProjectRepository } from '../projects/repository';
import { MlflowError } from './errors';

/**
 * What MLflow knows of an experiment that a project does not hold: whether it was deleted (MLflow's
 * delete is a mark that restore takes back; the lab's project delete removes everything, so it is
 * not what MLflow's clients ask for) and its tags. Kept in `<home>/mlflow/experiments.json`, written
 * whole through a temp file (a few entries per project).
 */
interface ExperimentMarks {
  /** project id -> when it was deleted through MLflow (unix ms) */
  deleted: Record<string, number>;
  /** project id -> tag key -> value */
  tags: Record<string, Record<string, string>>;
}

/** Tags one experiment keeps at most (each bounded like a run's tag). */
const TAGS_PER_EXPERIMENT = 100;

export const notFoundExperiment = (id: string) =>
  new MlflowError('RESOURCE_DOES_NOT_EXIST', `Could not find experiment with ID ${id.slice(0, 100)}`);

/**
 * MLflow experiments are the lab's projects: the experiment id is the project id, the name the
 * project's name; the experiment "0" ("Default", MLflow's experiment of runs that name none) is the
 * lab's active project.
 */
export class MlflowExperiments {
  private readonly file: string;
  private marks: ExperimentMarks;

  constructor(
    home: string,
    private readonly projects: ProjectRepository,
  ) {
    this.file = path.join(home, 'mlflow', 'experiments.json');
    this.marks = this.read();
  }

  private read(): ExperimentMarks {
    try {
      const parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<ExperimentMarks>;
      return { deleted: parsed.deleted ?? {}, tags: parsed.tags ?? {} };
    } catch {
      return { deleted: {}, tags: {} };
    }
  }

  private save(change: (marks: ExperimentMarks) => void): void {
    const next = JSON.parse(JSON.stringify(this.marks)) as ExperimentMarks;
    change(next);
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    writeJsonAtomic(this.file, next);
    this.marks = next;
  }

  /** The project of an experiment id ("0": the active project); 404 in MLflow's words. */
  projectOf(experimentId: string): Project {
    if (experimentId === DEFAULT_EXPERIMENT_ID) {
      const active = this.projects.activeId();
      if (active === null) {
        throw new MlflowError(
          'RESOURCE_DOES_NOT_EXIST',
          'Could not find experiment with ID 0: the lab has no active project (the "Default" experiment); create one or make one active.',
        );
      }
      return this.projects.get(active);
    }
    const found = this.projects.list().find((p) => p.id === experimentId);
    if (!found) {
      throw notFoundExperiment(experimentId);
    }
    return found;
  }

  /** The experiment "0" for a new run: the active project, or a new project "Default" when none is active. */
  async defaultProject(): Promise<Project> {
    const active = this.projects.activeId();
    if (active !== null) {
      return this.projects.get(active);
    }
    const existing = this.byNameOrUndefined(DEFAULT_EXPERIMENT_NAME);
    if (existing) {
      await this.projects.setActive(existing.id);
      return existing;
    }
    return (await this.projects.create(DEFAULT_EXPERIMENT_NAME, 'Runs recorded through MLflow without an experiment'))
      .project;
  }

  private byNameOrUndefined(name: string): Project | undefined {
    const lower = name.toLowerCase();
    return this.projects.list().find((p) => p.name.toLowerCase() === lower);
  }

  /** The project named `name`; "Default" is the active project when no project has that name. */
  byName(name: string): Project {
    const found = this.byNameOrUndefined(name);
    if (found) {
      return found;
    }
    if (name === DEFAULT_EXPERIMENT_NAME && this.projects.activeId() !== null) {
      return this.projects.get(this.projects.activeId()!);
    }
    throw this.notFoundName(name);
  }

  notFoundName(name: string): MlflowError {
    return new MlflowError('RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name.slice(0, 250)}'`);
  }

  isDeleted(projectId: string): boolean {
    return this.marks.deleted[projectId] !== undefined;
  }

  /** Refuses a change to a run of a deleted experiment, as MLflow does. */
  checkActive(project: Project): void {
    if (this.isDeleted(project.id)) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `The experiment ${project.id} must be in the 'active' state. Current state is deleted.`,
      );
    }
  }

  all(): Project[] {
    return this.projects.list();
  }

  async create(name: string, tags: readonly MlflowTag[]): Promise<Project> {
    if (name.length > MLFLOW_LIMITS.nameChars) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `The experiment name has ${name.length} characters: at most ${MLFLOW_LIMITS.nameChars}.`,
      );
    }
    if (this.byNameOrUndefined(name)) {
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
    }
    const { project } = await this.projects.create(name);
    if (tags.length > 0) {
      tags.forEach((t) => this.setTag(project.id, t.key, t.value));
    }
    return project;
  }

  async rename(project: Project, name: string): Promise<void> {
    const other = this.byNameOrUndefined(name);
    if (other && other.id !== project.id) {
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
    }
    await this.projects.update(project.id, { name });
  }

  setDeleted(projectId: string, deleted: boolean): void {
    this.save((m) => {
      if (deleted) {
        m.deleted[projectId] = Date.now();
      } else {
        delete m.deleted[projectId];
      }
    });
  }

  setTag(projectId: string, key: string, value: string | undefined): void {
    const tags = this.marks.tags[projectId] ?? {};
    if (value !== undefined && tags[key] === undefined && Object.keys(tags).length >= TAGS_PER_EXPERIMENT) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `An experiment keeps at most ${TAGS_PER_EXPERIMENT} tags: delete one first.`,
      );
    }
    if (value === undefined && tags[key] === undefined) {
      throw new MlflowError(
        'RESOURCE_DOES_NOT_EXIST',
        `No tag with name: ${key.slice(0, 250)} in experiment ${projectId}.`,
      );
    }
    this.save((m) => {
      const own = (m.tags[projectId] ??= {});
      if (value === undefined) {
        delete own[key];
      } else {
        own[key] = value;
      }
    });
  }

  toMlflow(project: Project): MlflowExperiment {
    const deletedAt = this.marks.deleted[project.id];
    return {
      experiment_id: project.id,
      name: project.name,
      artifact_location: `mlflow-artifacts:/${project.id}`,
      lifecycle_stage: deletedAt === undefined ? 'active' : 'deleted',
      creation_time: Date.parse(project.createdAt),
      last_update_time: Math.max(Date.parse(project.updatedAt), deletedAt ?? 0),
      tags: Object.entries(this.marks.tags[project.id] ?? {}).map(([key, value]) => ({ key, value })),
    };
  }
}

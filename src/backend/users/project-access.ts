import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { BackendEvent, Project } from '../../protocol/api';
import { RUN_LIMITS } from '../../protocol/limits';
import type { ProjectRole } from '../../protocol/users';
import { OWNER, PROJECT_ROLES } from '../../protocol/users';
import { ApiError } from '../errors';
import type { AnswerRule, Identity, ProjectGate, ProjectRule, ScopedRequest } from '../http/access';
import type { ProjectNeed, ProjectSource } from '../http/project-scopes';
import type { ProjectRepository } from '../projects/repository';
import type { Store } from '../store/database';
import type { MemberRepository } from './members';

const NEEDED: Record<ProjectNeed, ProjectRole> = { read: 'viewer', write: 'editor', manage: 'owner' };
/** remembered projects of dataset adds and of runs (for their events): the oldest are forgotten first */
const REMEMBERED = 10_000;

export interface ProjectAccessDeps {
  readonly home: string;
  /** read for the project of an experiment or a job run named by id */
  readonly store: Store;
  readonly projects: ProjectRepository;
  readonly members: MemberRepository;
}

/** What a request's project rule found. */
type Target =
  /** a project: `named` is how the request named it (absent: the active project) */
  | { readonly kind: 'project'; readonly project: Project; readonly named?: string }
  /** nothing to check: the handler answers (a project or record that does not exist, a run not sent yet) */
  | { readonly kind: 'none' }
  /** a record whose project only admins may see (a run waiting for a project) */
  | { readonly kind: 'hidden'; readonly notFound: ApiError };

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function remember(map: Map<string, string>, key: string, value: string): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > REMEMBERED) {
    map.delete(map.keys().next().value as string);
  }
}

const noProject = (named: string) =>
  new ApiError(404, 'not_found', `No project is called or has the id "${named}": list them with "mllab project list".`);

/**
 * Per-project roles: a user's role in a project is their membership's (at most a viewer's for a lab
 * viewer); the lab's admins, and the owner of the lab home, act as owner of every project. A project
 * the user cannot read is answered as if it did not exist.
 */
export class ProjectAccess implements ProjectGate {
  /** dataset add operation id -> project id (its cancel and its progress events) */
  private readonly operations = new Map<string, string>();
  /** experiment id -> project id, for the events that name a run by id only */
  private readonly runs = new Map<string, string>();

  constructor(private readonly deps: ProjectAccessDeps) {}

  /** The user's role in a project, or undefined when they may not even read it. */
  roleIn(identity: Identity, projectId: string): ProjectRole | undefined {
    if (identity.role === 'admin') {
      return 'owner';
    }
    const role = this.deps.members.roleOf(projectId, identity.name);
    return role && identity.role === 'viewer' ? 'viewer' : role;
  }

  private readable(identity: Identity, projectId: string): boolean {
    return this.roleIn(identity, projectId) !== undefined;
  }

  check(identity: Identity, rule: ProjectRule, request: ScopedRequest): void {
    if (rule.from.kind === 'body' && rule.from.operation) {
      this.noteOperation(request);
    }
    if (identity.role === 'admin') {
      return;
    }
    const target = this.target(rule.from, request);
    if (target.kind === 'none') {
      return;
    }
    if (target.kind === 'hidden') {
      throw target.notFound;
    }
    this.require(identity, target, rule.need, () => this.notFound(rule.from, request, target.named));
    if (rule.from.kind === 'modelSource') {
      this.checkSourceRun(identity, request);
    }
    this.pin(rule.from, request, target.project.id);
  }

  checkNamed(identity: Identity, idOrName: string | null, need: ProjectNeed): void {
    if (identity.role === 'admin') {
      return;
    }
    let project: Project;
    try {
      project = this.deps.projects.resolveOrActive(idOrName ?? undefined);
    } catch (e) {
      if (e instanceof ApiError && e.statusCode === 404 && idOrName !== null) {
        // a run naming a project that does not exist would wait for whoever creates it: not for a user
        // (answered as for a project they cannot read, so that neither tells the other apart)
        throw noProject(idOrName);
      }
      throw e;
    }
    this.require(identity, { project }, need, () => (idOrName === null ? this.noActive() : noProject(idOrName)));
  }

  async answer(identity: Identity, rule: AnswerRule, answer: unknown): Promise<unknown> {
    switch (rule) {
      case 'projectList':
        return identity.role === 'admin' ? answer : (answer as Project[]).filter((p) => this.readable(identity, p.id));
      case 'activeProject': {
        const id = record(answer).projectId;
        return typeof id === 'string' && !this.readable(identity, id) ? { projectId: null } : answer;
      }
      case 'status': {
        const id = record(answer).activeProjectId;
        return typeof id === 'string' && !this.readable(identity, id)
          ? { ...record(answer), activeProjectId: null }
          : answer;
      }
      case 'createdProject': {
        const project = answer as Project;
        // a user who creates a project owns it (the owner of the lab home needs no membership)
        if (identity.name !== OWNER) {
          await this.deps.members.set(project, identity, 'owner');
        }
        return answer;
      }
    }
  }

  sees(identity: Identity, event: BackendEvent): boolean {
    const projectId = this.projectOfEvent(event);
    return projectId === undefined || identity.role === 'admin' || this.readable(identity, projectId);
  }

  /** The project an event is about; undefined: none (the lab's status) or no longer known (a deleted project). */
  private projectOfEvent(event: BackendEvent): string | undefined {
    switch (event.type) {
      case 'datasetVersionAdded':
        return event.version.projectId;
      case 'experimentUpdated':
        remember(this.runs, event.experiment.id, event.experiment.projectId);
        return event.experiment.projectId;
      case 'experimentDeleted':
        return this.experimentProject(event.id) ?? '';
      case 'metricPoints':
        return this.experimentProject(event.runId) ?? '';
      case 'operationProgress':
        // an add nobody checked (made before this stream's lab started) is shown to admins only
        return this.operations.get(event.progress.operationId) ?? '';
      case 'projectCreated':
      case 'projectUpdated':
        return event.project.id;
      case 'activeProjectChanged':
        return event.projectId ?? undefined;
      case 'jobChanged':
        return event.job.projectId;
      case 'jobRunUpdated':
        return event.run.projectId;
      case 'serviceUpdated':
        return event.service.projectId;
      case 'modelChanged':
        return event.model.projectId;
      case 'sweepUpdated':
        return event.sweep.projectId;
      case 'datasetVersionDeleted':
      case 'jobDeleted':
      case 'scheduleChanged':
      case 'pipelineChanged':
      case 'serviceDeleted':
      case 'modelDeleted':
        return event.projectId;
      default:
        // hello, projectDeleted (its members are gone with it; it names an id only), the lab's status,
        // Docker, images, ingest progress, shutting down
        return undefined;
    }
  }

  private experimentProject(id: string): string | undefined {
    const known = this.runs.get(id);
    if (known !== undefined) {
      return known;
    }
    const row = this.deps.store.get('SELECT project_id FROM experiments WHERE id = ?', [id]);
    if (row) {
      remember(this.runs, id, String(row.project_id));
    }
    return row ? String(row.project_id) : undefined;
  }

  private require(identity: Identity, target: { project: Project }, need: ProjectNeed, notFound: () => ApiError): void {
    const role = this.roleIn(identity, target.project.id);
    if (role === undefined) {
      throw notFound();
    }
    const needed = NEEDED[need];
    if (PROJECT_ROLES.indexOf(role) < PROJECT_ROLES.indexOf(needed)) {
      const name = target.project.name;
      throw new ApiError(
        403,
        'forbidden',
        `${needed} role in project '${name}' needed; you are ${role}: ask an owner of '${name}' ("mllab project member add ${name} ${identity.name} --role ${needed}").`,
      );
    }
  }

  private target(from: ProjectSource, request: ScopedRequest): Target {
    const params = record(request.params);
    switch (from.kind) {
      case 'query':
        return this.project(record(request.query).project, true);
      case 'param':
        return this.project(params[from.name], false);
      case 'body': {
        const value = record(request.body)[from.field];
        return this.project(value === null ? undefined : value, from.orActive);
      }
      case 'modelSource': {
        const body = record(request.body);
        if (typeof body.project === 'string' || typeof body.experimentId !== 'string') {
          return this.project(body.project, true);
        }
        const id = this.experimentProject(body.experimentId);
        return id === undefined ? { kind: 'none' } : this.byId(id);
      }
      case 'experiment': {
        const id = this.experimentProject(String(params[from.param]));
        return id === undefined ? { kind: 'none' } : this.byId(id);
      }
      case 'jobRun': {
        const row = this.deps.store.get('SELECT project_id FROM job_runs WHERE id = ?', [String(params[from.param])]);
        return row ? this.byId(String(row.project_id)) : { kind: 'none' };
      }
      case 'operation': {
        const id = this.operations.get(String(params[from.param]));
        return id === undefined ? { kind: 'hidden', notFound: this.notFound(from, request, undefined) } : this.byId(id);
      }
      case 'run':
        return this.runTarget(String(params[from.param]), () => this.notFound(from, request, undefined));
    }
  }

  /** The project named (or the active one): none when it does not exist, so the handler answers as it always did. */
  private project(named: unknown, orActive: boolean): Target {
    if (typeof named !== 'string' && !orActive) {
      return { kind: 'none' };
    }
    try {
      const given = typeof named === 'string' ? named : undefined;
      return { kind: 'project', project: this.deps.projects.resolveOrActive(given), named: given };
    } catch {
      return { kind: 'none' };
    }
  }

  private byId(id: string): Target {
    try {
      return { kind: 'project', project: this.deps.projects.get(id), named: id };
    } catch {
      return { kind: 'none' };
    }
  }

  /**
   * A run sent over the network: the project it was ingested into, else the one its stored run.json
   * names (a project that does not exist yet: admins only), else none (events and files may come
   * before run.json; the manifest's project is checked when it comes).
   */
  private runTarget(id: string, notFound: () => ApiError): Target {
    const ingested = this.experimentProject(id);
    if (ingested !== undefined) {
      return this.byId(ingested);
    }
    const file = path.join(this.deps.home, 'runs', id, 'run.json');
    const st = fs.lstatSync(file, { throwIfNoEntry: false });
    if (!st?.isFile()) {
      return { kind: 'none' };
    }
    let named: unknown = null;
    try {
      named = st.size <= RUN_LIMITS.manifestBytes ? record(JSON.parse(fs.readFileSync(file, 'utf8'))).project : null;
    } catch {
      named = null;
    }
    try {
      const project = this.deps.projects.resolveOrActive(typeof named === 'string' ? named : undefined);
      return { kind: 'project', project };
    } catch {
      return { kind: 'hidden', notFound: notFound() };
    }
  }

  /** A dataset add: its operation id (made here when the client sent none) is remembered with its project. */
  private noteOperation(request: ScopedRequest): void {
    const body = record(request.body);
    if (typeof body.operationId !== 'string') {
      body.operationId = randomUUID();
    }
    const target = this.project(body.project, true);
    if (target.kind === 'project') {
      remember(this.operations, body.operationId as string, target.project.id);
    }
  }

  /** A model registered from an experiment: one of a project the user cannot read does not exist for them. */
  private checkSourceRun(identity: Identity, request: ScopedRequest): void {
    const id = record(request.body).experimentId;
    const projectId = typeof id === 'string' ? this.experimentProject(id) : undefined;
    if (projectId !== undefined && !this.readable(identity, projectId)) {
      throw this.notFound({ kind: 'experiment', param: 'id' }, { params: { id }, query: {}, body: {} }, undefined);
    }
  }

  /** The project found becomes the one the handler acts on, even if the active project changes meanwhile. */
  private pin(from: ProjectSource, request: ScopedRequest, projectId: string): void {
    if (from.kind === 'query') {
      record(request.query).project = projectId;
    } else if (from.kind === 'param') {
      record(request.params)[from.name] = projectId;
    } else if (
      from.kind === 'body' ||
      (from.kind === 'modelSource' && typeof record(request.body).project === 'string')
    ) {
      record(request.body)[from.kind === 'body' ? from.field : 'project'] = projectId;
    }
  }

  private notFound(from: ProjectSource, request: ScopedRequest, named: string | undefined): ApiError {
    const id = 'param' in from ? String(record(request.params)[from.param]) : '';
    switch (from.kind) {
      case 'experiment':
        return new ApiError(
          404,
          'not_found',
          `No experiment with id "${id}" exists: it may have been deleted. List them with "mllab experiment list".`,
        );
      case 'jobRun':
        return new ApiError(404, 'not_found', `No job run with id "${id}": list the runs with "mllab job list".`);
      case 'operation':
        return new ApiError(404, 'not_found', `No operation "${id}" is running: it may have finished already.`);
      case 'run':
        return new ApiError(
          404,
          'not_found',
          `The lab holds no run ${id} of a project you can read: check the run id and the project its run.json names.`,
        );
      default:
        return named === undefined ? this.noActive() : noProject(named);
    }
  }

  private noActive(): ApiError {
    return new ApiError(
      404,
      'not_found',
      'The active project of the lab is not one you can read: name one of yours (--project NAME); "mllab project list" shows them.',
    );
  }
}

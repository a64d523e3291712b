import { datasetRoutes as datasets } from '../../protocol/routes/datasets';
import { experimentRoutes as experiments } from '../../protocol/routes/experiments';
import { jobRoutes as jobs } from '../../protocol/routes/jobs';
import { memberRoutes as members } from '../../protocol/routes/members';
import { modelRoutes as models } from '../../protocol/routes/models';
import { projectRoutes as projects } from '../../protocol/routes/projects';
import type { Route } from '../../protocol/routes/route';
import { runUploadRoutes as runUpload } from '../../protocol/routes/run-upload';
import { runtimeRoutes as runtime } from '../../protocol/routes/runtime';
import { schedulerRoutes as scheduler } from '../../protocol/routes/scheduler';
import { serviceRoutes as services } from '../../protocol/routes/services';
import { statusRoutes as status } from '../../protocol/routes/status';
import { sweepRoutes as sweeps } from '../../protocol/routes/sweeps';
import { targetRoutes as targets } from '../../protocol/routes/targets';
import { userRoutes as users } from '../../protocol/routes/users';

/** What a request does to its project: read it (viewer), change its records (editor), manage it (owner). */
export type ProjectNeed = 'read' | 'write' | 'manage';

/** Where a request names the project it concerns. */
export type ProjectSource =
  /** `?project=ID|NAME`, else the lab's active project (as the handlers resolve it) */
  | { readonly kind: 'query' }
  /** a path part holding a project id or name */
  | { readonly kind: 'param'; readonly name: string }
  /**
   * a body field holding a project id or name; absent (or null): the active project when `orActive`,
   * else none; `operation`: the body's `operationId` names a dataset add, whose cancel and progress
   * events belong to that project
   */
  | { readonly kind: 'body'; readonly field: string; readonly orActive: boolean; readonly operation?: true }
  /** the project of the experiment (run) whose id is in a path part */
  | { readonly kind: 'experiment'; readonly param: string }
  /** the project of the job run whose id is in a path part */
  | { readonly kind: 'jobRun'; readonly param: string }
  /** the project of the running dataset add whose operation id is in a path part */
  | { readonly kind: 'operation'; readonly param: string }
  /** the project of a run sent over the network (ingested, or named by the run.json stored); none before its run.json */
  | { readonly kind: 'run'; readonly param: string }
  /** a model registered: `project` in the body, else the project of `experimentId`, else the active project */
  | { readonly kind: 'modelSource' };

/**
 * The project rule of a route: `lab` routes are not about a project (the lab role alone decides);
 * `answer` routes are about projects in general and their answer shows only what the user can read
 * (or, for a created project, makes its creator the owner); `project` routes need a role in the
 * project their request names.
 */
export type ProjectScope =
  | { readonly about: 'lab' }
  | { readonly about: 'answer'; readonly answer: 'projectList' | 'activeProject' | 'createdProject' | 'status' }
  | { readonly about: 'project'; readonly need: ProjectNeed; readonly from: ProjectSource };

const LAB = { about: 'lab' } as const;
const inQuery = (need: ProjectNeed): ProjectScope => ({ about: 'project', need, from: { kind: 'query' } });
const inParam = (need: ProjectNeed, name = 'id'): ProjectScope => ({
  about: 'project',
  need,
  from: { kind: 'param', name },
});
const of = (kind: 'experiment' | 'jobRun' | 'operation' | 'run', param: string, need: ProjectNeed): ProjectScope => ({
  about: 'project',
  need,
  from: { kind, param },
});

/** A rule's key: a route table entry, or its `METHOD /path`. */
const keyOf = (route: Route | string) => (typeof route === 'string' ? route : `${route.method} ${route.path}`);

/**
 * The project rule of every route table entry, declared once here and enforced for every route by
 * `register` (http/register.ts); `test/unit/project-roles.test.ts` checks that no entry is missing.
 */
const RULES: ReadonlyArray<readonly [Route | string, ProjectScope]> = [
  // the lab's status names the active project: not one the user cannot read
  [status.status, { about: 'answer', answer: 'status' }],
  [status.shutdown, LAB],
  ...Object.values(users).map((r) => [r, LAB] as const),
  ...Object.values(runtime).map((r) => [r, LAB] as const),

  [projects.list, { about: 'answer', answer: 'projectList' }],
  [projects.create, { about: 'answer', answer: 'createdProject' }],
  [projects.get, inParam('read')],
  [projects.contents, inParam('read')],
  [projects.update, inParam('manage')],
  [projects.delete, inParam('manage')],
  [projects.active, { about: 'answer', answer: 'activeProject' }],
  [projects.setActive, { about: 'project', need: 'read', from: { kind: 'body', field: 'projectId', orActive: false } }],

  [members.list, inParam('read')],
  [members.set, inParam('manage')],
  [members.remove, inParam('manage')],

  [datasets.list, inQuery('read')],
  [
    datasets.add,
    { about: 'project', need: 'write', from: { kind: 'body', field: 'project', orActive: true, operation: true } },
  ],
  [datasets.getVersion, inQuery('read')],
  [datasets.deleteVersion, inQuery('write')],
  [datasets.cancelOperation, of('operation', 'id', 'write')],

  [experiments.list, inQuery('read')],
  [experiments.get, of('experiment', 'id', 'read')],
  [experiments.series, of('experiment', 'id', 'read')],
  [experiments.delete, of('experiment', 'id', 'write')],

  [jobs.list, inQuery('read')],
  [jobs.create, inQuery('write')],
  [jobs.get, inQuery('read')],
  [jobs.delete, inQuery('write')],
  [jobs.run, inQuery('write')],
  [jobs.runs, inQuery('read')],
  [jobs.stop, inQuery('write')],
  [jobs.getRun, of('jobRun', 'runId', 'read')],
  [jobs.stopRun, of('jobRun', 'runId', 'write')],
  [jobs.runLogs, of('jobRun', 'runId', 'read')],
  [jobs.exportFile, inQuery('read')],
  [jobs.importFile, inQuery('write')],

  [scheduler.list, inQuery('read')],
  [scheduler.preview, LAB],
  [scheduler.get, inQuery('read')],
  [scheduler.put, inQuery('write')],
  [scheduler.patch, inQuery('write')],
  [scheduler.delete, inQuery('write')],
  [scheduler.setUpstreams, inQuery('write')],
  [scheduler.rerunFrom, inQuery('write')],
  [scheduler.runPipeline, inQuery('write')],
  [scheduler.pipeline, inQuery('read')],

  [services.list, inQuery('read')],
  [services.deploy, inQuery('write')],
  [services.get, inQuery('read')],
  [services.stop, inQuery('write')],
  [services.start, inQuery('write')],
  [services.restart, inQuery('write')],
  [services.scale, inQuery('write')],
  [services.delete, inQuery('write')],
  [services.logs, inQuery('read')],

  [models.list, inQuery('read')],
  [models.register, { about: 'project', need: 'write', from: { kind: 'modelSource' } }],
  [models.get, inQuery('read')],
  [models.update, inQuery('write')],
  [models.getVersion, inQuery('read')],
  [models.deleteVersion, inQuery('write')],
  [models.setAlias, inQuery('write')],
  [models.removeAlias, inQuery('write')],
  [models.deploy, inQuery('write')],

  [sweeps.list, inQuery('read')],
  [sweeps.create, inQuery('write')],
  [sweeps.get, inQuery('read')],
  [sweeps.pause, inQuery('write')],
  [sweeps.resume, inQuery('write')],
  [sweeps.stop, inQuery('write')],
  [sweeps.addTrials, inQuery('write')],

  // targets are the lab's (adding and removing one is for its admins, checked by the handlers)
  [targets.list, LAB],
  [targets.get, LAB],
  [targets.add, LAB],
  [targets.remove, LAB],
  [targets.projectTarget, inParam('read')],
  [targets.setProjectTarget, inParam('manage')],

  // the manifest's own project is checked by its handler too, once the body is read
  [runUpload.manifest, of('run', 'id', 'write')],
  [runUpload.events, of('run', 'id', 'write')],
  [runUpload.state, of('run', 'id', 'read')],
  [runUpload.putFile, of('run', 'id', 'write')],
  [runUpload.checkFile, of('run', 'id', 'read')],

  // a dataset version made of uploaded content, its content, and blobs by sha256 (no project: the lab's)
  [
    'POST /api/datasets/uploaded',
    { about: 'project', need: 'write', from: { kind: 'body', field: 'project', orActive: true } },
  ],
  ['GET /api/datasets/:name/versions/:version/content', inQuery('read')],
  ['GET /api/blobs/:sha256', LAB],
  ['GET /api/blobs/:sha256/upload', LAB],
  ['PUT /api/blobs/:sha256', LAB],
  ['GET /api/blobs/uploads/:id', LAB],
  ['PUT /api/blobs/uploads/:id', LAB],
  ['POST /api/blobs/uploads/:id/finish', LAB],
];

const BY_KEY = new Map(RULES.map(([route, scope]) => [keyOf(route), scope]));

/** The project rule of a route (undefined: none is declared, and the lab role alone decides). */
export function projectScopeOf(route: Route): ProjectScope | undefined {
  return BY_KEY.get(keyOf(route));
}

import { createHash, randomBytes } from 'crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as fs from 'fs';
import * as path from 'path';
import type { ListArtifactsAnswer, MlflowFileInfo } from '../../protocol/mlflow';
import { RUN_FILE_MAX_BYTES } from '../../protocol/routes/run-upload';
import { openInside, UnsafePathError } from '../files/copy';
import type { ProjectNeed } from '../http/project-scopes';
import type { Logger } from '../log';
import { declaredLength, streamedScope, syncFile, writeHashed, type RawBody } from '../experiments/upload/body';
import { ensureParents, existingRunFolder, relativeParts, touchRun } from '../experiments/upload/run-folder';
import { invalid, MlflowError } from './errors';
import { notFoundRun, type MlflowRunWriter } from './run-writer';
import { mlflowErrors, notImplemented } from './scope';

/** Entries of one folder listed at most. */
const MAX_LISTED = 10_000;
const ARTIFACTS = 'artifacts';

export interface ArtifactDeps {
  readonly home: string;
  readonly log: Logger;
  readonly writer: MlflowRunWriter;
  /** the project id of a run, once the user's role in it was checked */
  runProject(request: FastifyRequest, runId: string, need: ProjectNeed): string;
}

/** `<experiment id>/<run id>/artifacts[/<path>]` of the proxy: the run and the path inside its directory. */
function located(where: string, file: boolean): { experimentId: string; runId: string; relative: string } {
  const parts = where.split('/').filter((p) => p !== '');
  if (parts.length < 3 || parts[2] !== ARTIFACTS || (file && parts.length < 4)) {
    throw invalid(
      `'${where.slice(0, 200)}' is not an artifact path of the lab: it is <experiment id>/<run id>/artifacts/<path>, as the run's artifact_uri says.`,
    );
  }
  const relative = relativeParts(parts.slice(2).join('/')).join('/');
  return { experimentId: parts[0], runId: parts[1], relative };
}

/** The files and folders of a folder of a run (no link followed), as MLflow lists them; paths as `name(prefix)`. */
export function listFolder(runDir: string, relative: string, name: (entry: string) => string): MlflowFileInfo[] {
  const dir = path.join(runDir, relative);
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  if (!st?.isDirectory()) {
    return [];
  }
  const files: MlflowFileInfo[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).slice(0, MAX_LISTED)) {
    if (entry.isDirectory()) {
      files.push({ path: name(entry.name), is_dir: true });
    } else if (entry.isFile()) {
      files.push({ path: name(entry.name), is_dir: false, file_size: fs.lstatSync(path.join(dir, entry.name)).size });
    }
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** GET /api/2.0/mlflow/artifacts/list: a run's artifacts below `sub`, paths relative to its artifact root. */
export function listRunArtifacts(home: string, projectId: string, runId: string, sub: string): ListArtifactsAnswer {
  const dir = existingRunFolder(home, runId);
  if (dir === undefined) {
    throw notFoundRun(runId);
  }
  const rel = sub === '' ? ARTIFACTS : relativeParts(`${ARTIFACTS}/${sub}`).join('/');
  const prefix = sub === '' ? '' : `${rel.slice(ARTIFACTS.length + 1)}/`;
  return {
    root_uri: `mlflow-artifacts:/${projectId}/${runId}/${ARTIFACTS}`,
    files: listFolder(dir, rel, (name) => prefix + name),
  };
}

/**
 * MLflow's artifact proxy (`mlflow-artifacts:/` URIs): a run's artifacts are the files of its run
 * directory's artifacts/ folder. An upload is streamed to the lab's tmp/ folder, synced, then
 * renamed into place (nothing half-written is ever seen) and recorded as an artifact event of the
 * run, so the Experiments view lists it.
 */
export function registerArtifactRoutes(app: FastifyInstance, prefix: string, deps: ArtifactDeps): void {
  const { home, writer } = deps;
  void app.register(
    async (prefixed) => {
      mlflowErrors(prefixed, deps.log);
      notImplemented(prefixed);
      streamedScope(prefixed, (scope) => {
        scope.route({
          method: 'PUT',
          url: '/artifacts/*',
          schema: { querystring: { type: 'object' } },
          handler: async (request) => {
            const { runId, relative } = located((request.params as Record<string, string>)['*'], true);
            deps.runProject(request, runId, 'write');
            const runDir = existingRunFolder(home, runId);
            if (runDir === undefined) {
              throw notFoundRun(runId);
            }
            const length = declaredLength(request.headers['content-length']);
            if (length !== undefined && length > RUN_FILE_MAX_BYTES) {
              throw invalid(
                `The artifact has ${length} bytes, more than the ${RUN_FILE_MAX_BYTES} a run's file may have.`,
              );
            }
            const tmpDir = path.join(home, 'tmp');
            fs.mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
            const tmp = path.join(tmpDir, `mlflow-artifact-${randomBytes(8).toString('hex')}`);
            let renamed = false;
            try {
              await writeHashed(request.body as RawBody, tmp, {
                flags: 'wx',
                hash: createHash('sha256'),
                max: RUN_FILE_MAX_BYTES,
                tooBig: () => invalid(`The artifact is larger than ${RUN_FILE_MAX_BYTES} bytes.`),
              });
              const target = ensureParents(runDir, relative.split('/'));
              const before = fs.lstatSync(target, { throwIfNoEntry: false });
              if (before?.isDirectory()) {
                throw new MlflowError(
                  'INVALID_PARAMETER_VALUE',
                  `"${relative}" is a folder of the run: it is not replaced by a file.`,
                );
              }
              fs.renameSync(tmp, target);
              renamed = true;
              await syncFile(path.dirname(target));
              if (before) {
                touchRun(runDir);
              } else {
                await writer.append(runId, () => [{ k: 'artifact', path: relative, source: 'mlflow', t: Date.now() }]);
              }
            } finally {
              if (!renamed) {
                fs.rmSync(tmp, { force: true });
              }
            }
            return {};
          },
        });
        scope.route({
          method: 'GET',
          url: '/artifacts/*',
          schema: { querystring: { type: 'object' } },
          handler: async (request, reply) => {
            const { runId, relative } = located((request.params as Record<string, string>)['*'], true);
            deps.runProject(request, runId, 'read');
            const runDir = existingRunFolder(home, runId);
            if (runDir === undefined) {
              throw notFoundRun(runId);
            }
            let opened: { fd: number; size: number };
            try {
              opened = openInside(runDir, relative);
            } catch (e) {
              if (e instanceof UnsafePathError) {
                throw new MlflowError(
                  'RESOURCE_DOES_NOT_EXIST',
                  `The artifact '${relative.slice(0, 200)}' of run ${runId} ${e.reason === 'missing' ? 'does not exist' : `cannot be read: ${e.message}`}.`,
                );
              }
              throw e;
            }
            void reply.header('content-type', 'application/octet-stream').header('content-length', opened.size);
            return reply.send(fs.createReadStream('', { fd: opened.fd, autoClose: true }));
          },
        });
        scope.route({
          method: 'GET',
          url: '/artifacts',
          schema: { querystring: { type: 'object' } },
          handler: async (request) => {
            const where = String((request.query as Record<string, unknown>).path ?? '');
            const { runId, relative } = located(where, false);
            deps.runProject(request, runId, 'read');
            const runDir = existingRunFolder(home, runId);
            if (runDir === undefined) {
              throw notFoundRun(runId);
            }
            return { files: listFolder(runDir, relative, (name) => name) };
          },
        });
      });
    },
    { prefix },
  );
}

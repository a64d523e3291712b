import type { FastifyInstance } from 'fastify';
import { RUN_LIMITS } from '../../../protocol/limits';
import { EVENTS_CHUNK_BYTES, runUploadRoutes as routes } from '../../../protocol/routes/run-upload';
import { ApiError } from '../../errors';
import { register } from '../../http/register';
import { checkNamedProject } from '../../http/server';
import type { Logger } from '../../log';
import { declaredLength, readBounded, streamedScope, type RawBody } from './body';
import { appendAt, checkWholeLines, offsetAhead } from './events-append';
import { Heartbeats } from './heartbeat';
import { OpenAppends } from './open-appends';
import { checkManifest, writeManifest } from './manifest';
import { existingRunFolder, relativeParts, runFolder, RunLocks, touchRun } from './run-folder';
import { RunFiles } from './run-files';

/** The `*` part of a files route: the file's path relative to the run directory. */
function wildcard(params: object): string {
  return (params as Record<string, string>)['*'];
}

export interface RunUploadDeps {
  readonly home: string;
  readonly log: Logger;
}

/**
 * The routes that receive a run recorded on another machine (see `src/protocol/routes/run-upload.ts`).
 * They write `<home>/runs/<id>/` as a local client would, so the ingest, which follows runs/, takes
 * the run from there. Registered in a scope of their own, where every body comes as a stream (events
 * and files are raw bytes, a manifest may be bigger than the API's JSON limit): each handler reads
 * it with its own bound, and the other routes keep their JSON-only parsing.
 */
export function registerRunUploadRoutes(app: FastifyInstance, deps: RunUploadDeps): void {
  const { home, log } = deps;
  const locks = new RunLocks();
  const files = new RunFiles(home);
  const appends = new OpenAppends();
  const beats = new Heartbeats();
  app.addHook('onClose', () => appends.closeAll());

  streamedScope(app, (scope) => {
    register(scope, routes.manifest, async (request) => {
      const { id } = request.params;
      const text = await readBounded(
        request.body as unknown as RawBody,
        RUN_LIMITS.manifestBytes,
        'run.json',
        declaredLength(request.headers['content-length']),
      );
      checkManifest(id, text);
      // the project the manifest names is the run's project: its editors (and the lab's admins) may send it
      const named = (JSON.parse(text.toString('utf8')) as { project?: unknown }).project;
      checkNamedProject(request, typeof named === 'string' ? named : null, 'write');
      return locks.run(id, async () => {
        const dir = runFolder(home, id);
        const sha256 = await writeManifest(dir, text);
        touchRun(dir);
        return { sha256 };
      });
    });

    register(scope, routes.events, async (request, reply) => {
      const { id } = request.params;
      const offset = Number(request.query.offset);
      if (!Number.isSafeInteger(offset)) {
        throw new ApiError(400, 'invalid_request', `offset=${request.query.offset} is too big: send a byte offset.`);
      }
      const lines = await readBounded(
        request.body as unknown as RawBody,
        EVENTS_CHUNK_BYTES,
        'The events sent',
        declaredLength(request.headers['content-length']),
      );
      const name = request.query.log ?? 'events.jsonl';
      if (name === 'events.jsonl') {
        checkWholeLines(lines);
      }
      const answer = await locks.run(id, async () => {
        // a run the lab does not hold yet starts at offset 0: no folder is made for a request refused
        const dir = offset === 0 ? runFolder(home, id) : existingRunFolder(home, id);
        if (dir === undefined) {
          return offsetAhead(0, offset, name);
        }
        const appended = await appendAt(dir, name, offset, lines, appends);
        if (!appended.error) {
          beats.beat(id, dir);
          touchRun(dir); // new bytes, or a heartbeat that may revive a run marked interrupted meanwhile
        }
        return appended;
      });
      if (answer.error) {
        log.info(
          `runs: ${id}: ${name} at ${offset} refused (${answer.error.code}); the lab holds ${answer.size} bytes`,
        );
        void reply.code(409);
      }
      return answer;
    });

    register(scope, routes.state, async (request) => files.state(request.params.id));

    register(scope, routes.putFile, async (request) => {
      const { id } = request.params;
      return files.put(
        id,
        wildcard(request.params),
        request.query.sha256,
        request.body as unknown as RawBody,
        declaredLength(request.headers['content-length']),
      );
    });

    register(scope, routes.checkFile, async (request) => {
      const { id } = request.params;
      const rel = relativeParts(wildcard(request.params)).join('/');
      const dir = existingRunFolder(home, id);
      const found = dir === undefined ? undefined : await files.stored(dir, rel);
      if (found?.sha256 !== request.query.sha256) {
        throw new ApiError(
          404,
          'not_stored',
          `The lab does not hold "${rel.slice(0, 200)}" of run ${id} with that sha256: send it with PUT.`,
        );
      }
      return { path: rel, ...found };
    });
  });
}

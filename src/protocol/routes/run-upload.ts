import type { RunManifest } from '../experiments';
import { route } from './route';
import { text } from './schema';

/** A run id as the clients make it: `<yyyyMMdd-HHmmss>-<6 hex>` (UTC). */
export const RUN_ID_PATTERN = '^[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$';
/** Events sent in one request at most (whole lines): a bigger backlog is sent in several. */
export const EVENTS_CHUNK_BYTES = 8 * 1024 * 1024;
/** A relative path of a file of a run (`artifacts/model.pkl`), in characters. */
export const RUN_FILE_PATH_CHARS = 1000;
/** A file of a run sent in one request at most (an artifact, a model). */
export const RUN_FILE_MAX_BYTES = 64 * 1024 * 1024 * 1024;

const runParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 30, pattern: RUN_ID_PATTERN } },
} as const;
const fileParams = {
  type: 'object',
  required: ['id', '*'],
  properties: { ...runParams.properties, '*': text(RUN_FILE_PATH_CHARS, 1) },
} as const;
const sha256Query = {
  type: 'object',
  required: ['sha256'],
  additionalProperties: false,
  properties: { sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
} as const;

/** What the lab holds of a run sent over the network, so that a restarted sender resumes. */
export interface UploadState {
  /** bytes of events.jsonl stored (whole lines): the offset of the next events to send */
  readonly eventsSize: number;
  /** sha256 of the stored run.json, or null when none is */
  readonly manifestSha256: string | null;
  /** the other files of the run directory (stdout.log, artifacts/...), at most 10,000 */
  readonly files: readonly UploadedFile[];
}

export interface UploadedFile {
  /** relative to the run directory, with "/" */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * The answer of an append: the size of events.jsonl after it. A refused append (409) carries the
 * size too, with the error, so that the sender goes on from there.
 */
export interface EventsAnswer {
  readonly size: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * The offset of an append: a whole number as text (`?offset=1048576`); with `log`, the bytes go to
 * that output log of the run (`stdout.log`), which grows by offset as events.jsonl does, in any
 * pieces (not only whole lines).
 */
export interface EventsQuery {
  readonly offset: string;
  readonly log?: string;
}

/** The output logs a run's sender appends by offset: files at the top of the run directory named `*.log`. */
export const RUN_LOG_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}\\.log$';

/** The hash of a file sent or looked for (`?sha256=<64 lowercase hex>`). */
export interface FileQuery {
  readonly sha256: string;
}

/**
 * A run recorded on another machine, sent to the lab (`src/backend/experiments/upload/`): the
 * sender keeps the run directory as its journal and sends run.json whole, events.jsonl by byte
 * offset (a retry appends nothing twice) and every other file by sha256. The lab writes the run
 * directory as a local client would, and the ingest takes it from there. Events and files are sent
 * as raw bytes (`application/x-ndjson`, `application/octet-stream`), not JSON.
 */
export const runUploadRoutes = {
  /** run.json as the client wrote it (at most RUN_LIMITS.manifestBytes) */
  manifest: route<{ readonly sha256: string }, RunManifest>()({
    method: 'PUT',
    path: '/api/runs/:id/manifest',
    params: runParams,
  }),
  /**
   * whole lines of events.jsonl starting at byte `offset` (at most EVENTS_CHUNK_BYTES), or with
   * `log`, bytes of that output log. Any request, an empty one too, is the run's heartbeat: a running
   * run whose sender fell silent is marked interrupted (src/backend/experiments/upload/heartbeat.ts).
   */
  events: route<EventsAnswer, Uint8Array, EventsQuery>()({
    method: 'POST',
    path: '/api/runs/:id/events',
    params: runParams,
    query: {
      type: 'object',
      required: ['offset'],
      additionalProperties: false,
      properties: {
        offset: { type: 'string', pattern: '^[0-9]{1,15}$' },
        log: { type: 'string', maxLength: 100, pattern: RUN_LOG_PATTERN },
      },
    },
  }),
  state: route<UploadState>()({ method: 'GET', path: '/api/runs/:id/upload-state', params: runParams }),
  /** a file of the run; answered at once, without reading the body, when it is already stored */
  putFile: route<UploadedFile, Uint8Array, FileQuery>()({
    method: 'PUT',
    path: '/api/runs/:id/files/*',
    params: fileParams,
    query: sha256Query,
  }),
  /** whether the file is stored with that hash: 200, else 404 (HEAD answers the same, without a body) */
  checkFile: route<UploadedFile, undefined, FileQuery>()({
    method: 'GET',
    path: '/api/runs/:id/files/*',
    params: fileParams,
    query: sha256Query,
  }),
} as const;

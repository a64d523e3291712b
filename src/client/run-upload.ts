import { urlOf, type Route } from '../protocol/routes/route';
import {
  runUploadRoutes as routes,
  type EventsAnswer,
  type UploadedFile,
  type UploadState,
} from '../protocol/routes/run-upload';
import { BackendError, type ApiClient } from './api-client';
import { sendBody } from './raw-body';

/**
 * Typed calls of the run upload routes (`src/protocol/routes/run-upload.ts`), used by the shipper of
 * a run recorded for a lab over the network. The bodies are raw bytes (run.json, lines of
 * events.jsonl, a file), so they go through `ApiClient.rawRequest`, each on a connection of its own.
 */

/** What the lab holds of run `id` (nothing yet: 0 bytes, no manifest, no files). */
export function uploadState(client: ApiClient, id: string): Promise<UploadState> {
  return client.call(routes.state, { params: { id } });
}

/** Sends run.json as the journal holds it. */
export async function putManifest(client: ApiClient, id: string, manifest: Buffer): Promise<string> {
  const url = urlOf(routes.manifest.path, { id });
  const answer = await send(client, routes.manifest, url, 'application/json', manifest);
  return (answer.body as { sha256: string }).sha256;
}

/**
 * Sends whole lines of events.jsonl starting at byte `offset` (with `log`, bytes of that output log;
 * empty: the run's heartbeat). The answer carries the size the lab holds after it; a refused append
 * (409: a gap, or bytes that differ from those stored) carries that size with the error.
 */
export async function postEvents(
  client: ApiClient,
  id: string,
  offset: number,
  lines: Buffer,
  log?: string,
): Promise<{ readonly status: number; readonly answer: EventsAnswer }> {
  const url = urlOf(routes.events.path, { id }, { offset: String(offset), ...(log ? { log } : {}) });
  const { status, body } = await send(client, routes.events, url, 'application/x-ndjson', lines, [409]);
  return { status, answer: body as EventsAnswer };
}

/**
 * Sends a file of the run (`relative`, with "/") whose content has `sha256`: a Buffer, or a file on
 * disk of `size` bytes streamed from `source`. The lab answers at once when it holds it already.
 */
export async function putFile(
  client: ApiClient,
  id: string,
  relative: string,
  sha256: string,
  content: Buffer | { readonly source: string; readonly size: number },
): Promise<UploadedFile> {
  const url = fileUrl(routes.putFile, id, relative, sha256);
  return (await send(client, routes.putFile, url, 'application/octet-stream', content)).body as UploadedFile;
}

/** Whether the lab holds the file `relative` of the run with that sha256 (a 404 says it does not). */
export async function hasFile(client: ApiClient, id: string, relative: string, sha256: string): Promise<boolean> {
  const url = fileUrl(routes.checkFile, id, relative, sha256);
  try {
    await send(client, routes.checkFile, url, undefined, undefined);
    return true;
  } catch (e) {
    if (e instanceof BackendError && e.status === 404) {
      return false;
    }
    throw e;
  }
}

/**
 * The URL of a files route: `urlOf` fills `:id` but not the `*` part, which is the file's path with
 * each of its segments percent-encoded (a "/" stays a separator, a "?" or "#" in a name stays in it).
 */
export function fileUrl(route: Route, id: string, relative: string, sha256: string): string {
  const segments = relative.split('/').map(encodeURIComponent).join('/');
  return `${urlOf(route.path, { id }).replace('*', () => segments)}?sha256=${encodeURIComponent(sha256)}`;
}

/** One request of a run upload route with a raw body (see sendBody). */
function send(
  client: ApiClient,
  route: Route,
  url: string,
  type: string | undefined,
  content: Buffer | { readonly source: string; readonly size: number } | undefined,
  alsoOk: readonly number[] = [],
): Promise<{ status: number; body: unknown }> {
  const body =
    content === undefined || Buffer.isBuffer(content) ? content : { file: content.source, start: 0, end: content.size };
  return sendBody(client, { method: route.method, url, type, body, alsoOk });
}

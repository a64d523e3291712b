// Which lab a window talks to, said for a person, and what the window remembers of a lab reached by
// URL. No `vscode` here: the unit tests check it directly.
import type * as http from 'http';
import { ApiClient, BackendError } from '../../client/api-client';
import { MAX_URL_LENGTH, parseLabUrl } from '../../client/credentials';
import type { Role } from '../../protocol/users';

/** The lab a connected window talks to: the backend of its folder's lab home, or a lab served by URL. */
export type ConnectedLab =
  | { readonly kind: 'local'; readonly home: string; readonly pid: number; readonly port: number }
  | { readonly kind: 'remote'; readonly url: string; readonly user: string; readonly role: Role | undefined };

/** What the workspace state keeps of the lab reached by URL (the token is in SecretStorage). */
export interface StoredRemoteLab {
  readonly url: string;
  /** the PEM file of the lab's CA, for a lab whose certificate this machine does not trust */
  readonly caFile?: string;
}

/** The key of a lab's token in SecretStorage. */
export function secretKeyOf(url: string): string {
  return `mllab.token:${url}`;
}

/** The stored remote lab of the workspace state, or undefined for nothing usable (a damaged value is passed over). */
export function parseStoredRemote(value: unknown): StoredRemoteLab | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const { url, caFile } = value as { url?: unknown; caFile?: unknown };
  if (typeof url !== 'string') {
    return undefined;
  }
  try {
    const checked = parseLabUrl(url);
    return typeof caFile === 'string' && caFile.length > 0 && caFile.length <= 4096
      ? { url: checked, caFile }
      : { url: checked };
  } catch {
    return undefined;
  }
}

/** `lab.example.com`, with its port when it is not the scheme's (and its path when it has one). */
export function labHostOf(url: string): string {
  try {
    const u = new URL(url);
    const at = u.pathname.replace(/\/+$/, '');
    return `${u.host}${at}`.slice(0, MAX_URL_LENGTH);
  } catch {
    return url.slice(0, 200);
  }
}

/** The status bar text: `$(beaker) ML Lab: local` or `$(cloud) ML Lab: lab.example.com (alice, member)`. */
export function labStatusText(lab: ConnectedLab | undefined, remoteUrl?: string): string {
  if (lab?.kind === 'remote') {
    return `$(cloud) ML Lab: ${labHostOf(lab.url)} (${lab.user}${lab.role ? `, ${lab.role}` : ''})`;
  }
  if (remoteUrl) {
    return `$(cloud) ML Lab: ${labHostOf(remoteUrl)}`;
  }
  return '$(beaker) ML Lab: local';
}

/** The status bar tooltip: the full URL and the role, or the local lab home and its backend. */
export function labTooltip(lab: ConnectedLab | undefined, state: string, remoteUrl?: string): string {
  if (lab?.kind === 'remote') {
    return (
      `ML Lab: the lab at ${lab.url}\nSigned in as ${lab.user}${lab.role ? `, role ${lab.role}` : ''}` +
      `${state ? `\n${state}` : ''}\nClick to connect to another lab or disconnect.`
    );
  }
  if (remoteUrl) {
    return lines(`ML Lab: the lab at ${remoteUrl}`, state, 'Click to connect again or disconnect.');
  }
  if (lab?.kind === 'local') {
    return `ML Lab: the local lab of this folder (${lab.home})\nBackend: process ${lab.pid}, port ${lab.port}\nClick to connect to a lab by URL.`;
  }
  return lines('ML Lab: the local lab of this folder', state, 'Click to connect to a lab by URL.');
}

const lines = (...parts: string[]) => parts.filter((p) => p.length > 0).join('\n');

/** The message of a token the lab refused, saying how to give a new one in the editor. */
export function refusedTokenMessage(url: string, labSays: string): string {
  return `The lab at ${url} refused the token (expired or revoked?): run "ML Lab: Connect to Lab..." with a new one. The lab says: ${labSays}`;
}

/** An error of connecting to the lab at `url`, a refused token saying how to give a new one in the editor. */
export function inEditorTerms(url: string, e: unknown): unknown {
  if (!isRefusedToken(e)) {
    return e;
  }
  const error = e as BackendError;
  const labSays = / The lab says: (.*)$/s.exec(error.message)?.[1] ?? error.message;
  return new BackendError(401, error.code, refusedTokenMessage(url, labSays));
}

/** Whether an error says that the lab's certificate is not trusted (a CA file would help). */
export function isUntrustedCertificate(e: unknown): boolean {
  return e instanceof BackendError && e.code === 'tls_untrusted';
}

/**
 * Whether an error says that the lab could not be reached (refused or dropped connection, no answer,
 * a proxy answering 502/503/504 for it): a lab that is down or restarting, worth trying again by
 * itself, unlike a refused token, an untrusted certificate or a URL that is not an ML Lab.
 */
export function isUnreachable(e: unknown): boolean {
  return e instanceof BackendError && e.code === 'unreachable';
}

/** Trying again to reach a lab by URL that was down: the attempt that failed, when the next one is, and why. */
export interface RemoteRetry {
  readonly attempt: number;
  readonly delayMs: number;
  readonly reason: string;
}

/** The status bar's line for a lab that is being tried again: "Trying again in 10 s (attempt 4 failed)". */
export function retryNote(retry: RemoteRetry): string {
  const wait = retry.delayMs < 1000 ? 'a moment' : `${Math.round(retry.delayMs / 1000)} s`;
  return `Not connected: ${retry.reason}\nTrying again by itself in ${wait} (attempt ${retry.attempt} failed).`;
}

/**
 * The URL of a dataset version's content on a lab reached by URL (what "Copy Path" gives there: the
 * path on the lab's machine means nothing here). Fetching it needs the token, as any request.
 */
export function datasetContentUrl(
  labUrl: string,
  version: { readonly name: string; readonly version: number; readonly projectId: string },
): string {
  const base = labUrl.replace(/\/+$/, '');
  return `${base}/api/datasets/${encodeURIComponent(version.name)}/versions/${version.version}/content?project=${encodeURIComponent(version.projectId)}`;
}

/** Whether an error says that the lab refused the token. */
export function isRefusedToken(e: unknown): boolean {
  return e instanceof BackendError && e.status === 401;
}

/**
 * Says that something needs the lab home's files on this machine, which a lab reached by URL does
 * not offer yet (the style of the Node client's `notRemote`): `what` names it, `instead` says what to do.
 */
export function notAvailableRemotely(what: string, url: string, instead: string): BackendError {
  return new BackendError(
    0,
    'not_available_remote',
    `${what} is not available for a lab reached by URL (${url}) yet: ${instead}`,
  );
}

/** How long a lost event stream of a lab reached by URL waits before each new attempt (the last repeats). */
export const REMOTE_RECONNECT_DELAYS_MS: readonly number[] = [250, 1000, 2000, 5000, 10000, 30000];

/**
 * The API client of a lab reached by URL in the editor: a refused token says to run "ML Lab: Connect
 * to Lab..." (the Node client's says `mllab login`, which the editor does not read).
 */
export class EditorRemoteClient extends ApiClient {
  override request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return super.request<T>(method, path, body, signal).catch((e: unknown) => {
      throw inEditorTerms(this.baseUrl, e);
    });
  }

  override openStream(path: string): Promise<http.IncomingMessage> {
    return super.openStream(path).catch((e: unknown) => {
      throw inEditorTerms(this.baseUrl, e);
    });
  }
}

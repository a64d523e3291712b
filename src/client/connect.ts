import { fork } from 'child_process';
import * as fs from 'fs';
import { homePaths, isProcessAlive, readRegistration, resolveHome } from '../common/home';
import { API_VERSION, BackendReadyMessage, BackendStatus, Registration } from '../protocol/api';
import type { WhoAmI } from '../protocol/routes/users';
import { ApiClient, BackendError } from './api-client';
import { checkToken, parseLabUrl, readCaFile, readLogin, type StoredLogin } from './credentials';

export interface ConnectOptions {
  readonly home: string;
  /** dist/backend.js; when set, a backend is started if none runs */
  readonly backendScript?: string;
  /** a started backend stops after this long without clients (seconds) */
  readonly idleExitSeconds?: number;
  /** how long to wait for a started backend (ms) */
  readonly startTimeoutMs?: number;
  /** the Docker Engine a started backend uses (unix://, tcp://, ssh://); default: DOCKER_HOST */
  readonly dockerHost?: string;
}

export interface Connection {
  readonly client: ApiClient;
  readonly registration: Registration;
  /** true when this call started the backend */
  readonly started: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Registration of a live backend, waiting briefly for one that is still starting. */
async function liveRegistration(home: string): Promise<Registration | undefined> {
  for (let i = 0; i < 100; i++) {
    const r = readRegistration(home);
    if (!r || !isProcessAlive(r.pid)) {
      return undefined;
    }
    if (r.port !== 0) {
      return r;
    }
    await sleep(100);
  }
  return undefined;
}

function checkVersion(r: Registration): void {
  if (r.apiVersion !== API_VERSION) {
    throw new BackendError(
      0,
      'version_mismatch',
      `The ML Lab backend of this lab home (process ${r.pid}) speaks API version ${r.apiVersion}, this client ${API_VERSION}. ` +
        `Stop it with "mllab stop" (or close the other ML Lab windows) and try again.`,
    );
  }
}

/** Forks dist/backend.js detached, and waits for its ready message. */
function startBackend(options: ConnectOptions & { backendScript: string }): Promise<BackendReadyMessage> {
  const paths = homePaths(options.home);
  fs.mkdirSync(paths.logs, { recursive: true });
  // the backend logs to its own file; this fd only catches what it prints before its logger exists
  const out = fs.openSync(paths.log, 'a', 0o600);
  const child = fork(
    options.backendScript,
    ['--home', options.home, '--idle-exit', String(options.idleExitSeconds ?? 300)],
    {
      detached: true,
      stdio: ['ignore', out, out, 'ipc'],
      env: options.dockerHost ? { ...process.env, MLLAB_DOCKER_HOST: options.dockerHost } : process.env,
    },
  );
  fs.closeSync(out);
  return new Promise<BackendReadyMessage>((resolve) => {
    const timer = setTimeout(
      () =>
        finish({ type: 'failed', message: `the backend did not start within ${options.startTimeoutMs ?? 20000} ms` }),
      options.startTimeoutMs ?? 20000,
    );
    const finish = (m: BackendReadyMessage) => {
      clearTimeout(timer);
      child.removeAllListeners();
      if (child.connected) {
        child.disconnect();
      }
      child.unref();
      resolve(m);
    };
    child.on('message', (m: BackendReadyMessage) => finish(m));
    child.on('exit', (code) =>
      finish({ type: 'failed', message: `the backend exited with code ${code} while starting; see ${paths.log}` }),
    );
    child.on('error', (e) => finish({ type: 'failed', message: e.message }));
  });
}

/**
 * Attaches to the backend of `home`, starting one when none runs and `backendScript` is given.
 * Throws a BackendError whose message says what to do.
 */
export async function connect(options: ConnectOptions): Promise<Connection> {
  let registration = await liveRegistration(options.home);
  let started = false;
  if (!registration) {
    if (!options.backendScript) {
      throw new BackendError(
        0,
        'not_running',
        `No ML Lab backend runs for ${options.home}: start one with "mllab serve --home ${options.home}".`,
      );
    }
    const ready = await startBackend({ ...options, backendScript: options.backendScript });
    if (ready.type === 'failed') {
      throw new BackendError(0, 'start_failed', `The ML Lab backend could not start: ${ready.message}`);
    }
    started = !ready.attached;
    registration = await liveRegistration(options.home);
    if (!registration) {
      throw new BackendError(
        0,
        'start_failed',
        `The ML Lab backend started but left no registration in ${options.home}.`,
      );
    }
  }
  checkVersion(registration);
  const client = new ApiClient(registration.port, registration.token);
  await client.status();
  return { client, registration, started };
}

/** A lab served to a team, reached by URL: from MLLAB_URL and MLLAB_TOKEN, or the stored login. */
export interface RemoteLab {
  readonly url: string;
  readonly token: string;
  /** PEM of the lab's CA (MLLAB_CA_FILE or the login's), for a self-signed lab */
  readonly ca?: string;
  readonly tokenFrom: 'MLLAB_TOKEN' | 'login';
}

/** Which lab a client talks to: the backend of a local lab home, or a lab served by URL. */
export type LabTarget =
  { readonly kind: 'local'; readonly home: string } | { readonly kind: 'remote'; readonly lab: RemoteLab };

/**
 * The lab to talk to: an explicit home (`--home`, the `home` option) is local; then MLLAB_URL (with
 * MLLAB_TOKEN, MLLAB_CA_FILE); then MLLAB_HOME (local); then the login stored by `mllab login`; else the
 * local lab home found from the working directory, as always.
 */
export function labTarget(options: { home?: string; env?: NodeJS.ProcessEnv } = {}): LabTarget {
  const env = options.env ?? process.env;
  if (options.home !== undefined) {
    return { kind: 'local', home: resolveHome(options.home) };
  }
  if (env.MLLAB_URL) {
    const url = parseLabUrl(env.MLLAB_URL, 'MLLAB_URL');
    // the stored login of the same lab gives its CA (and its token when MLLAB_TOKEN is not set)
    const stored = env.MLLAB_TOKEN ? storedOrNone(env) : readLogin(env);
    const login = stored?.url === url ? stored : undefined;
    if (!env.MLLAB_TOKEN && !login) {
      throw new Error(
        `MLLAB_URL is set (${url}) but MLLAB_TOKEN is not: set MLLAB_TOKEN to your token (an admin of the lab creates one with "mllab token create --user NAME"), or run "mllab login ${url}".`,
      );
    }
    const ca = env.MLLAB_CA_FILE ? readCaFile(env.MLLAB_CA_FILE, 'MLLAB_CA_FILE') : login?.ca;
    return {
      kind: 'remote',
      lab: {
        url,
        token: env.MLLAB_TOKEN ? checkToken(env.MLLAB_TOKEN, 'MLLAB_TOKEN') : login!.token,
        tokenFrom: env.MLLAB_TOKEN ? 'MLLAB_TOKEN' : 'login',
        ...(ca ? { ca } : {}),
      },
    };
  }
  if (env.MLLAB_TOKEN) {
    throw new Error(
      "MLLAB_TOKEN is set but MLLAB_URL is not: set MLLAB_URL to the lab's URL too (e.g. https://lab.example.com:8443), or unset MLLAB_TOKEN.",
    );
  }
  if (env.MLLAB_HOME) {
    return { kind: 'local', home: resolveHome(env.MLLAB_HOME) };
  }
  const login = readLogin(env);
  if (login) {
    const ca = env.MLLAB_CA_FILE ? readCaFile(env.MLLAB_CA_FILE, 'MLLAB_CA_FILE') : login.ca;
    return { kind: 'remote', lab: { url: login.url, token: login.token, tokenFrom: 'login', ...(ca ? { ca } : {}) } };
  }
  return { kind: 'local', home: resolveHome(undefined) };
}

/** The stored login where it is not needed: one that cannot be read is passed over. */
function storedOrNone(env: NodeJS.ProcessEnv): StoredLogin | undefined {
  try {
    return readLogin(env);
  } catch {
    return undefined;
  }
}

export interface RemoteConnection {
  readonly client: ApiClient;
  readonly status: BackendStatus;
  /** who the token speaks for (undefined from a lab too old to say) */
  readonly me: WhoAmI | undefined;
}

/**
 * Connects to a lab served by URL and checks that it is an ML Lab of this API version that takes the
 * token. Throws a BackendError whose message says what to do.
 */
export async function connectRemote(lab: RemoteLab): Promise<RemoteConnection> {
  const client = new ApiClient({
    url: lab.url,
    token: lab.token,
    tokenFrom: lab.tokenFrom,
    ...(lab.ca ? { ca: lab.ca } : {}),
  });
  try {
    const status = (await client.status()) as Partial<BackendStatus> | undefined;
    if (typeof status?.apiVersion !== 'number' || typeof status.version !== 'string') {
      throw new BackendError(
        0,
        'not_ml_lab',
        `${client.baseUrl} is not an ML Lab (GET /api/status answered JSON that is not a lab's status): check the URL (and its port and path).`,
      );
    }
    if (status.apiVersion !== API_VERSION) {
      throw new BackendError(
        0,
        'version_mismatch',
        `The lab at ${client.baseUrl} (ML Lab ${status.version.slice(0, 40)}) speaks API version ${status.apiVersion}, this client ${API_VERSION}: use the ML Lab version of the lab.`,
      );
    }
    const me = await client.whoami().catch((e: unknown) => {
      if (e instanceof BackendError && e.code === 'no_route') {
        return undefined;
      }
      throw e;
    });
    return { client, status: status as BackendStatus, me };
  } catch (e) {
    client.dispose();
    throw e;
  }
}

/**
 * Says that something needs the lab home's files on this machine, which a lab reached by URL does
 * not offer (yet): `what` names it, `instead` says what to do.
 */
export function notRemote(what: string, lab: RemoteLab, instead: string): BackendError {
  return new BackendError(
    0,
    'not_available_remote',
    `${what} is not available against a remote lab (${lab.url}) yet: ${instead}`,
  );
}

import { fork } from 'child_process';
import * as fs from 'fs';
import { homePaths, isProcessAlive, readRegistration } from '../common/home';
import { API_VERSION, BackendReadyMessage, Registration } from '../protocol/api';
import { ApiClient, BackendError } from './api-client';

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

import * as http from 'http';
import * as path from 'path';
import { homePaths, makeHomePrivate, readRegistration } from '../common/home';
import type { BackendReadyMessage, Registration } from '../protocol/api';
import { statusRoutes } from '../protocol/routes/status';
import { Backend } from './app';
import { FileLogger } from './log';
import { claimHome } from './registration';
import { StoreCorruptError } from './store/database';
import { writeFileAtomic } from '../common/fsync';
import { BlobStore } from './files/blob-store';

export interface ServeOptions {
  readonly home: string;
  readonly version: string;
  readonly port?: number;
  readonly idleExitMs?: number;
  /** also print log lines on stderr (a person running `mllab serve` in a terminal) */
  readonly echoLog: boolean;
}

export type ServeResult =
  | { readonly kind: 'serving'; readonly backend: Backend }
  | { readonly kind: 'attached'; readonly registration: Registration }
  | { readonly kind: 'unresponsive'; readonly registration: Registration };

function answers(registration: Registration): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(
      {
        host: '127.0.0.1',
        port: registration.port,
        path: statusRoutes.status.path,
        headers: { authorization: `Bearer ${registration.token}` },
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/** Waits for a starting owner to publish its port (port 0 means "starting"). */
async function settled(home: string, registration: Registration): Promise<Registration> {
  for (let i = 0; i < 100 && registration.port === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    registration = readRegistration(home) ?? registration;
  }
  return registration;
}

/**
 * Becomes the backend of `options.home`, or attaches to the one that already is. Used by
 * dist/backend.js (forked by the extension and the CLI) and by `mllab serve`.
 */
export async function serve(options: ServeOptions): Promise<ServeResult> {
  usePrivateUmask();
  const paths = homePaths(options.home);
  const tightened = makeHomePrivate(options.home);
  const log = new FileLogger(paths.log, options.echoLog);
  const claim = claimHome(options.home, options.version, log);
  if (claim.kind === 'taken') {
    const registration = await settled(options.home, claim.registration);
    const ok = registration.port !== 0 && (await answers(registration));
    log.info(
      ok
        ? `backend: process ${registration.pid} already serves ${options.home} on port ${registration.port}; attaching`
        : `backend: process ${registration.pid} owns ${options.home} but does not answer`,
    );
    log.close();
    return { kind: ok ? 'attached' : 'unresponsive', registration };
  }
  for (const line of tightened) {
    log.warn(`home: ${line}`);
  }
  const blobs = new BlobStore(options.home).makePrivate();
  if (blobs > 0) {
    log.warn(`home: ${blobs} stored files were readable by others: made them readable by their owner only (0400)`);
  }
  let backend: Backend;
  try {
    backend = await Backend.start({
      home: options.home,
      token: claim.token,
      version: options.version,
      log,
      port: options.port,
      idleExitMs: options.idleExitMs,
      onShutdown: () => claim.release(),
    });
  } catch (e) {
    claim.release();
    const message = (e as Error).message;
    log.error(
      `backend: could not start: ${e instanceof StoreCorruptError ? message : ((e as Error).stack ?? message)}`,
    );
    log.close();
    throw e;
  }
  claim.publish(backend.port);
  writeLauncher(paths.launcher);
  return { kind: 'serving', backend };
}

/**
 * Everything the backend creates (store, blobs, metrics, logs, job output) is private to the person
 * who runs it, whatever the umask it was started with: files 0600, folders 0700.
 */
export function usePrivateUmask(): void {
  if (process.platform !== 'win32') {
    process.umask(0o077);
  }
}

/**
 * Records how to start a backend for this home, so that clients without Node of their own (the Python
 * client) can start one when none runs. Both bundles (backend.js, cli.js) live in dist/.
 */
function writeLauncher(file: string): void {
  const launcher = {
    node: process.execPath,
    script: path.join(__dirname, 'backend.js'),
    // inside VS Code desktop, execPath is Electron: this makes it behave as plain Node
    env: process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {},
  };
  writeFileAtomic(file, JSON.stringify(launcher, null, 2));
}

/** Reports the outcome to a parent that forked us (the extension or the CLI), if any. */
export function notifyParent(message: BackendReadyMessage): void {
  if (process.send) {
    process.send(message);
  }
}

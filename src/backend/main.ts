import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { homePaths, makeHomePrivate, readRegistration } from '../common/home';
import type { BackendReadyMessage, Registration } from '../protocol/api';
import { statusRoutes } from '../protocol/routes/status';
import { Backend, type ListenOptions } from './app';
import { parseTrustProxy } from './http/trust-proxy';
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
  /** `HOST:PORT` to serve the lab to a team on (`mllab serve --listen`) */
  readonly listen?: string;
  /** PEM files of the certificate (chain) and its private key: required off loopback */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** `--trust-proxy ADDR[,ADDR...]`: the reverse proxies whose X-Forwarded-* headers are believed */
  readonly trustProxy?: string;
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
  // refused before anything is claimed or written
  const listen = listenOptions(options);
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
      listen,
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

/** Whether a host names this machine only: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || (net.isIPv4(h) && h.startsWith('127.'));
}

/** `HOST:PORT` (`[::1]:8443` for IPv6) -> host and port, or an error saying what is wrong. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) {
    throw new Error(`--listen takes HOST:PORT (e.g. 0.0.0.0:8443, or [::]:8443), not "${text}".`);
  }
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
}

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`Cannot read the TLS ${what} ${file}: ${(e as Error).message}.`);
  }
}

/**
 * The address and TLS files of `mllab serve --listen`, checked: off loopback TLS is required, and each
 * file must be readable, hold PEM of its kind, and the key must match the certificate.
 */
export function listenOptions(
  options: Pick<ServeOptions, 'listen' | 'tlsCert' | 'tlsKey' | 'trustProxy'>,
): ListenOptions | undefined {
  const { tlsCert, tlsKey } = options;
  if (options.listen === undefined) {
    if (tlsCert !== undefined || tlsKey !== undefined) {
      throw new Error('--tls-cert and --tls-key go with --listen HOST:PORT: say where to serve the lab.');
    }
    if (options.trustProxy !== undefined) {
      throw new Error('--trust-proxy goes with --listen HOST:PORT: the proxy forwards to that address.');
    }
    return undefined;
  }
  const { host, port } = parseListen(options.listen);
  const served = listenWithTls(host, port, tlsCert, tlsKey);
  return options.trustProxy === undefined ? served : { ...served, trustProxy: parseTrustProxy(options.trustProxy) };
}

function listenWithTls(host: string, port: number, tlsCert?: string, tlsKey?: string): ListenOptions {
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new Error('TLS needs both --tls-cert FILE and --tls-key FILE (PEM): give the one that is missing.');
  }
  if (tlsCert === undefined || tlsKey === undefined) {
    if (!isLoopback(host)) {
      throw new Error(
        `Serving on ${host} (not this machine only) needs TLS, or the tokens would cross the network in clear text: ` +
          'give a certificate with --tls-cert FILE --tls-key FILE, or listen on 127.0.0.1 behind a reverse proxy that terminates TLS.',
      );
    }
    return { host, port };
  }
  const cert = readPem(tlsCert, 'certificate');
  const key = readPem(tlsKey, 'key');
  try {
    tls.createSecureContext({ cert });
  } catch (e) {
    throw new Error(`The TLS certificate ${tlsCert} is not a PEM certificate: ${(e as Error).message}.`);
  }
  try {
    tls.createSecureContext({ key });
  } catch (e) {
    throw new Error(`The TLS key ${tlsKey} is not a PEM private key (unencrypted): ${(e as Error).message}.`);
  }
  try {
    tls.createSecureContext({ cert, key });
  } catch (e) {
    throw new Error(`The TLS key ${tlsKey} does not match the certificate ${tlsCert}: ${(e as Error).message}.`);
  }
  return { host, port, tls: { cert, key } };
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

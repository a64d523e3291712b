import type { Target, TargetStatus } from '../../protocol/targets';
import { ApiError } from '../errors';
import { engineMessage } from '../runtime/errors';
import { listNodes, type EngineInfo } from './nodes';
import type { TargetEngine } from './runtimes';

/** How long the lab waits for a target's engine before it says the engine does not answer. */
export const PROBE_TIMEOUT_MS = 8000;

/** Node's and OpenSSL's codes of a TLS handshake that failed (the certificate, the CA, the protocol). */
const TLS_FAILURE =
  /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_SSL|ERR_TLS|EPROTO|ALTNAME|certificate|handshake|alert|tlsv1|wrong version number/i;

/** The error of a call to an engine, with the code and status the network or the engine gave. */
interface EngineError {
  readonly code?: string;
  readonly statusCode?: number;
  readonly level?: string;
  readonly message?: string;
}

function withTimeout<T>(promise: Promise<T>, ms: number, host: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ApiError(
            400,
            'target_unreachable',
            `The engine at ${host} did not answer within ${ms / 1000} s: check the host and port, that the engine listens there, and that no firewall drops the connection.`,
          ),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A failed call to a target's engine in words a person can act on: unreachable, TLS, ssh, or not an engine. */
export function engineProblem(e: unknown, target: Target): ApiError {
  if (e instanceof ApiError) {
    return e;
  }
  const host = target.dockerHost ?? 'the local Docker host';
  const err = e as EngineError;
  const detail = `${err.code ? `${err.code}: ` : ''}${engineMessage(e)}`.slice(0, 500);
  if (err.statusCode === undefined && TLS_FAILURE.test(`${err.code ?? ''} ${err.message ?? ''}`)) {
    return new ApiError(
      400,
      'target_tls',
      `TLS with the engine at ${host} failed (${detail}): check that --tls-ca is the CA that signed the engine's certificate, that the certificate names the host you gave, and that --tls-cert/--tls-key are a client pair that CA signed.`,
    );
  }
  if (/Host denied \(verification failed\)/.test(detail)) {
    const url = new URL(host);
    return new ApiError(
      400,
      'target_ssh_host_key',
      `The ssh host ${url.host} is not known, or its key differs from the one known (~/.ssh/known_hosts of the user running the lab): connect once with "ssh ${url.port ? `-p ${url.port} ` : ''}${url.username ? `${url.username}@` : ''}${url.hostname}" on the lab's machine, check the key it shows, then add the target again.`,
    );
  }
  if (
    err.level === 'client-authentication' ||
    err.level === 'client-socket' ||
    /ssh|authentication methods/i.test(detail)
  ) {
    return new ApiError(
      400,
      'target_ssh',
      `The ssh connection to ${host} failed (${detail}): check that "ssh ${host.replace(/^ssh:\/\//, '')} docker version" works, with your key in the ssh agent (SSH_AUTH_SOCK) or in ~/.ssh.`,
    );
  }
  if (err.statusCode === 400 && /HTTP request to an HTTPS server/i.test(detail)) {
    return new ApiError(
      400,
      'target_tls_required',
      `The engine at ${host} speaks TLS only: give --tls-ca, --tls-cert and --tls-key (the files of its client certificate).`,
    );
  }
  if (err.statusCode !== undefined) {
    return new ApiError(
      400,
      'target_not_docker',
      `${host} answered, but not as a Docker Engine (HTTP ${err.statusCode}: ${detail.slice(0, 200)}): check the host and port of the engine's API (2375, or 2376 with TLS).`,
    );
  }
  return new ApiError(
    400,
    'target_unreachable',
    `The engine at ${host} does not answer (${detail}): check the host and port, and that the engine listens there.`,
  );
}

/**
 * Asks a target's engine what it is: `docker info`, whose Swarm.ControlAvailable says whether it is a
 * swarm's manager. Throws a 400 ApiError naming the problem when it does not answer as an engine.
 */
export async function probeEngine(engine: TargetEngine, ms = PROBE_TIMEOUT_MS): Promise<EngineInfo> {
  const host = engine.target.dockerHost ?? 'the local Docker host';
  let info: unknown;
  try {
    info = await withTimeout(engine.docker.info() as Promise<unknown>, ms, host);
  } catch (e) {
    throw engineProblem(e, engine.target);
  }
  if (typeof info !== 'object' || info === null || typeof (info as EngineInfo).ServerVersion !== 'string') {
    throw new ApiError(
      400,
      'target_not_docker',
      `${host} answered, but not as a Docker Engine (no ServerVersion in its answer to /info): check the host and port of the engine's API.`,
    );
  }
  return info as EngineInfo;
}

/** A target with its engine's state and nodes; a target that does not answer is listed with why. */
export async function targetStatus(engine: TargetEngine, home: string, ms = PROBE_TIMEOUT_MS): Promise<TargetStatus> {
  try {
    const host = engine.target.dockerHost ?? 'the local Docker host';
    const nodes = await withTimeout(listNodes(engine.docker, engine.target.kind, home), ms, host);
    return { target: engine.target, available: true, message: null, nodes };
  } catch (e) {
    return { target: engine.target, available: false, message: engineProblem(e, engine.target).message, nodes: [] };
  }
}

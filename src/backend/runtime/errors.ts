import { ApiError } from '../errors';

/**
 * A container engine error in words a person can act on. It is an ApiError, so a route that lets
 * it through answers with its status and message.
 */
export class RuntimeError extends ApiError {}

export const dockerUnavailable = (detail: string) =>
  new RuntimeError(
    503,
    'docker_unavailable',
    `Docker is not running or cannot be reached (${detail}): start it and press Retry.`,
  );

export const imageNotFound = (image: string) =>
  new RuntimeError(
    404,
    'image_not_found',
    `The image "${image}" is not found locally and could not be pulled: build it or check the name.`,
  );

/** What a call whose AbortSignal aborted fails with (its client is gone: nobody reads it but the log). */
export const cancelled = (what: string) =>
  new RuntimeError(499, 'cancelled', `Cancelled: the request to ${what} was closed before it ended.`);

const UNREACHABLE = /ECONNREFUSED|ENOENT|EACCES|ECONNRESET|EPIPE|socket hang up|connect ETIMEDOUT|EHOSTUNREACH/;

interface DockerodeError {
  statusCode?: number;
  reason?: string;
  code?: string;
  json?: { message?: string } | null;
  message?: string;
}

/** The engine's own message of a dockerode error. */
export function engineMessage(e: unknown): string {
  const d = e as DockerodeError;
  const text = d.json?.message ?? d.message ?? String(e);
  return text.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim();
}

/** Maps an error of a dockerode call (`what`, e.g. "start the container") to a RuntimeError. */
export function translate(e: unknown, what: string): RuntimeError {
  if (e instanceof RuntimeError) {
    return e;
  }
  const d = e as DockerodeError;
  const message = engineMessage(e);
  if (d.statusCode === undefined && (UNREACHABLE.test(`${d.code ?? ''} ${message}`) || d.code !== undefined)) {
    return dockerUnavailable(message);
  }
  const notFound = /executable file not found|no such file or directory|not found in \$PATH/i.exec(message);
  if (notFound && /exec|OCI runtime|starting container process/i.test(message)) {
    const command = /exec: "([^"]+)"/.exec(message)?.[1] ?? /exec ([^:]+): no such file/.exec(message)?.[1];
    return new RuntimeError(
      400,
      'command_not_found',
      `The command ${command ? `"${command}" ` : ''}does not exist in the image: check the command, or the image's PATH.`,
    );
  }
  if (d.statusCode === 404 && /no such image/i.test(message)) {
    // not final: the caller may pull the image and try again
    return new RuntimeError(404, 'image_missing', `The image is not present locally: ${message}.`);
  }
  if (/port is already allocated|address already in use/i.test(message)) {
    const port = /:(\d+)(?: failed|: bind)/.exec(message)?.[1];
    return new RuntimeError(
      409,
      'port_in_use',
      `The host port ${port ?? ''} is already in use: pick another host port, or stop what uses it.`.replace('  ', ' '),
    );
  }
  const status = d.statusCode === 404 ? 404 : d.statusCode === 409 ? 409 : d.statusCode === 400 ? 400 : 502;
  return new RuntimeError(status, 'docker_error', `Docker could not ${what}: ${message}.`);
}

import type Docker from 'dockerode';
import { RuntimeError } from './errors';

/**
 * dockerode options for a Docker host as people write it (`unix:///var/run/docker.sock`,
 * `tcp://10.0.0.5:2375`, `ssh://me@build-box`), as in DOCKER_HOST and the `mllab.docker.host`
 * setting. undefined/empty = dockerode's defaults, which honour DOCKER_HOST.
 */
export function dockerOptions(host: string | undefined): Docker.DockerOptions {
  if (!host) {
    return {};
  }
  if (host.startsWith('unix://') || host.startsWith('npipe://')) {
    return { socketPath: host.replace(/^[a-z]+:\/\//, '') };
  }
  if (host.startsWith('/')) {
    return { socketPath: host };
  }
  let url: URL;
  try {
    url = new URL(host.includes('://') ? host : `tcp://${host}`);
  } catch {
    throw invalidHost(host);
  }
  switch (url.protocol) {
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = url.protocol === 'https:' || url.port === '2376';
      return { host: url.hostname, port: Number(url.port || (tls ? 2376 : 2375)), protocol: tls ? 'https' : 'http' };
    }
    case 'ssh:':
      return {
        host: url.hostname,
        port: Number(url.port || 22),
        protocol: 'ssh',
        username: decodeURIComponent(url.username) || undefined,
        sshOptions: { agent: process.env.SSH_AUTH_SOCK },
      };
    default:
      throw invalidHost(host);
  }
}

const invalidHost = (host: string) =>
  new RuntimeError(
    400,
    'invalid_docker_host',
    `The Docker host "${host}" is not understood: use unix:///var/run/docker.sock, tcp://HOST:2375 or ssh://USER@HOST.`,
  );

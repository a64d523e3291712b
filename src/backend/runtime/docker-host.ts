import type Docker from 'dockerode';
import * as fs from 'fs';
import type { TargetTls } from '../../protocol/targets';
import { RuntimeError } from './errors';
import { knownHostVerifier } from './known-hosts';
import { sshDestination } from './ssh-config';

/**
 * dockerode options for a Docker host as people write it (`unix:///var/run/docker.sock`,
 * `tcp://10.0.0.5:2375`, `ssh://me@build-box`), as in DOCKER_HOST and the `mllab.docker.host`
 * setting. undefined/empty = dockerode's defaults, which honour DOCKER_HOST. With `tls` (a target's
 * client files), a tcp:// host is spoken to over TLS with those files, whatever its port.
 */
export function dockerOptions(host: string | undefined, tls?: TargetTls | null): Docker.DockerOptions {
  if (!host) {
    return {};
  }
  if (tls && hasTlsFiles(tls)) {
    const options = dockerOptions(host);
    if (options.protocol !== 'http' && options.protocol !== 'https') {
      throw new RuntimeError(
        400,
        'tls_not_tcp',
        `TLS files were given for "${host}", which is not a tcp:// host: give TLS files only with tcp://HOST:2376.`,
      );
    }
    return { ...options, protocol: 'https', ...readTlsFiles(tls) };
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
    case 'ssh:': {
      // aliases, user, port, keys and known_hosts as the user's ssh configuration says
      const ssh = sshDestination(url);
      return {
        host: ssh.host,
        port: ssh.port,
        protocol: 'ssh',
        username: ssh.username,
        // the host's key is checked against known_hosts, as the ssh command does
        sshOptions: {
          agent: ssh.agent,
          ...(ssh.privateKey ? { privateKey: ssh.privateKey } : {}),
          hostVerifier: knownHostVerifier(ssh.hostKeyName, ssh.port, ssh.knownHostsFiles),
        } as Docker.DockerOptions['sshOptions'],
      };
    }
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

const hasTlsFiles = (tls: TargetTls) => Boolean(tls.caFile || tls.certFile || tls.keyFile);

/** The PEM contents of the TLS files; an unreadable file is named with what to do. */
function readTlsFiles(tls: TargetTls): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (what: string, file: string | null) => {
    if (!file) {
      return undefined;
    }
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new RuntimeError(
        400,
        'tls_file_unreadable',
        `The TLS ${what} file "${file}" cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): check the path; it is read on the lab's machine.`,
      );
    }
  };
  if (Boolean(tls.certFile) !== Boolean(tls.keyFile)) {
    throw new RuntimeError(
      400,
      'tls_incomplete',
      'A TLS client certificate needs its key and the key its certificate: give both --tls-cert and --tls-key, or neither.',
    );
  }
  return { ca: read('CA', tls.caFile), cert: read('certificate', tls.certFile), key: read('key', tls.keyFile) };
}

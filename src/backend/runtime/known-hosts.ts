import { createHmac } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The files OpenSSH reads the keys of known hosts from: the user's, then the machine's. */
export function knownHostsFiles(): string[] {
  return [path.join(os.homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

/** How OpenSSH names a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
function hostName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Whether a known_hosts host field (`a,b`, `|1|salt|hash`, negations and wildcards excepted) names the host. */
function namesHost(field: string, name: string): boolean {
  return field.split(',').some((pattern) => {
    if (pattern.startsWith('|1|')) {
      const [, , salt, hash] = pattern.split('|');
      return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
    }
    return pattern === name;
  });
}

/**
 * The host keys (base64 of the key blob) that known_hosts lists for `host:port`: what an ssh:// engine
 * must present, as the ssh command checks (a host with none is not trusted; `@revoked` keys never are).
 */
export function knownHostKeys(
  host: string,
  port: number,
  files: readonly string[] = knownHostsFiles(),
): { keys: string[]; revoked: string[] } {
  const name = hostName(host, port);
  const keys: string[] = [];
  const revoked: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const parts = line.trim().split(/\s+/);
      if (parts.length < 3 || parts[0].startsWith('#')) {
        continue;
      }
      const marker = parts[0].startsWith('@') ? parts.shift() : undefined;
      if (parts.length >= 3 && namesHost(parts[0], name)) {
        (marker === '@revoked' ? revoked : keys).push(parts[2]);
      }
    }
  }
  return { keys, revoked };
}

/** ssh2's `hostVerifier` for an ssh:// engine: its key must be one known_hosts lists for it. */
export function knownHostVerifier(
  host: string,
  port: number,
  files: readonly string[] = knownHostsFiles(),
): (key: Buffer) => boolean {
  return (key) => {
    const { keys, revoked } = knownHostKeys(host, port, files);
    const presented = key.toString('base64');
    return keys.includes(presented) && !revoked.includes(presented);
  };
}

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { utils } from 'ssh2';
import { RuntimeError } from './errors';

/** Where and how to log in for an ssh:// Docker host, as the user's ssh configuration says. */
export interface SshDestination {
  /** the machine to connect to (`HostName` of an alias) */
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  /** the first `IdentityFile` that exists and opens without a passphrase (PEM/OpenSSH text) */
  readonly privateKey: Buffer | undefined;
  /** the agent's socket (`IdentityAgent`, else SSH_AUTH_SOCK); undefined = none */
  readonly agent: string | undefined;
  /** the known_hosts files, the user's then the machine's, and the name the host's key is listed by */
  readonly knownHostsFiles: readonly string[];
  readonly hostKeyName: string;
}

/**
 * A path of ssh's configuration in the lab's HOME: `~` expanded, and ssh's own expansion (the
 * account's home directory) moved to HOME when the lab runs with another one.
 */
function inHome(p: string): string {
  if (p === '~' || p.startsWith('~/')) {
    return path.join(os.homedir(), p.slice(1));
  }
  const account = os.userInfo().homedir;
  return account !== os.homedir() && p.startsWith(`${account}/`) ? path.join(os.homedir(), p.slice(account.length)) : p;
}

/**
 * What OpenSSH makes of `ssh://USER@HOST:PORT` for the user running the lab: `ssh -G` prints its
 * configuration evaluated for that destination (aliases, `Host`/`Match` blocks, `Include`, the
 * defaults) without connecting, so the lab follows ~/.ssh/config as the Docker CLI's ssh does,
 * without a parser of its own. The user and port written in the URL win over the configuration, as
 * on the ssh command line. ~ is the lab's HOME, as for known_hosts. Without an `ssh` program,
 * the URL is taken as written, with the agent and the default known_hosts files.
 */
export function sshDestination(url: URL): SshDestination {
  const userGiven = decodeURIComponent(url.username) || undefined;
  const portGiven = url.port ? Number(url.port) : undefined;
  // ssh reads the account's ~/.ssh/config; a lab run with another HOME reads the one there
  const config = path.join(os.homedir(), '.ssh', 'config');
  const own = os.homedir() !== os.userInfo().homedir;
  const args = [
    '-G',
    ...(own ? ['-F', fs.existsSync(config) ? config : '/dev/null'] : []),
    ...(portGiven ? ['-p', String(portGiven)] : []),
    ...(userGiven ? ['-l', userGiven] : []),
    '--',
    url.hostname,
  ];
  let evaluated: Map<string, string[]>;
  try {
    const out = execFileSync('ssh', args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
    evaluated = new Map();
    for (const line of out.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) {
        const key = line.slice(0, space).toLowerCase();
        evaluated.set(key, [...(evaluated.get(key) ?? []), line.slice(space + 1).trim()]);
      }
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code !== 'ENOENT') {
      throw new RuntimeError(
        400,
        'target_ssh',
        `The ssh configuration for ${url.hostname} cannot be read (${(err.stderr ?? err.message).trim()}): check ~/.ssh/config.`,
      );
    }
    return {
      host: url.hostname,
      port: portGiven ?? 22,
      username: userGiven,
      privateKey: undefined,
      agent: process.env.SSH_AUTH_SOCK,
      knownHostsFiles: [path.join(os.homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'],
      hostKeyName: url.hostname,
    };
  }
  const one = (key: string) => evaluated.get(key)?.[0];
  const proxy = [one('proxyjump'), one('proxycommand')].find((p) => p && p !== 'none');
  if (proxy) {
    throw new RuntimeError(
      400,
      'target_ssh',
      `The ssh configuration reaches ${url.hostname} through a proxy (${proxy}), which the lab does not follow: give the target a host it reaches directly, or a tcp:// address with TLS.`,
    );
  }
  const agentSetting = one('identityagent');
  const agent =
    agentSetting === 'none'
      ? undefined
      : agentSetting && agentSetting !== 'SSH_AUTH_SOCK'
        ? inHome(agentSetting)
        : process.env.SSH_AUTH_SOCK;
  const files = (key: string) =>
    (evaluated.get(key) ?? [])
      .flatMap((v) => v.split(/\s+/))
      .filter((f) => f && f !== 'none')
      .map(inHome);
  const host = one('hostname') ?? url.hostname;
  return {
    host,
    port: Number(one('port') ?? portGiven ?? 22),
    username: one('user') ?? userGiven,
    privateKey: firstUsableKey(files('identityfile')),
    agent: one('identitiesonly') === 'yes' && files('identityfile').some((f) => fs.existsSync(f)) ? undefined : agent,
    knownHostsFiles: [...files('userknownhostsfile'), ...files('globalknownhostsfile')],
    hostKeyName: one('hostkeyalias') ?? host,
  };
}

/** The first identity file that exists and opens without a passphrase (keys with one are the agent's job). */
function firstUsableKey(files: readonly string[]): Buffer | undefined {
  for (const file of files) {
    let key: Buffer;
    try {
      key = fs.readFileSync(file);
    } catch {
      continue;
    }
    if (!(utils.parseKey(key) instanceof Error)) {
      return key;
    }
  }
  return undefined;
}

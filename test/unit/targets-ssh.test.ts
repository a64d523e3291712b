import * as assert from 'assert';
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { Backend } from '../../src/backend/app';
import type { TargetStatus } from '../../src/protocol/targets';
import { errorOf, raw, startBackend, tempHome } from './helpers';

const SSHD = '/usr/sbin/sshd';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(true)).on('error', () => resolve(false));
      socket.setTimeout(1000, () => resolve(false));
      setTimeout(() => socket.destroy(), 1000);
    });
    if (open) {
      return;
    }
    if (Date.now() > end) {
      throw new Error(`nothing listens on 127.0.0.1:${port}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * ssh:// targets against a real sshd on 127.0.0.1 (Debian's openssh-server, started by the test with
 * a host key and an authorized key made here), in front of this machine's Docker Engine: the lab's
 * engine calls go through ssh as `docker system dial-stdio`, with the key from an ssh agent.
 */
describe('targets: a Docker Engine over ssh://', function () {
  let dir: string;
  let cleanup: () => void;
  let sshd: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  let backend: Backend;
  let port: number;
  const agentBefore = process.env.SSH_AUTH_SOCK;
  const homeBefore = process.env.HOME;
  /** a known_hosts line for the test's sshd with the public key in `file` */
  const knownHosts = (file: string) =>
    fs.writeFileSync(
      path.join(dir, 'user', '.ssh', 'known_hosts'),
      `[127.0.0.1]:${port} ${fs.readFileSync(path.join(dir, file), 'utf8').split(' ').slice(0, 2).join(' ')}\n`,
    );

  before(async function () {
    if (!fs.existsSync(SSHD) || process.getuid?.() !== 0) {
      console.log(`    skipped: needs ${SSHD} (Debian's openssh-server) and root, to log in as this user with a key`);
      this.skip();
    }
    const t = tempHome();
    cleanup = t.cleanup;
    dir = path.dirname(t.home);
    fs.mkdirSync(dir, { recursive: true });
    for (const name of ['host', 'client']) {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, name)]);
    }
    fs.copyFileSync(path.join(dir, 'client.pub'), path.join(dir, 'authorized_keys'));
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    port = await freePort();
    sshd = spawn(
      SSHD,
      ['-D', '-e', '-f', '/dev/null', '-p', String(port)].concat(
        [
          '-o',
          'ListenAddress=127.0.0.1',
          '-h',
          path.join(dir, 'host'),
          '-o',
          `AuthorizedKeysFile=${path.join(dir, 'authorized_keys')}`,
        ],
        [
          '-o',
          'StrictModes=no',
          '-o',
          'PermitRootLogin=prohibit-password',
          '-o',
          'PasswordAuthentication=no',
          '-o',
          'PidFile=none',
        ],
      ),
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    sshd.stderr!.resume();
    const sock = path.join(dir, 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    await waitForPort(port);
    for (const end = Date.now() + 15_000; !fs.existsSync(sock);) {
      assert.ok(Date.now() < end, 'the ssh agent did not make its socket');
      await new Promise((r) => setTimeout(r, 50));
    }
    execFileSync('ssh-add', ['-q', path.join(dir, 'client')], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
    process.env.SSH_AUTH_SOCK = sock;
    // the lab trusts the hosts of ~/.ssh/known_hosts, as ssh does: a home of the test's own
    fs.mkdirSync(path.join(dir, 'user', '.ssh'), { recursive: true });
    process.env.HOME = path.join(dir, 'user');
    backend = await startBackend(path.join(dir, '.mllab'));
  });

  after(async () => {
    await backend?.stop('test over');
    sshd?.kill();
    agent?.kill();
    process.env.HOME = homeBefore;
    if (agentBefore === undefined) {
      delete process.env.SSH_AUTH_SOCK;
    } else {
      process.env.SSH_AUTH_SOCK = agentBefore;
    }
    cleanup?.();
  });

  it('refuses a host whose key is not in known_hosts, or another key, naming it (as ssh would ask)', async () => {
    const user = os.userInfo().username;
    const add = () =>
      raw(backend.port, 'POST', '/api/targets', {
        body: JSON.stringify({ name: 'over-ssh', dockerHost: `ssh://${user}@127.0.0.1:${port}` }),
      });
    const unknown = await add();
    assert.strictEqual(unknown.status, 400, unknown.text);
    assert.strictEqual(errorOf(unknown).code, 'target_ssh_host_key');
    assert.match(
      errorOf(unknown).message,
      /The ssh host 127\.0\.0\.1:\d+ is not known.*connect once with "ssh -p \d+ /,
    );
    knownHosts('client.pub');
    const other = await add();
    assert.strictEqual(errorOf(other).code, 'target_ssh_host_key');
  });

  it('adds the engine behind ssh with the agent key, and lists its node', async () => {
    knownHosts('host.pub');
    const user = os.userInfo().username;
    const res = await raw(backend.port, 'POST', '/api/targets', {
      body: JSON.stringify({ name: 'over-ssh', dockerHost: `ssh://${user}@127.0.0.1:${port}` }),
    });
    assert.strictEqual(res.status, 201, res.text);
    const status = res.json() as TargetStatus;
    assert.strictEqual(status.target.dockerHost, `ssh://${user}@127.0.0.1:${port}`);
    assert.strictEqual(status.available, true);
    assert.strictEqual(status.nodes.length, 1);
    assert.strictEqual(
      status.nodes[0].name,
      execFileSync('docker', ['info', '--format', '{{.Name}}']).toString().trim(),
    );
  });

  it('names an ssh login that fails (a user the key does not open), storing nothing', async () => {
    const res = await raw(backend.port, 'POST', '/api/targets', {
      body: JSON.stringify({ name: 'refused', dockerHost: `ssh://nobody@127.0.0.1:${port}` }),
    });
    assert.strictEqual(res.status, 400, res.text);
    assert.strictEqual(errorOf(res).code, 'target_ssh');
    assert.match(
      errorOf(res).message,
      /The ssh connection to ssh:\/\/nobody@127\.0\.0\.1:\d+ failed \(.*authentication/,
    );
    assert.strictEqual((await raw(backend.port, 'GET', '/api/targets/refused')).status, 404);
  });
});

import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Backend } from '../../src/backend/app';
import { EventBus } from '../../src/backend/events';
import { MemoryLogger } from '../../src/backend/log';
import { ApiClient, BackendError } from '../../src/client/api-client';
import { connectRemote, labTarget } from '../../src/client/connect';
import { credentialsFile, parseLabUrl } from '../../src/client/credentials';
import { EventStream } from '../../src/client/event-stream';
import * as mllab from '../../src/client/index';
import type { BackendEvent, BackendStatus, Project } from '../../src/protocol/api';
import type { CreatedToken } from '../../src/protocol/users';
import { eventually, raw, REPO, TEST_TOKEN } from './helpers';
import { cliAsync, type CliResult } from './process-helpers';
import { ServedLab } from './served-lab';

/** A plain HTTP server on 127.0.0.1 that is not an ML Lab: it answers every request with `answer`. */
async function otherServer(status: number, type: string, body: string): Promise<{ url: string; close: () => void }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/** A TCP proxy on 127.0.0.1 in front of `port` whose connections the test can cut. */
async function tcpProxy(port: number): Promise<{ port: number; cut: () => number; close: () => void }> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((front) => {
    const back = net.connect(port, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [front, back];
    pairs.add(pair);
    const drop = () => {
      front.destroy();
      back.destroy();
      pairs.delete(pair);
    };
    front.on('error', drop).on('close', drop);
    back.on('error', drop).on('close', drop);
    front.pipe(back);
    back.pipe(front);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut: () => {
      const n = pairs.size;
      for (const [front, back] of [...pairs]) {
        front.destroy();
        back.destroy();
      }
      return n;
    },
    close: () => {
      for (const [front, back] of [...pairs]) {
        front.destroy();
        back.destroy();
      }
      server.close();
    },
  };
}

/**
 * Runs a command in a pseudo-terminal (Python's pty module), typing `secret` and Enter once the
 * command asks for it; resolves with everything the terminal showed.
 */
const PTY_DRIVER = `
import os, pty, select, sys
secret = os.environ.pop('PTY_SECRET')
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
shown, sent = b'', False
while True:
    ready, _, _ = select.select([fd], [], [], 30)
    if not ready:
        break
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    shown += chunk
    if not sent and b'(not shown): ' in shown:
        os.write(fd, secret.encode() + b'\\r')
        sent = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`;
import { makeCertificate } from './certificate';

function inTerminal(
  command: string[],
  secret: string,
  env: Record<string, string>,
  cwd: string,
): Promise<{ status: number | null; shown: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', PTY_DRIVER, ...command], {
      env: { ...process.env, ...env, PTY_SECRET: secret },
      cwd,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let shown = '';
    child.stdout.on('data', (d: Buffer) => (shown += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, shown }));
  });
}

/** The variables that choose a lab, all unset (the CLI inherits this process's environment). */
const NO_LAB = { MLLAB_URL: '', MLLAB_TOKEN: '', MLLAB_CA_FILE: '', MLLAB_HOME: '' };

describe('the CLI and the Node client against a lab served over TLS', function () {
  this.timeout(60000);
  let lab: ServedLab;
  let root: string;
  let home: string;
  let backend: Backend;
  let url: string;
  let caFile: string;
  let config: string;
  let elsewhere: string;
  const log = new MemoryLogger();

  /** runs the CLI from a folder without a lab home, with its own config folder */
  const run = (args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> =>
    cliAsync(args, { env: { ...NO_LAB, XDG_CONFIG_HOME: config, ...env }, cwd: elsewhere, input });

  async function tokenFor(user: string, extra: Record<string, unknown> = {}): Promise<CreatedToken> {
    const res = await raw(backend.port, 'POST', '/api/tokens', { body: JSON.stringify({ user, ...extra }) });
    assert.strictEqual(res.status, 201, res.text);
    return res.json() as CreatedToken;
  }

  before(async () => {
    lab = await ServedLab.start({ log });
    ({ root, home, backend, url, caFile } = lab);
    config = path.join(root, 'config');
    // a working folder with no lab home in it or above it
    elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-test-elsewhere-'));
    for (const [name, role] of [
      ['ann', 'viewer'],
      ['max', 'member'],
    ]) {
      const res = await raw(backend.port, 'POST', '/api/users', { body: JSON.stringify({ name, role }) });
      assert.strictEqual(res.status, 201, res.text);
    }
    const created = await raw(backend.port, 'POST', '/api/projects', { body: '{"name":"Shared"}' });
    assert.strictEqual(created.status, 201, created.text);
  });
  after(async () => {
    await lab.stop();
    fs.rmSync(elsewhere, { recursive: true, force: true });
  });

  it('lists projects with MLLAB_URL, MLLAB_TOKEN and MLLAB_CA_FILE, and says which lab and user', async () => {
    const { token } = await tokenFor('max');
    const env = { MLLAB_URL: url, MLLAB_TOKEN: token, MLLAB_CA_FILE: caFile };
    const created = await run(['project', 'create', 'Remote'], env);
    assert.strictEqual(created.status, 0, created.stderr);
    const names = ((await raw(backend.port, 'GET', '/api/projects')).json() as Project[]).map((p) => p.name);
    assert.deepStrictEqual(names.sort(), ['Remote', 'Shared']);
    const list = await run(['project', 'list', '--json'], env);
    assert.strictEqual(list.status, 0, list.stderr);
    assert.ok(list.json<{ projects: Project[] }>().projects.some((p) => p.name === 'Remote'));
    const status = await run(['status'], env);
    assert.strictEqual(status.status, 0, status.stderr);
    assert.match(
      status.stdout,
      new RegExp(`^ML Lab 0\\.0\\.0-test at ${url} \\(a lab served to a team, from MLLAB_URL`),
    );
    assert.match(status.stdout, /^user: +max \(member\)$/m);
    const json = (await run(['status', '--json'], env)).json<BackendStatus & { lab: Record<string, unknown> }>();
    assert.deepStrictEqual(json.lab, { kind: 'remote', url, user: 'max', role: 'member', tokenFrom: 'MLLAB_TOKEN' });
    assert.strictEqual(json.home, home);
    assert.ok(!status.stdout.includes(token) && !status.stderr.includes(token), 'the token is never printed');
  });

  it('keeps the 403 of a role without permission, naming the role needed', async () => {
    const { token } = await tokenFor('ann');
    const r = await run(['project', 'create', 'Nope'], { MLLAB_URL: url, MLLAB_TOKEN: token, MLLAB_CA_FILE: caFile });
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /needs the member role; you are a viewer \("ann"\)/);
  });

  it('names an untrusted certificate and says to pass the CA with MLLAB_CA_FILE', async () => {
    const { token } = await tokenFor('max');
    const r = await run(['project', 'list', '--json'], { MLLAB_URL: url, MLLAB_TOKEN: token });
    assert.strictEqual(r.status, 1);
    const error = r.json<{ error: { code: string; message: string } }>().error;
    assert.strictEqual(error.code, 'tls_untrusted');
    assert.match(error.message, /^The lab's certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT/);
    assert.match(error.message, /MLLAB_CA_FILE=FILE/);
    const wrongCa = makeCertificate(root, 'other').cert;
    const other = await run(['project', 'list'], { MLLAB_URL: url, MLLAB_TOKEN: token, MLLAB_CA_FILE: wrongCa });
    assert.match(other.stderr, /certificate is not trusted/);
    const key = await run(['project', 'list'], { MLLAB_URL: url, MLLAB_TOKEN: token, MLLAB_CA_FILE: caFile + '.x' });
    assert.match(key.stderr, /MLLAB_CA_FILE .*lab\.crt\.x cannot be read/);
    const plain = await run(['project', 'list'], {
      MLLAB_URL: url.replace('https:', 'http:'),
      MLLAB_TOKEN: token,
    });
    assert.strictEqual(plain.status, 1);
    assert.match(plain.stderr, /is not an ML Lab|does not answer/);
  });

  it('refuses a wrong, an expired and a revoked token with 401 saying to give a new one', async () => {
    const env = { MLLAB_URL: url, MLLAB_CA_FILE: caFile };
    const wrong = await run(['project', 'list'], { ...env, MLLAB_TOKEN: `mllab_${'0'.repeat(16)}_${'1'.repeat(64)}` });
    assert.strictEqual(wrong.status, 1);
    assert.match(
      wrong.stderr,
      /^mllab: The lab at https:\/\/127\.0\.0\.1:\d+ refused the token \(expired or revoked\?\): set MLLAB_TOKEN to a new one\. The lab says: This token is not known/,
    );
    const expiring = await tokenFor('max', { expiresInSeconds: 1 });
    assert.strictEqual((await run(['project', 'list'], { ...env, MLLAB_TOKEN: expiring.token })).status, 0);
    await new Promise((r) => setTimeout(r, Date.parse(expiring.expiresAt!) - Date.now() + 50));
    const expired = await run(['project', 'list'], { ...env, MLLAB_TOKEN: expiring.token });
    assert.strictEqual(expired.status, 1);
    assert.match(expired.stderr, new RegExp(`refused the token .*Token ${expiring.id} expired at`));
    const revoking = await tokenFor('max');
    const revoked = await raw(backend.port, 'POST', `/api/tokens/${revoking.id}/revoke`);
    assert.strictEqual(revoked.status, 200);
    const after = await run(['project', 'list', '--json'], { ...env, MLLAB_TOKEN: revoking.token });
    const error = after.json<{ error: { code: string; message: string } }>().error;
    assert.strictEqual(error.code, 'unauthorized');
    assert.match(error.message, new RegExp(`refused the token .*Token ${revoking.id} was revoked at`));
    assert.ok(!after.stdout.includes(revoking.token), 'the token is never printed');
    // a client of a login is told to log in again
    const client = new ApiClient({ url, token: revoking.token, ca: fs.readFileSync(caFile), tokenFrom: 'login' });
    try {
      await assert.rejects(client.listProjects(), (e: BackendError) =>
        e.message.startsWith(
          `The lab at ${url} refused the token (expired or revoked?): run "mllab login ${url}" with a new one.`,
        ),
      );
    } finally {
      client.dispose();
    }
  });

  it('says that a URL answering something else is not an ML Lab', async () => {
    const { token } = await tokenFor('max');
    const html = await otherServer(200, 'text/html', '<!doctype html><title>Router admin</title>');
    const json = await otherServer(200, 'application/json', '{"ok":true}');
    const missing = await otherServer(404, 'text/plain', 'Not Found');
    try {
      const a = await run(['project', 'list'], { MLLAB_URL: html.url, MLLAB_TOKEN: token });
      assert.strictEqual(a.status, 1);
      assert.strictEqual(
        a.stderr,
        `mllab: ${html.url} is not an ML Lab (GET /api/status answered HTTP 200 OK, text/html: "<!doctype html><title>Router admin</title>"): check the URL (and its port and path).\n`,
      );
      const b = await run(['status', '--json'], { MLLAB_URL: json.url, MLLAB_TOKEN: token });
      assert.strictEqual(b.json<{ error: { code: string } }>().error.code, 'not_ml_lab');
      const c = await run(['project', 'list'], { MLLAB_URL: missing.url + '/lab/', MLLAB_TOKEN: token });
      assert.match(
        c.stderr,
        /lab is not an ML Lab \(GET \/api\/status answered HTTP 404 Not Found, text\/plain: "Not Found"\)/,
      );
      const login = await run(['login', html.url, '--token', token], {});
      assert.match(login.stderr, /is not an ML Lab/);
      assert.ok(!fs.existsSync(credentialsFile({ XDG_CONFIG_HOME: config })), 'nothing was stored');
    } finally {
      html.close();
      json.close();
      missing.close();
    }
  });

  it('gives up on a lab that accepts the connection but never answers the TLS handshake, saying so', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const client = new ApiClient({
      url: `https://127.0.0.1:${port}`,
      token: 'x',
      tokenFrom: 'MLLAB_TOKEN',
      connectTimeoutMs: 300,
    });
    try {
      await assert.rejects(client.status(), (e: BackendError) =>
        e.message.startsWith(
          `The lab at https://127.0.0.1:${port} did not answer in time (no connection within 300 ms, with the TLS handshake): check the URL`,
        ),
      );
    } finally {
      client.dispose();
      silent.close();
    }
  });

  it('refuses a bad MLLAB_URL or a token without a URL, saying what to give', async () => {
    const bad = await run(['project', 'list'], { MLLAB_URL: 'lab.example.com', MLLAB_TOKEN: 'x' });
    assert.match(bad.stderr, /MLLAB_URL "lab\.example\.com" is not a URL: give it as https:\/\/HOST\[:PORT\]/);
    const clear = await run(['project', 'list'], { MLLAB_URL: 'http://lab.example.com', MLLAB_TOKEN: 'x' });
    assert.match(clear.stderr, /plain HTTP off this machine.*clear text/);
    const noToken = await run(['project', 'list'], { MLLAB_URL: url });
    assert.match(noToken.stderr, /MLLAB_URL is set .* but MLLAB_TOKEN is not/);
    const noUrl = await run(['project', 'list'], { MLLAB_TOKEN: 'x' });
    assert.match(noUrl.stderr, /MLLAB_TOKEN is set but MLLAB_URL is not/);
    const spaced = await run(['project', 'list'], { MLLAB_URL: url, MLLAB_TOKEN: 'two words' });
    assert.match(spaced.stderr, /MLLAB_TOKEN holds spaces/);
    assert.throws(() => parseLabUrl('https://user:pw@lab.example.com'), /must not hold a user or password/);
    assert.strictEqual(parseLabUrl('https://lab.example.com:8443/mllab/'), 'https://lab.example.com:8443/mllab');
  });

  it('says which commands need the lab home on this machine, instead of failing obscurely', async () => {
    const { token } = await tokenFor('max');
    const env = { MLLAB_URL: url, MLLAB_TOKEN: token, MLLAB_CA_FILE: caFile };
    fs.writeFileSync(path.join(elsewhere, 'data.csv'), 'a,b\n1,2\n');
    for (const [args, what] of [
      [['stop'], '"mllab stop"'],
      [['model', 'register', 'data.csv', '--name', 'm'], '"mllab model register PATH"'],
    ] as const) {
      const r = await run([...args], env);
      assert.strictEqual(r.status, 1, args.join(' '));
      assert.ok(
        r.stderr.startsWith(`mllab: ${what} is not available against a remote lab (${url}) yet: `),
        `${args.join(' ')}: ${r.stderr}`,
      );
    }
    assert.ok(!fs.existsSync(path.join(elsewhere, '.mllab')), 'no local lab home was made');
    const list = await run(['project', 'list', '--json'], env);
    assert.strictEqual(list.status, 0, list.stderr);
  });

  it('lets the Node client list datasets remotely and says what needs a local lab home', async () => {
    const { token } = await tokenFor('max');
    const saved = { ...process.env };
    Object.assign(process.env, { MLLAB_URL: url, MLLAB_TOKEN: token, MLLAB_CA_FILE: caFile });
    delete process.env.MLLAB_HOME;
    const max = new ApiClient({ url, token, ca: fs.readFileSync(caFile), tokenFrom: 'MLLAB_TOKEN' });
    try {
      await max.createProject('Node');
      assert.deepStrictEqual(await mllab.datasets({ project: 'Node' }), []);
      await assert.rejects(mllab.dataset('iris'), /A dataset's local path is not available against a remote lab/);
      await assert.rejects(mllab.addDataset('x.csv'), /Adding a dataset from a path is not available against a remote/);
      assert.deepStrictEqual(labTarget({ home: home }), { kind: 'local', home }, 'an explicit home wins');
      process.env.MLLAB_TOKEN = `mllab_${'0'.repeat(16)}_${'1'.repeat(64)}`;
      await assert.rejects(mllab.datasets(), /refused the token \(expired or revoked\?\): set MLLAB_TOKEN/);
    } finally {
      max.dispose();
      for (const k of ['MLLAB_URL', 'MLLAB_TOKEN', 'MLLAB_CA_FILE', 'MLLAB_HOME']) {
        if (saved[k] === undefined) {
          delete process.env[k];
        } else {
          process.env[k] = saved[k];
        }
      }
    }
  });

  it('stores a login (0600 in a 0700 folder) only once the lab took the token, and later commands use it', async () => {
    const { token } = await tokenFor('ann');
    const file = credentialsFile({ XDG_CONFIG_HOME: config });
    const refused = await run(['login', url, '--ca', caFile], {}, `mllab_${'0'.repeat(16)}_${'1'.repeat(64)}\n`);
    assert.strictEqual(refused.status, 1);
    assert.match(refused.stderr, /refused the token/);
    assert.ok(!fs.existsSync(file), 'a refused token is not stored');
    const untrusted = await run(['login', url], {}, token + '\n');
    assert.match(untrusted.stderr, /certificate is not trusted.*--ca FILE/);
    assert.ok(!fs.existsSync(file));

    const login = await run(['login', url + '/', '--ca', caFile], {}, token + '\n');
    assert.strictEqual(login.status, 0, login.stderr);
    assert.match(login.stdout, new RegExp(`^Logged in to ${url} as ann \\(viewer\\): ML Lab 0\\.0\\.0-test\\.`));
    assert.ok(!login.stdout.includes(token) && !login.stderr.includes(token), 'the token is not echoed');
    assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
    assert.strictEqual(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
    assert.strictEqual(stored.url, url);
    assert.strictEqual(stored.token, token);
    assert.strictEqual(stored.ca, fs.readFileSync(caFile, 'utf8'));
    assert.strictEqual(stored.user, 'ann');
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['credentials.json'], 'no temporary file is left');

    const list = await run(['project', 'list', '--json']);
    assert.strictEqual(list.status, 0, list.stderr);
    const tlsPort = Number(new URL(url).port);
    const asAnn = await raw(tlsPort, 'GET', '/api/projects', { token, ca: fs.readFileSync(caFile) });
    assert.deepStrictEqual(
      list.json<{ projects: Project[] }>().projects.map((p) => p.id),
      (asAnn.json() as Project[]).map((p) => p.id),
      'the projects the lab shows this user',
    );
    const status = await run(['status']);
    assert.match(status.stdout, new RegExp(`at ${url} \\(a lab served to a team, from the login of "mllab login"\\)`));
    assert.match(status.stdout, /^user: +ann \(viewer\)$/m);
    // the variables win over the stored login; --home and MLLAB_HOME choose a local lab
    const { token: maxToken } = await tokenFor('max');
    const asMax = await run(['status', '--json'], { MLLAB_URL: url, MLLAB_TOKEN: maxToken });
    assert.strictEqual(asMax.json<{ lab: { user: string } }>().lab.user, 'max', 'the login CA serves the same URL');
    const local = path.join(root, 'nowhere', '.mllab');
    for (const r of [await run(['status', '--home', local]), await run(['status'], { MLLAB_HOME: local })]) {
      assert.strictEqual(r.status, 1);
      assert.match(r.stderr, /No ML Lab backend runs for .*nowhere/);
    }
    // a file others could read is refused
    fs.chmodSync(file, 0o644);
    const open = await run(['project', 'list']);
    assert.match(open.stderr, /holds a token but others may read it \(mode 644\): run "chmod 600 /);
    fs.chmodSync(file, 0o600);

    const logout = await run(['logout']);
    assert.strictEqual(logout.status, 0, logout.stderr);
    assert.match(logout.stdout, new RegExp(`^Logged out of ${url}: .* is deleted\\. The token itself stays valid`));
    assert.ok(!fs.existsSync(file));
    const after = await run(['status']);
    assert.match(after.stderr, /No ML Lab backend runs for .*elsewhere/, 'without a login, the local lab as before');
    assert.match((await run(['logout'])).stdout, /Not logged in to any lab/);
  });

  it('asks for the token on a terminal without showing it', async () => {
    const { token } = await tokenFor('max');
    const env = { ...NO_LAB, XDG_CONFIG_HOME: config };
    const typed = await inTerminal(
      [process.execPath, path.join(REPO, 'bin', 'mllab.js'), 'login', url, '--ca', caFile],
      token,
      env,
      elsewhere,
    );
    assert.strictEqual(typed.status, 0, typed.shown);
    assert.match(typed.shown, new RegExp(`Token for ${url} \\(not shown\\): `));
    assert.match(typed.shown, /Logged in to .* as max \(member\)/);
    assert.ok(!typed.shown.includes(token.slice(24)), 'what was typed is not echoed');
    const stored = JSON.parse(fs.readFileSync(credentialsFile({ XDG_CONFIG_HOME: config }), 'utf8')) as {
      token: string;
    };
    assert.strictEqual(stored.token, token);
    assert.strictEqual((await run(['logout'])).status, 0);
  });

  it('takes the token from --token, and checks the lab and the token with connectRemote', async () => {
    const { token } = await tokenFor('max');
    const login = await run(['login', url, '--token', token, '--ca', caFile, '--json']);
    assert.strictEqual(login.status, 0, login.stderr);
    assert.deepStrictEqual(
      { ...login.json<Record<string, unknown>>(), file: undefined },
      { url, user: 'max', role: 'member', version: '0.0.0-test', file: undefined },
    );
    assert.strictEqual((await run(['logout'])).status, 0);
    const empty = await run(['login', url, '--ca', caFile], {}, '\n');
    assert.match(empty.stderr, /No token given: type it when asked, pipe it in, or pass --token T/);
    const remote = await connectRemote({ url, token, ca: fs.readFileSync(caFile, 'utf8'), tokenFrom: 'MLLAB_TOKEN' });
    try {
      assert.deepStrictEqual(remote.me, { name: 'max', role: 'member' });
      assert.strictEqual(remote.status.home, home);
      assert.deepStrictEqual(await remote.client.whoami(), { name: 'max', role: 'member' });
    } finally {
      remote.client.dispose();
    }
  });
});

describe('the event stream resumes after a dropped connection', function () {
  this.timeout(60000);
  let lab: ServedLab;
  let backend: Backend;
  let ca: Buffer;
  let token: string;

  before(async () => {
    lab = await ServedLab.start({ certName: 'events' });
    ({ backend, ca } = lab);
    token = await lab.userToken('ann', 'viewer');
  });
  after(() => lab.stop());

  const counts = (events: BackendEvent[]) => events.flatMap((e) => (e.type === 'runsWaiting' ? [e.count] : []));

  it('replays what was published while the connection was down: every event once, in order', async () => {
    const proxy = await tcpProxy(Number(new URL(backend.url).port));
    const client = new ApiClient({ url: `https://127.0.0.1:${proxy.port}`, token, ca, tokenFrom: 'MLLAB_TOKEN' });
    const events: BackendEvent[] = [];
    const reconnects: string[] = [];
    const closed: string[] = [];
    const stream = new EventStream(
      client,
      (e) => events.push(e),
      (reason) => closed.push(reason),
      { reconnect: { delaysMs: [20] }, onReconnecting: (reason) => reconnects.push(reason) },
    );
    const total = 3000;
    try {
      await eventually(() => events.length === 1);
      let published = 0;
      let cuts = 0;
      while (published < total) {
        for (let i = 0; i < 50; i++) {
          backend.events.publish({ type: 'runsWaiting', count: ++published });
        }
        if (published % 600 === 0 && published < total) {
          // once the stream is back from the last cut, cut it again: the next ticks publish while it
          // is down (it waits 20 ms before reconnecting), and what the cut connection held is lost
          await eventually(() => events.filter((e) => e.type === 'hello').length === cuts + 1);
          assert.strictEqual(proxy.cut(), 1, 'one connection to cut');
          cuts++;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
      await eventually(() => counts(events).length >= total);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepStrictEqual(closed, []);
      assert.deepStrictEqual(
        counts(events),
        Array.from({ length: total }, (_, i) => i + 1),
      );
      const hellos = events.filter((e) => e.type === 'hello');
      assert.strictEqual(cuts, 4);
      assert.strictEqual(reconnects.length, cuts);
      assert.strictEqual(hellos.length, cuts + 1);
      assert.strictEqual((hellos[0] as { resume?: string }).resume, undefined, 'a new stream');
      assert.ok(
        hellos.slice(1).every((h) => (h as { resume?: string }).resume === 'replayed'),
        'each reconnect resumed',
      );
      assert.strictEqual(stream.lastEventId, backend.events.lastId);
    } finally {
      stream.dispose();
      client.dispose();
      proxy.close();
    }
  });

  it('sends a reset when the last id is older than the events kept, or of another backend process', async () => {
    const client = new ApiClient({ url: backend.url, token, ca, tokenFrom: 'MLLAB_TOKEN' });
    const follow = async (lastEventId: string | undefined, until: (events: BackendEvent[]) => boolean) => {
      const events: BackendEvent[] = [];
      const stream = new EventStream(
        client,
        (e) => events.push(e),
        () => undefined,
        lastEventId === undefined ? {} : { lastEventId },
      );
      await eventually(() => until(events));
      stream.dispose();
      // the backend may say other things meanwhile (Docker's state): only ours count
      const ours = events.filter((e) => e.type === 'hello' || e.type === 'runsWaiting');
      return { events: ours, lastEventId: stream.lastEventId };
    };
    try {
      const first = await follow(undefined, (e) => e.length >= 1);
      const start = first.lastEventId!;
      assert.match(start, /^[0-9a-f]{8}-\d+$/, 'a new stream starts at the newest id');
      backend.events.publish({ type: 'runsWaiting', count: -1 });
      const caughtUp = await follow(start, (e) => e.some((x) => x.type === 'runsWaiting'));
      assert.deepStrictEqual(
        caughtUp.events.map((e) => [e.type, (e as { resume?: string }).resume]),
        [
          ['hello', 'replayed'],
          ['runsWaiting', undefined],
        ],
      );
      // more than the ring keeps (10,000 events) goes by while away
      for (let i = 0; i < 10_001; i++) {
        backend.events.publish({ type: 'runsWaiting', count: i });
      }
      const reset = await follow(caughtUp.lastEventId, (e) => e.length >= 1);
      assert.strictEqual(reset.events[0].type, 'hello');
      assert.strictEqual((reset.events[0] as { resume?: string }).resume, 'reset');
      assert.notStrictEqual(reset.lastEventId, caughtUp.lastEventId, 'a reset gives the newest id to go on from');
      const restarted = await follow('00000000-5', (e) => e.length >= 1);
      assert.strictEqual((restarted.events[0] as { resume?: string }).resume, 'reset', 'an id of another process');
      const junk = await follow('x'.repeat(65), (e) => e.length >= 1);
      assert.strictEqual((junk.events[0] as { resume?: string }).resume, 'reset');
    } finally {
      client.dispose();
    }
  });

  it('stops reconnecting when the lab refuses the token, or after the attempts it was given', async () => {
    const closedWith = (client: ApiClient, attempts: number) =>
      new Promise<{ reason: string; retries: number }>((resolve) => {
        let retries = 0;
        const stream = new EventStream(
          client,
          () => undefined,
          (reason) => {
            stream.dispose();
            resolve({ reason, retries });
          },
          { reconnect: { delaysMs: [10], attempts }, onReconnecting: () => retries++ },
        );
      });
    const refused = new ApiClient({ url: backend.url, token: token + 'x', ca, tokenFrom: 'MLLAB_TOKEN' });
    const nowhere = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const gone = new ApiClient({ url: `https://127.0.0.1:${nowhere}`, token, ca, tokenFrom: 'MLLAB_TOKEN' });
    try {
      assert.deepStrictEqual(await closedWith(refused, 5), {
        reason: 'event stream refused with HTTP 401',
        retries: 0,
      });
      const lost = await closedWith(gone, 2);
      assert.strictEqual(lost.retries, 2);
      assert.match(lost.reason, /ECONNREFUSED/);
    } finally {
      refused.dispose();
      gone.dispose();
    }
  });

  it('disconnects a client that reads nothing while far too much is published', async () => {
    const socket = net.connect(backend.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\n\r\n`);
    await eventually(() => backend.events.size === 1);
    socket.pause();
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const line = 'x'.repeat(64 * 1024);
    // up to 48 MiB: more than the socket buffers plus the 16 MiB a stream may hold back
    for (let i = 0; i < 768 && backend.events.size > 0; i++) {
      backend.events.publish({ type: 'imageBuildOutput', tag: 'big', line });
      if (i % 16 === 15) {
        await new Promise((r) => setImmediate(r));
      }
    }
    await eventually(() => backend.events.size === 0);
    socket.resume();
    await closed;
  });

  it('keeps at most the configured events and characters for replay', () => {
    const bus = new EventBus({ maxEvents: 3, maxChars: 200 });
    const first = bus.lastId;
    for (let i = 1; i <= 5; i++) {
      bus.publish({ type: 'runsWaiting', count: i });
    }
    assert.strictEqual(bus.resume(first).kind, 'reset', 'events 1 and 2 are gone');
    const after2 = first.replace(/-0$/, '-2');
    const replay = bus.resume(after2);
    assert.ok(replay.kind === 'replay');
    assert.deepStrictEqual(
      replay.events.map((e) => e.event),
      [3, 4, 5].map((count) => ({ type: 'runsWaiting', count })),
    );
    assert.deepStrictEqual(bus.resume(bus.lastId), { kind: 'replay', events: [] });
    assert.strictEqual(bus.resume(first.replace(/-0$/, '-6')).kind, 'reset', 'an id from the future');
    bus.publish({ type: 'imageBuildOutput', tag: 't', line: 'x'.repeat(150) });
    const big = bus.resume(first.replace(/-0$/, '-4'));
    assert.strictEqual(big.kind, 'reset', 'the characters bound dropped events 3 to 5 but the newest');
    const newest = bus.resume(first.replace(/-0$/, '-5'));
    assert.ok(newest.kind === 'replay' && newest.events.length === 1);
    // metric points count by their number (they become JSON only when sent)
    const points = new EventBus({ maxEvents: 100, maxChars: 256 + 48 * 10 });
    const start = points.lastId;
    const event = (run: string): BackendEvent => ({
      type: 'metricPoints',
      runId: run,
      key: 'loss',
      steps: [...Array(10).keys()],
      times: Array.from({ length: 10 }, (_, i) => 1767225700000 + i),
      values: Array.from({ length: 10 }, (_, i) => 1 / (i + 1)),
    });
    points.publish(event('a'));
    points.publish(event('b'));
    assert.strictEqual(points.resume(start).kind, 'reset', 'two of 10 points are more than the bound');
    const kept = points.resume(start.replace(/-0$/, '-1'));
    assert.ok(kept.kind === 'replay');
    assert.deepStrictEqual(
      kept.events.map((e) => e.json),
      [JSON.stringify(event('b'))],
    );
  });
});

import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { MemoryLogger } from '../../src/backend/log';
import { listenOptions } from '../../src/backend/main';
import type { BackendEvent } from '../../src/protocol/api';
import type { CreatedToken, TokenInfo, User } from '../../src/protocol/users';
import { errorOf, raw, REPO, tempHome, TEST_TOKEN, type RawResponse } from './helpers';
import { followEvents, ServedLab } from './served-lab';
import { cli, stopBackendOf, waitForExit } from './process-helpers';
import { makeCertificate } from './certificate';

/** Every file under `dir`, read as text (to look for a secret that must not be there). */
function allText(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), 'latin1'))
    .join('\n');
}

describe('a lab served to a team over TLS: users, tokens, roles, audit', function () {
  this.timeout(60000);
  let lab: ServedLab;
  let home: string;
  const log = new MemoryLogger();
  const secrets: string[] = [];

  const request = (method: string, urlPath: string, token: string | null, body?: unknown): Promise<RawResponse> =>
    lab.request(method, urlPath, token, { body: body === undefined ? undefined : JSON.stringify(body) });

  async function tokenFor(user: string, extra: Record<string, unknown> = {}): Promise<CreatedToken> {
    const created = await lab.tokenFor(user, extra);
    secrets.push(created.token);
    return created;
  }

  before(async () => {
    lab = await ServedLab.start({ log });
    ({ home } = lab);
    assert.match(lab.backend.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });
  after(() => lab.stop());

  it('lets the owner manage users and tokens over HTTPS; a token is shown once, never listed', async () => {
    for (const [name, role] of [
      ['ann', 'viewer'],
      ['max', 'member'],
    ]) {
      const res = await request('POST', '/api/users', TEST_TOKEN, { name, role });
      assert.strictEqual(res.status, 201, res.text);
      assert.strictEqual((res.json() as User).role, role);
    }
    const taken = await request('POST', '/api/users', TEST_TOKEN, { name: 'ANN' });
    assert.strictEqual(taken.status, 409);
    const bad = await request('POST', '/api/users', TEST_TOKEN, { name: 'a/b', role: 'boss' });
    assert.strictEqual(bad.status, 400);
    const long = await request('POST', '/api/tokens', TEST_TOKEN, { user: 'ann', label: 'x'.repeat(201) });
    assert.strictEqual(long.status, 400);
    const users = (await request('GET', '/api/users', TEST_TOKEN)).json() as User[];
    assert.deepStrictEqual(
      users.map((u) => [u.name, u.role]),
      [
        ['ann', 'viewer'],
        ['max', 'member'],
      ],
    );
    const created = await tokenFor('ann', { label: 'laptop', expiresInSeconds: 3600 });
    assert.match(created.token, /^mllab_[0-9a-f]{16}_[0-9a-f]{64}$/);
    assert.ok(created.token.includes(created.id));
    assert.ok(Date.parse(created.expiresAt!) > Date.now());
    const listed = await request('GET', '/api/tokens', TEST_TOKEN);
    const tokens = listed.json() as TokenInfo[];
    const mine = tokens.find((t) => t.id === created.id);
    assert.deepStrictEqual(mine, {
      id: created.id,
      user: 'ann',
      label: 'laptop',
      createdAt: created.createdAt,
      expiresAt: created.expiresAt,
      revokedAt: null,
      scope: null,
    });
    assert.ok(!listed.text.includes(created.token.slice(24)), 'the secret is never listed');
    // the local port of the registration file answers the owner as before, and a user's token too
    const local = await raw(lab.backend.port, 'GET', '/api/users');
    assert.strictEqual(local.status, 200);
    assert.strictEqual((await raw(lab.backend.port, 'GET', '/api/projects', { token: created.token })).status, 200);
  });

  it("answers a viewer's reads and refuses its writes with 403 naming the role needed", async () => {
    const { token } = await tokenFor('ann');
    assert.strictEqual((await request('GET', '/api/projects', token)).status, 200);
    assert.strictEqual((await request('GET', '/api/status', token)).status, 200);
    const refused = await request('POST', '/api/projects', token, { name: 'Nope' });
    assert.strictEqual(refused.status, 403);
    assert.match(errorOf(refused).message, /needs the member role; you are a viewer \("ann"\)/);
    const projects = (await request('GET', '/api/projects', TEST_TOKEN)).json() as unknown[];
    assert.strictEqual(projects.length, 0, 'nothing was created');
  });

  it('lets a member change the lab but not manage users or tokens (403)', async () => {
    const { token } = await tokenFor('max');
    assert.strictEqual((await request('POST', '/api/projects', token, { name: 'Shared' })).status, 201);
    for (const [method, url, body] of [
      ['POST', '/api/users', { name: 'eve', role: 'admin' }],
      ['POST', '/api/tokens', { user: 'max' }],
      ['GET', '/api/tokens', undefined],
      ['DELETE', '/api/users/ann', undefined],
    ] as const) {
      const res = await request(method, url, token, body);
      assert.strictEqual(res.status, 403, `${method} ${url}`);
      assert.match(errorOf(res).message, /needs the admin role; you are a member \("max"\)/);
    }
    const users = (await request('GET', '/api/users', TEST_TOKEN)).json() as User[];
    assert.ok(!users.some((u) => u.name === 'eve'));
  });

  it("gives a token a scope: the most it may do, at most its user's role (a member's read-only token)", async () => {
    const readOnly = await tokenFor('max', { scope: 'viewer', label: 'dashboards' });
    assert.strictEqual(readOnly.scope, 'viewer');
    assert.strictEqual((await request('GET', '/api/projects', readOnly.token)).status, 200);
    const res = await request('POST', '/api/projects', readOnly.token, { name: 'Scoped' });
    assert.strictEqual(res.status, 403);
    assert.match(errorOf(res).message, /needs the member role; you are a viewer \("max"\)/);
    const who = (await request('GET', '/api/whoami', readOnly.token)).json() as { role: string };
    assert.strictEqual(who.role, 'viewer', 'whoami says what the token may do');
    // a scope above the user's role is refused, saying what is possible
    const above = await request('POST', '/api/tokens', TEST_TOKEN, { user: 'max', scope: 'admin' });
    assert.strictEqual(above.status, 400);
    assert.match(errorOf(above).message, /"max" is a member of the lab: their token's --scope can be at most member/);
    const listed = (await request('GET', '/api/tokens', TEST_TOKEN)).json() as TokenInfo[];
    assert.strictEqual(listed.find((t) => t.id === readOnly.id)?.scope, 'viewer');
    assert.ok(listed.filter((t) => t.id !== readOnly.id).every((t) => t.scope === null));
  });

  it('refuses unknown, expired, revoked tokens and those of a removed user with 401 saying what to do', async () => {
    const wrong = `mllab_${'0'.repeat(16)}_${'1'.repeat(64)}`;
    const unknown = await request('GET', '/api/projects', wrong);
    assert.strictEqual(unknown.status, 401);
    assert.match(errorOf(unknown).message, /not known to the lab.*mllab token create/);
    const known = await tokenFor('max');
    const forged = `mllab_${known.id}_${'2'.repeat(64)}`;
    assert.strictEqual((await request('GET', '/api/projects', forged)).status, 401, 'a right id, a wrong secret');

    const expiring = await tokenFor('max', { expiresInSeconds: 1 });
    assert.strictEqual((await request('GET', '/api/projects', expiring.token)).status, 200);
    await new Promise((r) => setTimeout(r, Date.parse(expiring.expiresAt!) - Date.now() + 50));
    const expired = await request('GET', '/api/projects', expiring.token);
    assert.strictEqual(expired.status, 401);
    assert.strictEqual(
      errorOf(expired).message,
      `Token ${expiring.id} expired at ${expiring.expiresAt}: ask an admin of the lab for a new one ("mllab token create").`,
    );

    const revoking = await tokenFor('max');
    const revoked = await request('POST', `/api/tokens/${revoking.id}/revoke`, TEST_TOKEN);
    assert.strictEqual(revoked.status, 200, revoked.text);
    const after = await request('GET', '/api/projects', revoking.token);
    assert.strictEqual(after.status, 401);
    assert.match(errorOf(after).message, new RegExp(`^Token ${revoking.id} was revoked at .*mllab token create`));

    // a second admin user: the last one cannot be removed (test/unit/lab-admin.test.ts)
    await request('POST', '/api/users', TEST_TOKEN, { name: 'keeper', role: 'admin' });
    await request('POST', '/api/users', TEST_TOKEN, { name: 'tmp', role: 'admin' });
    const leaving = await tokenFor('tmp');
    assert.strictEqual((await request('GET', '/api/users', leaving.token)).status, 200);
    assert.strictEqual((await request('DELETE', '/api/users/tmp', TEST_TOKEN)).status, 204);
    const gone = await request('GET', '/api/users', leaving.token);
    assert.strictEqual(gone.status, 401);
    const listed = (await request('GET', '/api/tokens', TEST_TOKEN)).json() as TokenInfo[];
    assert.ok(listed.find((t) => t.id === leaving.id)?.revokedAt, "a removed user's tokens are revoked");
  });

  it('ends the event stream of a token once it is revoked, without waiting for an event; reconnecting is refused', async () => {
    const revoking = await tokenFor('max');
    const followed = followEvents(lab.client(revoking.token));
    try {
      await followed.next((e): e is BackendEvent => e.type === 'hello', 'hello');
      assert.strictEqual((await request('POST', `/api/tokens/${revoking.id}/revoke`, TEST_TOKEN)).status, 200);
      // nothing is published after the revocation: the stream ends by itself
      await assert.rejects(
        followed.next((e): e is BackendEvent => e.type === 'shuttingDown', 'the end of the stream'),
        /the event stream closed \(the backend closed the event stream\)/,
      );
      const again = await request('GET', '/api/events', revoking.token);
      assert.strictEqual(again.status, 401);
      assert.match(errorOf(again).message, new RegExp(`^Token ${revoking.id} was revoked at `));
    } finally {
      followed.close();
    }
  });

  it('keeps an audit log of every change (who, method, path, status) and no secret anywhere', async () => {
    const file = path.join(home, 'logs', 'audit.jsonl');
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; who: string | null; method: string; path: string; status: number });
    assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(lines.every((l) => l.method !== 'GET' && !Number.isNaN(Date.parse(l.time))));
    const has = (who: string | null, method: string, url: string, status: number) =>
      assert.ok(
        lines.some((l) => l.who === who && l.method === method && l.path === url && l.status === status),
        `${who} ${method} ${url} ${status}`,
      );
    has('owner', 'POST', '/api/users', 201);
    has('ann', 'POST', '/api/projects', 403);
    has('max', 'POST', '/api/projects', 201);
    has('max', 'POST', '/api/users', 403);
    has('owner', 'DELETE', '/api/users/tmp', 204);
    assert.deepStrictEqual(Object.keys(lines[0]).sort(), ['from', 'method', 'path', 'status', 'time', 'who']);
    // a token's secret is in no file of the lab home (store, journal, logs) nor in the log
    await lab.backend.store.settled();
    const everything = allText(home) + log.lines.join('\n');
    assert.ok(secrets.length >= 5);
    for (const secret of secrets) {
      assert.ok(!everything.includes(secret.slice(24)), 'the secret is never stored or logged');
    }
  });

  it('keeps users and hashed tokens across a restart', async () => {
    const kept = await tokenFor('max');
    await lab.restart();
    assert.strictEqual((await request('POST', '/api/projects', kept.token, { name: 'After' })).status, 201);
  });
});

describe('mllab serve --listen and the TLS files', function () {
  this.timeout(60000);
  let root: string;
  let home: string;
  let cleanup: () => void;

  before(() => {
    ({ home, cleanup } = tempHome());
    root = path.dirname(home);
  });
  after(() => cleanup());

  it('refuses to serve off loopback without TLS, saying to give a certificate or use a reverse proxy', () => {
    const r = cli(['serve', '--listen', '0.0.0.0:0', '--home', home]);
    assert.strictEqual(r.status, 1, r.stderr);
    assert.match(r.stderr, /needs TLS/);
    assert.match(r.stderr, /--tls-cert FILE --tls-key FILE/);
    assert.match(r.stderr, /listen on 127\.0\.0\.1 behind a reverse proxy that terminates TLS/);
    assert.ok(!fs.existsSync(path.join(home, 'run', 'backend.json')), 'nothing was claimed');
  });

  it('names the TLS file that is missing, not PEM, or does not match', () => {
    const a = makeCertificate(root, 'a');
    const b = makeCertificate(root, 'b');
    const missing = path.join(root, 'missing.crt');
    assert.throws(
      () => listenOptions({ listen: '0.0.0.0:8443', tlsCert: missing, tlsKey: a.key }),
      (e: Error) => e.message.startsWith(`Cannot read the TLS certificate ${missing}:`),
    );
    assert.throws(
      () => listenOptions({ listen: '0.0.0.0:8443', tlsCert: a.key, tlsKey: a.key }),
      (e: Error) => e.message.startsWith(`The TLS certificate ${a.key} is not a PEM certificate`),
    );
    assert.throws(
      () => listenOptions({ listen: '0.0.0.0:8443', tlsCert: a.cert, tlsKey: a.cert }),
      (e: Error) => e.message.startsWith(`The TLS key ${a.cert} is not a PEM private key`),
    );
    assert.throws(
      () => listenOptions({ listen: '0.0.0.0:8443', tlsCert: a.cert, tlsKey: b.key }),
      (e: Error) => e.message.startsWith(`The TLS key ${b.key} does not match the certificate ${a.cert}`),
    );
    assert.throws(
      () => listenOptions({ listen: '0.0.0.0:8443', tlsCert: a.cert }),
      /both --tls-cert FILE and --tls-key FILE/,
    );
    assert.throws(() => listenOptions({ listen: 'nowhere' }), /--listen takes HOST:PORT/);
    assert.deepStrictEqual(listenOptions({ listen: '[::1]:8080' }), { host: '::1', port: 8080 });
    const r = cli(['serve', '--listen', '0.0.0.0:0', '--tls-cert', a.cert, '--tls-key', b.key, '--home', home]);
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /does not match the certificate/);
  });

  it('manages users and tokens with the CLI and serves them over TLS with "mllab serve --listen"', async () => {
    const { cert, key } = makeCertificate(root, 'serve');
    const add = cli(['user', 'add', 'ann', '--role', 'viewer', '--home', home, '--json']);
    assert.strictEqual(add.status, 0, add.stderr);
    assert.strictEqual(add.json<User>().role, 'viewer');
    assert.match(cli(['user', 'list', '--home', home]).stdout, /^ann\s+viewer\s/m);
    const badRole = cli(['user', 'add', 'bob', '--role', 'boss', '--home', home]);
    assert.match(badRole.stderr, /--role takes viewer, member, admin, not "boss"/);
    const created = cli(['token', 'create', '--user', 'ann', '--expires', '30d', '--label', 'laptop', '--home', home]);
    assert.strictEqual(created.status, 0, created.stderr);
    const token = /mllab_[0-9a-f]{16}_[0-9a-f]{64}/.exec(created.stdout)![0];
    assert.match(created.stdout, /shown only this once/);
    const list = cli(['token', 'list', '--home', home]);
    assert.match(list.stdout, /ann\s+user's role\s+laptop\s+\S+\s+valid until /);
    assert.ok(!list.stdout.includes(token.slice(24)));
    const other = cli(['token', 'create', '--user', 'ann', '--home', home, '--json']).json<CreatedToken>();
    assert.strictEqual(cli(['token', 'revoke', other.id, '--home', home]).status, 0);
    assert.match(cli(['token', 'list', '--home', home]).stdout, new RegExp(`${other.id}.*revoked `));
    assert.match(
      cli(['token', 'create', '--user', 'ann', '--expires', 'soon', '--home', home]).stderr,
      /--expires takes/,
    );
    await stopBackendOf(home);

    const child = spawn(
      process.execPath,
      [
        path.join(REPO, 'bin', 'mllab.js'),
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--tls-cert',
        cert,
        '--tls-key',
        key,
        '--home',
        home,
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let stdout = '';
      const started = await new Promise<{ url: string; teamUrl: string }>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          try {
            resolve(JSON.parse(stdout) as { url: string; teamUrl: string });
          } catch {
            // not whole yet
          }
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stdout}`)));
      });
      assert.match(started.teamUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
      const port = Number(new URL(started.teamUrl).port);
      const ca = fs.readFileSync(cert);
      assert.strictEqual((await raw(port, 'GET', '/api/projects', { token, ca })).status, 200);
      const write = await raw(port, 'POST', '/api/projects', { token, ca, body: '{"name":"x"}' });
      assert.strictEqual(write.status, 403);
      // the local clients still use the registration file's plain loopback port
      assert.strictEqual(cli(['user', 'list', '--home', home]).status, 0);
      assert.strictEqual(cli(['user', 'remove', 'ann', '--home', home]).status, 0);
      assert.strictEqual((await raw(port, 'GET', '/api/projects', { token, ca })).status, 401);
      const everything = allText(home);
      assert.ok(!everything.includes(token.slice(24)), 'the secret is in no file of the lab home');
    } finally {
      child.kill('SIGTERM');
      await waitForExit(child);
    }
  });
});

import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Backend } from '../../src/backend/app';
import { MemoryLogger } from '../../src/backend/log';
import { listenOptions } from '../../src/backend/main';
import { ApiClient, BackendError } from '../../src/client/api-client';
import { sendFile } from '../../src/client/blob-upload';
import { HashCache } from '../../src/client/hash-cache';
import type { DatasetVersion } from '../../src/protocol/datasets';
import type { CreatedToken } from '../../src/protocol/users';
import { makeCertificate } from './certificate';
import { raw, tempHome, TEST_TOKEN, type RawResponse } from './helpers';

/** The CLI as compiled next to this test (so it runs the sources under test, not a bundle). */
const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'entry.js');

const sha256Of = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const json = (body: unknown) => ({ body: JSON.stringify(body) });

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** `mllab serve` of a home over TLS on a given port, as a process of its own (to be killed with SIGKILL). */
async function serve(home: string, port: number, cert: string, key: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--home', home, '--listen', `127.0.0.1:${port}`, '--tls-cert', cert, '--tls-key', key, '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLLAB_HOME: '' } },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('\n}')) {
        resolve();
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.once('exit', (code) => reject(new Error(`the lab exited with ${code}: ${out}`)));
  });
  child.stdout!.resume();
  return child;
}

describe('a blob upload to a served lab killed with SIGKILL in the middle', function () {
  this.timeout(240000);
  let root: string;
  let cleanup: () => void;
  let lab: ChildProcess | undefined;
  after(() => {
    lab?.kill('SIGKILL');
    cleanup();
  });

  it('goes on from the bytes the lab kept once it is back, and stores the content checked', async () => {
    const { home, cleanup: done } = tempHome();
    cleanup = done;
    root = path.dirname(home);
    const { cert, key } = makeCertificate(root);
    const port = await freePort();
    lab = await serve(home, port, cert, key);
    const registration = JSON.parse(fs.readFileSync(path.join(home, 'run', 'backend.json'), 'utf8')) as {
      port: number;
      token: string;
    };
    const owner = new ApiClient(registration.port, registration.token);
    await owner.addUser('max', 'member');
    const { token } = await owner.createToken({ user: 'max' });
    const project = await owner.createProject('Resumed');
    await owner.setActiveProject(project.id);
    await owner.setMember(project.id, 'max', 'editor');
    owner.dispose();

    const data = randomBytes(96 * 1024 * 1024);
    const file = path.join(root, 'big.bin');
    fs.writeFileSync(file, data);
    const client = new ApiClient({ url: `https://127.0.0.1:${port}`, token, ca: fs.readFileSync(cert, 'utf8') });
    const uploads = path.join(home, 'tmp', 'uploads');
    const heldBytes = () =>
      fs.existsSync(uploads)
        ? fs.readdirSync(uploads).reduce((sum, f) => sum + fs.statSync(path.join(uploads, f)).size, 0)
        : 0;
    let killedAt = -1;
    let restarted: Promise<void> | undefined;
    const progress: number[] = [];
    const sending = sendFile(client, file, {
      cache: new HashCache(path.join(root, 'hash-cache')),
      onProgress: (bytes) => {
        progress.push(bytes);
        // the lab dies once it holds a part of the content, and comes back a moment later
        if (killedAt < 0 && heldBytes() >= 16 * 1024 * 1024) {
          killedAt = heldBytes();
          lab!.kill('SIGKILL');
          restarted = new Promise<void>((resolve) => lab!.once('exit', () => resolve())).then(async () => {
            lab = await serve(home, port, cert, key);
          });
        }
      },
    });
    const sent = await sending;
    await restarted;
    client.dispose();
    assert.ok(killedAt > 0, 'the lab was killed during the upload');
    assert.strictEqual(sent.sha256, sha256Of(data));
    assert.strictEqual(sent.deduplicated, false);
    const log = fs.readFileSync(path.join(home, 'logs', 'backend.log'), 'utf8');
    const resumedAt = Number(/the upload of \w+ goes on from byte (\d+)/.exec(log)?.[1]);
    assert.ok(resumedAt >= killedAt, `resumed from byte ${resumedAt}, the lab held ${killedAt} when killed`);
    assert.ok(sent.sent < data.length + killedAt, `${sent.sent} bytes sent: not everything again`);
    const blob = path.join(home, 'blobs', 'sha256', sent.sha256.slice(0, 2), sent.sha256.slice(2));
    assert.ok(fs.readFileSync(blob).equals(data), 'the stored blob is the file');
    assert.deepStrictEqual(fs.readdirSync(uploads), [], 'no partial upload is left');
    assert.strictEqual(progress.at(-1), data.length, 'the progress ends at the whole');
  });
});

describe('"already held?" tells nothing about the content of projects the caller cannot read', function () {
  this.timeout(120000);
  let home: string;
  let cleanup: () => void;
  let backend: Backend;
  let ca: Buffer;
  let caText: string;
  let port: number;
  let projectA: string;
  let projectB: string;
  const tokens: Record<string, string> = {};
  const secret = randomBytes(300_000);
  const secretSha = sha256Of(secret);

  const request = (
    method: string,
    urlPath: string,
    token: string | null,
    options: { body?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<RawResponse> => raw(port, method, urlPath, { token, ca, ...options });
  const bytes = (body: Buffer) => ({ body, headers: { 'content-type': 'application/octet-stream' } });
  const blobFile = (sha: string) => path.join(home, 'blobs', 'sha256', sha.slice(0, 2), sha.slice(2));

  before(async () => {
    ({ home, cleanup } = tempHome());
    const root = path.dirname(home);
    fs.mkdirSync(home, { recursive: true });
    const files = makeCertificate(root);
    ca = fs.readFileSync(files.cert);
    caText = ca.toString('utf8');
    backend = await Backend.start({
      home,
      token: TEST_TOKEN,
      version: '0.0.0-test',
      log: new MemoryLogger(),
      listen: listenOptions({ listen: '127.0.0.1:0', tlsCert: files.cert, tlsKey: files.key }),
    });
    port = Number(new URL(backend.url).port);
    const create = async (name: string) => {
      const res = await request('POST', '/api/projects', TEST_TOKEN, json({ name }));
      assert.strictEqual(res.status, 201, res.text);
      return (res.json() as { id: string }).id;
    };
    projectA = await create('Open');
    projectB = await create('Private');
    for (const [user, role, projectRole] of [
      ['vic', 'viewer', 'viewer'],
      ['mem', 'member', 'editor'],
    ]) {
      assert.strictEqual((await request('POST', '/api/users', TEST_TOKEN, json({ name: user, role }))).status, 201);
      const res = await request('POST', '/api/tokens', TEST_TOKEN, json({ user }));
      tokens[user] = (res.json() as CreatedToken).token;
      const member = await request(
        'PUT',
        `/api/projects/${projectA}/members/${user}`,
        TEST_TOKEN,
        json({ role: projectRole }),
      );
      assert.strictEqual(member.status, 200, member.text);
    }
    // the private project holds the secret content (sent by the owner)
    const put = await request(
      'PUT',
      `/api/blobs/${secretSha}?offset=0&size=${secret.length}`,
      TEST_TOKEN,
      bytes(secret),
    );
    assert.strictEqual(put.status, 200, put.text);
    const added = await request(
      'POST',
      '/api/datasets/uploaded',
      TEST_TOKEN,
      json({
        name: 'salaries',
        sha256: secretSha,
        size: secret.length,
        fileName: 's.csv',
        kind: 'file',
        project: projectB,
      }),
    );
    assert.strictEqual(added.status, 201, added.text);
  });
  after(async () => {
    await backend.stop('test done');
    cleanup();
  });

  it('answers a viewer and a member of another project as for content the lab never held', async () => {
    const never = sha256Of(randomBytes(10));
    for (const user of ['vic', 'mem']) {
      const held = await request('GET', `/api/blobs/${secretSha}`, tokens[user]);
      const absent = await request('GET', `/api/blobs/${never}`, tokens[user]);
      assert.strictEqual(held.status, 404, `${user}: ${held.text}`);
      assert.strictEqual(
        held.text.replace(secretSha, 'X').replace(secretSha, 'X'),
        absent.text.replace(never, 'X').replace(never, 'X'),
        'the same answer word for word',
      );
      assert.strictEqual((await request('HEAD', `/api/blobs/${secretSha}`, tokens[user])).status, 404);
      const state = await request('GET', `/api/blobs/${secretSha}/upload`, tokens[user]);
      assert.deepStrictEqual(state.json(), { sha256: secretSha, stored: false, received: 0 });
    }
    // the lab's admin sees it; a member of the private project would too
    assert.strictEqual((await request('GET', `/api/blobs/${secretSha}`, TEST_TOKEN)).status, 200);
  });

  it('does not let a member make a version of the content without sending it', async () => {
    const add = await request(
      'POST',
      '/api/datasets/uploaded',
      tokens.mem,
      json({
        name: 'stolen',
        sha256: secretSha,
        size: secret.length,
        fileName: 's.csv',
        kind: 'file',
        project: projectA,
      }),
    );
    assert.strictEqual(add.status, 409, add.text);
    assert.match(add.text, /does not hold content with sha256/);
    const listed = await request('GET', `/api/datasets?project=${projectA}`, tokens.mem);
    assert.deepStrictEqual(listed.json(), []);
  });

  it('takes the bytes from one who has them, stores the content once, and then answers "held" to them', async () => {
    const half = secret.length / 2;
    const first = await request(
      'PUT',
      `/api/blobs/${secretSha}?offset=0&size=${secret.length}`,
      tokens.mem,
      bytes(secret.subarray(0, half)),
    );
    assert.deepStrictEqual(first.json(), { sha256: secretSha, stored: false, received: half }, 'the bytes are read');
    const rest = await request(
      'PUT',
      `/api/blobs/${secretSha}?offset=${half}&size=${secret.length}`,
      tokens.mem,
      bytes(secret.subarray(half)),
    );
    assert.deepStrictEqual(rest.json(), { sha256: secretSha, stored: true, received: secret.length });
    assert.deepStrictEqual((await request('GET', `/api/blobs/${secretSha}`, tokens.mem)).json(), {
      sha256: secretSha,
      size: secret.length,
    });
    const add = await request(
      'POST',
      '/api/datasets/uploaded',
      tokens.mem,
      json({
        name: 'mine',
        sha256: secretSha,
        size: secret.length,
        fileName: 'm.csv',
        kind: 'file',
        project: projectA,
      }),
    );
    assert.strictEqual(add.status, 201, add.text);
    assert.strictEqual((add.json() as DatasetVersion).sha256, secretSha);
    assert.ok(fs.readFileSync(blobFile(secretSha)).equals(secret), 'one blob, the same content');
    // the viewer of the member's project may now learn it: the content is in a project it reads
    assert.strictEqual((await request('GET', `/api/blobs/${secretSha}`, tokens.vic)).status, 200);
  });

  it('refuses wrong content sent by id, and stores right content sent by id once', async () => {
    const content = randomBytes(200_000);
    const sha = sha256Of(content);
    const id = randomBytes(16).toString('hex');
    const put = await request(
      'PUT',
      `/api/blobs/uploads/${id}?offset=0&size=${content.length}`,
      tokens.mem,
      bytes(content),
    );
    assert.deepStrictEqual(put.json(), { id, received: content.length });
    // another user neither sees nor finishes it
    assert.deepStrictEqual((await request('GET', `/api/blobs/uploads/${id}`, tokens.vic)).json(), { id, received: 0 });
    const early = await request(
      'POST',
      `/api/blobs/uploads/${id}/finish`,
      tokens.mem,
      json({ sha256: sha, size: 300_000 }),
    );
    assert.strictEqual(early.status, 409);
    assert.match(early.text, /holds 200000 bytes of this upload, not 300000: send the rest from byte 200000/);
    const wrong = sha256Of(Buffer.from('other'));
    const refused = await request(
      'POST',
      `/api/blobs/uploads/${id}/finish`,
      tokens.mem,
      json({ sha256: wrong, size: content.length }),
    );
    assert.strictEqual(refused.status, 400);
    assert.match(refused.text, /hash_mismatch/);
    assert.match(refused.text, /nothing was stored/);
    assert.ok(!fs.existsSync(blobFile(wrong)) && !fs.existsSync(blobFile(sha)));
    assert.deepStrictEqual((await request('GET', `/api/blobs/uploads/${id}`, tokens.mem)).json(), { id, received: 0 });
    assert.deepStrictEqual(fs.readdirSync(path.join(home, 'tmp', 'uploads')), []);
    const bad = await request('PUT', `/api/blobs/uploads/XYZ?offset=0&size=1`, tokens.mem, bytes(Buffer.from('x')));
    assert.strictEqual(bad.status, 400);
    const byViewer = await request(
      'PUT',
      `/api/blobs/uploads/${id}?offset=0&size=1`,
      tokens.vic,
      bytes(Buffer.from('x')),
    );
    assert.strictEqual(byViewer.status, 403);

    // the Node client: the same file twice; the second time its hash is known and nothing is sent
    const file = path.join(path.dirname(home), 'new.bin');
    const big = randomBytes(20 * 1024 * 1024);
    fs.writeFileSync(file, big);
    const client = new ApiClient({ url: backend.url, token: tokens.mem, ca: caText });
    const cache = new HashCache(path.join(path.dirname(home), 'hash-cache'));
    try {
      const sent = await sendFile(client, file, { cache });
      assert.deepStrictEqual(
        { sha256: sent.sha256, deduplicated: sent.deduplicated, sent: sent.sent },
        { sha256: sha256Of(big), deduplicated: false, sent: big.length },
      );
      assert.strictEqual(cache.lookup(file), sha256Of(big));
      const again = await sendFile(client, file, { cache });
      assert.deepStrictEqual({ deduplicated: again.deduplicated, sent: again.sent }, { deduplicated: true, sent: 0 });
      // a file changed since is hashed again (sent: the lab does not hold the new content)
      fs.appendFileSync(file, 'more');
      assert.strictEqual(cache.lookup(file), undefined);
      const changed = await sendFile(client, file, { cache });
      assert.strictEqual(changed.sha256, sha256Of(Buffer.concat([big, Buffer.from('more')])));
      assert.strictEqual(changed.deduplicated, false);
      // a viewer cannot send
      const viewer = new ApiClient({ url: backend.url, token: tokens.vic, ca: caText });
      await assert.rejects(
        sendFile(viewer, file, { cache: new HashCache(path.join(path.dirname(home), 'other-cache')) }),
        (e: BackendError) => e.status === 403 && /member role/.test(e.message),
      );
      viewer.dispose();
    } finally {
      client.dispose();
    }
  });
});

import * as assert from 'assert';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { BackendError } from '../../src/client/api-client';
import { createHash } from 'crypto';
import { ApiClient } from '../../src/client/api-client';
import {
  datasetContentUrl,
  EditorRemoteClient,
  isRefusedToken,
  isUnreachable,
  retryNote,
  isUntrustedCertificate,
  labHostOf,
  labStatusText,
  labTooltip,
  notAvailableRemotely,
  parseStoredRemote,
  secretKeyOf,
} from '../../src/extension/backend/lab-link';
import { pointTerminalsAt } from '../../src/extension/backend/terminal-env';
import { TEST_TOKEN } from './helpers';
import { ServedLab } from './served-lab';

describe('the lab a window talks to, said for a person', () => {
  it('names a lab reached by URL by its host (and port, and path), a local one as local', () => {
    assert.strictEqual(labHostOf('https://lab.example.com'), 'lab.example.com');
    assert.strictEqual(labHostOf('https://lab.example.com:8443'), 'lab.example.com:8443');
    assert.strictEqual(labHostOf('https://example.com/mllab'), 'example.com/mllab');
    assert.strictEqual(
      labStatusText({ kind: 'remote', url: 'https://lab.example.com', user: 'alice', role: 'member' }),
      '$(cloud) ML Lab: lab.example.com (alice, member)',
    );
    assert.strictEqual(
      labStatusText({ kind: 'local', home: '/w/.mllab', pid: 12, port: 3000 }),
      '$(beaker) ML Lab: local',
    );
    assert.strictEqual(labStatusText(undefined), '$(beaker) ML Lab: local');
    assert.strictEqual(
      labStatusText(undefined, 'https://lab.example.com:8443'),
      '$(cloud) ML Lab: lab.example.com:8443',
    );
  });

  it('gives the full URL and the role in the tooltip', () => {
    const tip = labTooltip({ kind: 'remote', url: 'https://lab.example.com:8443', user: 'bob', role: 'viewer' }, '');
    assert.match(tip, /the lab at https:\/\/lab\.example\.com:8443\n/);
    assert.match(tip, /Signed in as bob, role viewer/);
    assert.match(
      labTooltip({ kind: 'local', home: '/w/.mllab', pid: 12, port: 3000 }, ''),
      /\/w\/\.mllab.*process 12, port 3000/s,
    );
    assert.match(
      labTooltip(undefined, 'Not connected: refused', 'https://lab.example.com'),
      /lab\.example\.com\nNot connected: refused/,
    );
  });

  it('reads back only a usable stored lab (a damaged workspace state is passed over)', () => {
    assert.deepStrictEqual(parseStoredRemote({ url: 'https://lab.example.com/' }), { url: 'https://lab.example.com' });
    assert.deepStrictEqual(parseStoredRemote({ url: 'https://lab.example.com', caFile: '/etc/ca.pem' }), {
      url: 'https://lab.example.com',
      caFile: '/etc/ca.pem',
    });
    for (const bad of [
      undefined,
      null,
      'https://x',
      42,
      {},
      { url: 7 },
      { url: 'ftp://lab' },
      { url: 'http://lab.example.com' },
    ]) {
      assert.strictEqual(parseStoredRemote(bad), undefined, JSON.stringify(bad));
    }
    assert.deepStrictEqual(parseStoredRemote({ url: 'https://lab.example.com', caFile: 'x'.repeat(5000) }), {
      url: 'https://lab.example.com',
    });
    assert.strictEqual(secretKeyOf('https://lab.example.com'), 'mllab.token:https://lab.example.com');
  });

  it('says clearly what a lab reached by URL does not offer yet', () => {
    const e = notAvailableRemotely('Adding a dataset from a local path', 'https://lab.example.com', 'add it there.');
    assert.ok(e instanceof BackendError);
    assert.strictEqual(e.code, 'not_available_remote');
    assert.strictEqual(
      e.message,
      'Adding a dataset from a local path is not available for a lab reached by URL (https://lab.example.com) yet: add it there.',
    );
    assert.ok(isUntrustedCertificate(new BackendError(0, 'tls_untrusted', 'x')));
    assert.ok(!isUntrustedCertificate(new Error('tls_untrusted')));
    assert.ok(isRefusedToken(new BackendError(401, 'unauthorized', 'x')));
    assert.ok(!isRefusedToken(new BackendError(403, 'forbidden', 'x')));
  });
});

describe('the terminals of a window', () => {
  /** the part of VS Code's environment variable collection that pointTerminalsAt uses */
  function collection() {
    const values = new Map<string, string>();
    return {
      values,
      description: '',
      replace: (name: string, value: string) => void values.set(name, value),
      delete: (name: string) => void values.delete(name),
    };
  }

  it('point at the lab the window talks to, never with its token, and back at the lab home', () => {
    const c = collection();
    c.values.set('MLLAB_HOME', '/w/.mllab');
    c.values.set('PYTHONPATH', '/ext/python:');
    const env = c as unknown as Parameters<typeof pointTerminalsAt>[0];
    pointTerminalsAt(env, '/w/.mllab', { url: 'https://lab.example.com', caFile: '/ca.pem' });
    assert.deepStrictEqual(Object.fromEntries(c.values), {
      PYTHONPATH: '/ext/python:',
      MLLAB_URL: 'https://lab.example.com',
      MLLAB_CA_FILE: '/ca.pem',
    });
    assert.match(c.description, /MLLAB_URL of the lab at https:\/\/lab\.example\.com/);
    pointTerminalsAt(env, '/w/.mllab', { url: 'https://other.example.com' });
    assert.deepStrictEqual(Object.fromEntries(c.values), {
      PYTHONPATH: '/ext/python:',
      MLLAB_URL: 'https://other.example.com',
    });
    pointTerminalsAt(env, '/w/.mllab', undefined);
    assert.deepStrictEqual(Object.fromEntries(c.values), { PYTHONPATH: '/ext/python:', MLLAB_HOME: '/w/.mllab' });
    assert.match(c.description, /MLLAB_HOME of this lab home/);
  });
});

describe("the editor's client of a lab reached by URL", () => {
  let server: http.Server;
  let url: string;
  const token = `mllab_${'a'.repeat(16)}_${'b'.repeat(64)}`;

  before(async () => {
    server = http.createServer((req, res) => {
      const status = req.url === '/api/projects' ? 401 : 403;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            code: status === 401 ? 'unauthorized' : 'forbidden',
            message:
              status === 401
                ? 'Token aaaa expired at 2026-01-01: ask an admin of the lab for a new one.'
                : 'This needs the member role; you are a viewer ("ann").',
          },
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('says to run "Connect to Lab..." with a new token when the lab refuses one, with what the lab says, never the token', async () => {
    const client = new EditorRemoteClient({ url, token, tokenFrom: 'login' });
    try {
      const refused = await client.listProjects().then(
        () => assert.fail('answered'),
        (e: unknown) => e as BackendError,
      );
      assert.strictEqual(refused.status, 401);
      assert.strictEqual(
        refused.message,
        `The lab at ${url} refused the token (expired or revoked?): run "ML Lab: Connect to Lab..." with a new one. The lab says: Token aaaa expired at 2026-01-01: ask an admin of the lab for a new one.`,
      );
      assert.ok(!refused.message.includes(token.slice(24)));
      const forbidden = await client.listDatasets().then(
        () => assert.fail('answered'),
        (e: unknown) => e as BackendError,
      );
      assert.strictEqual(forbidden.status, 403);
      assert.strictEqual(forbidden.message, 'This needs the member role; you are a viewer ("ann").');
    } finally {
      client.dispose();
    }
  });
});

describe('a lab reached by URL that is down, and what Copy Path gives there', function () {
  this.timeout(60000);

  it('tells a lab that does not answer (tried again) from one that refuses (not)', async () => {
    const lab = await ServedLab.start();
    const url = lab.url;
    const token = await lab.userToken('ann', 'viewer');
    const client = new ApiClient({ url, token, ca: lab.ca, tokenFrom: 'login' });
    try {
      const refused = await new ApiClient({ url, token: `mllab_${'0'.repeat(16)}_${'1'.repeat(64)}`, ca: lab.ca })
        .whoami()
        .catch((e: unknown) => e);
      assert.ok(isRefusedToken(refused) && !isUnreachable(refused), String(refused));
      await lab.backend.stop('lab down');
      const down = await client.whoami().catch((e: unknown) => e);
      assert.ok(isUnreachable(down), `a stopped lab is unreachable: ${String(down)}`);
      assert.ok(!isRefusedToken(down));
    } finally {
      client.dispose();
      await lab.stop();
    }
    // a proxy answering 502 for a lab that is down
    const proxy = http.createServer((_req, res) =>
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad Gateway</h1>'),
    );
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const behind = new ApiClient({ url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, token: 'x' });
      const e = await behind.status().catch((error: unknown) => error);
      behind.dispose();
      assert.ok(isUnreachable(e), String(e));
    } finally {
      proxy.close();
    }
    assert.strictEqual(
      retryNote({ attempt: 3, delayMs: 5000, reason: 'The lab at https://lab.example.com does not answer.' }),
      'Not connected: The lab at https://lab.example.com does not answer.\nTrying again by itself in 5 s (attempt 3 failed).',
    );
  });

  it("copies a dataset version's URL on the lab, which fetches its bytes with a token", async () => {
    const lab = await ServedLab.start();
    try {
      const bytes = Buffer.from('a,b\n1,2\n');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const project = (await lab.request('POST', '/api/projects', TEST_TOKEN, { body: { name: 'p q' } })).json() as {
        id: string;
      };
      const sent = await lab.request('PUT', `/api/blobs/${sha256}?offset=0&size=${bytes.length}`, TEST_TOKEN, {
        body: bytes,
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.ok(sent.status < 300, sent.text);
      const added = await lab.request('POST', '/api/datasets/uploaded', TEST_TOKEN, {
        body: {
          name: 'iris data',
          sha256,
          size: bytes.length,
          fileName: 'iris.csv',
          kind: 'file',
          project: project.id,
        },
      });
      assert.strictEqual(added.status, 201, added.text);
      const url = datasetContentUrl(`${lab.url}/`, { name: 'iris data', version: 1, projectId: project.id });
      assert.strictEqual(
        url,
        `${lab.url}/api/datasets/iris%20data/versions/1/content?project=${encodeURIComponent(project.id)}`,
      );
      const viewer = await lab.userToken('ann', 'viewer');
      await lab.request('PUT', `/api/projects/${project.id}/members/ann`, TEST_TOKEN, { body: { role: 'viewer' } });
      const fetched = await lab.request('GET', new URL(url).pathname + new URL(url).search, viewer);
      assert.strictEqual(fetched.status, 200, fetched.text);
      assert.strictEqual(fetched.text, bytes.toString());
    } finally {
      await lab.stop();
    }
  });
});

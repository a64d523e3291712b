import * as assert from 'assert';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import type * as http from 'http';
import * as https from 'https';
import * as path from 'path';
import { listenOptions } from '../../src/backend/main';
import { ApiClient } from '../../src/client/api-client';
import type { BackendEvent, Project } from '../../src/protocol/api';
import type { BlobUploadState } from '../../src/protocol/routes/blobs';
import { makeCertificate } from './certificate';
import { until } from './experiments-helpers';
import { raw, tempHome, TEST_TOKEN } from './helpers';
import { cliAsync } from './process-helpers';
import { CADDY, NGINX, proxyMissing, startProxy, type ProxySetup, type RunningProxy } from './reverse-proxies';
import { followEvents, ServedLab, type FollowedEvents } from './served-lab';

type AuditLine = { who: string | null; method: string; path: string; from: string };

/**
 * The audit log's lines once `ready` holds for them: the lab appends a request's line after its
 * answer was sent, so a client may read the log before the line is there.
 */
function auditOf(home: string, ready: (lines: AuditLine[]) => boolean): Promise<AuditLine[]> {
  const file = path.join(home, 'logs', 'audit.jsonl');
  return until('the audit lines', () => {
    const lines = fs.existsSync(file)
      ? fs
          .readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as AuditLine)
      : [];
    return ready(lines) ? lines : undefined;
  });
}

/** A PUT whose body is sent in two parts: the second only once `between` resolved. */
function putInTwoParts(
  port: number,
  ca: Buffer,
  url: string,
  token: string,
  body: Buffer,
  between: () => Promise<void>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: url,
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/octet-stream',
          'content-length': String(body.length),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    const half = Math.floor(body.length / 2);
    req.write(body.subarray(0, half));
    between().then(
      () => req.end(body.subarray(half)),
      (e: unknown) => {
        req.destroy();
        reject(e as Error);
      },
    );
  });
}

/** A GET answered with bytes (a dataset's content), kept as they came. */
function getBytes(
  port: number,
  ca: Buffer,
  url: string,
  token: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https
      .get(
        { host: '127.0.0.1', port, path: url, ca, headers: { authorization: `Bearer ${token}`, ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        },
      )
      .on('error', reject);
  });
}

for (const setup of [NGINX, CADDY] as ProxySetup[]) {
  describe(`a lab behind ${setup.name} (TLS ends at the proxy, the lab on 127.0.0.1 with --trust-proxy)`, function () {
    this.timeout(60000);
    let lab: ServedLab;
    let proxy: RunningProxy;
    let ca: Buffer;
    let editor: string;
    let project: Project;
    const streams: FollowedEvents[] = [];

    before(async function () {
      const missing = proxyMissing(setup);
      if (missing) {
        process.stderr.write(`${setup.name} tests skipped: ${missing}\n`);
        this.skip();
      }
      lab = await ServedLab.start({ plain: true, trustProxy: '127.0.0.1' });
      const tls = makeCertificate(lab.root, setup.name);
      ca = fs.readFileSync(tls.cert);
      proxy = await startProxy(setup, lab.port, { ...tls, ca });
      editor = await lab.userToken('max', 'member');
      project = (
        await lab.request('POST', '/api/projects', TEST_TOKEN, { body: { name: 'Behind' } })
      ).json() as Project;
      const member = await lab.request('PUT', `/api/projects/${project.id}/members/max`, TEST_TOKEN, {
        body: { role: 'editor' },
      });
      assert.strictEqual(member.status, 200, member.text);
    });
    after(async () => {
      streams.forEach((s) => s.close());
      await proxy?.stop();
      await lab?.stop();
    });

    const through = (method: string, url: string, token: string | null, body?: unknown) =>
      raw(proxy.port, method, url, { token, ca, body: body === undefined ? undefined : JSON.stringify(body) });

    it('answers a request with a token through the proxy, refuses one without, and audits the client address', async () => {
      const who = await through('GET', '/api/whoami', editor);
      assert.strictEqual(who.status, 200, who.text);
      assert.deepStrictEqual(who.json(), { name: 'max', role: 'member' });
      const none = await through('GET', '/api/projects', null);
      assert.strictEqual(none.status, 401);
      // a client cannot pass for another address through the proxy: it replaces X-Forwarded-For
      const forged = await raw(proxy.port, 'POST', '/api/projects', {
        token: editor,
        ca,
        body: JSON.stringify({ name: 'forged' }),
        headers: { 'x-forwarded-for': '203.0.113.7' },
      });
      assert.strictEqual(forged.status, 201, forged.text);
      // the lab believes X-Forwarded-For from the proxy's address (127.0.0.1 here, as any local client)
      const direct = await lab.request('POST', '/api/projects', editor, {
        body: { name: 'direct' },
        headers: { 'x-forwarded-for': '198.51.100.9' },
      });
      assert.strictEqual(direct.status, 201, direct.text);
      const mine = (lines: AuditLine[]) => lines.filter((l) => l.who === 'max' && l.path === '/api/projects');
      const posts = mine(await auditOf(lab.home, (lines) => mine(lines).length >= 2));
      assert.deepStrictEqual(
        posts.map((l) => l.from),
        ['127.0.0.1', '198.51.100.9'],
      );
    });

    it('delivers an event on the stream through the proxy as it happens (nothing buffered)', async () => {
      const client = new ApiClient({ url: proxy.url, token: TEST_TOKEN, ca, tokenFrom: 'MLLAB_TOKEN' });
      const followed = followEvents(client);
      streams.push(followed);
      await followed.next((e): e is Extract<BackendEvent, { type: 'hello' }> => e.type === 'hello', 'hello');
      // one small event: a proxy that buffered the stream would hold it until kilobytes more came
      // (heartbeats are a few bytes every 15 s) or the stream ended, and this wait would not end
      const created = (
        await lab.request('POST', '/api/projects', TEST_TOKEN, { body: { name: 'live' } })
      ).json() as Project;
      const event = await followed.next(
        (e): e is Extract<BackendEvent, { type: 'projectCreated' }> =>
          e.type === 'projectCreated' && e.project.id === created.id,
        'projectCreated through the proxy',
      );
      assert.strictEqual(event.project.name, 'live');
    });

    it('streams a dataset upload to the lab while it is sent, and answers a ranged download', async () => {
      const data = randomBytes(16 * 1024 * 1024);
      const sha256 = createHash('sha256').update(data).digest('hex');
      const url = `/api/blobs/${sha256}?offset=0&size=${data.length}`;
      // the second half goes only once the lab holds some of the first: a proxy that buffered the
      // request body would pass nothing on before the whole body came, and this would never end
      const sent = await putInTwoParts(proxy.port, ca, url, editor, data, async () => {
        for (;;) {
          const state = (await through('GET', `/api/blobs/${sha256}/upload`, editor)).json() as BlobUploadState;
          if (state.received > 0) {
            return;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      });
      assert.ok(sent.status < 300, sent.text);
      assert.strictEqual((JSON.parse(sent.text) as BlobUploadState).stored, true);
      const added = await through('POST', '/api/datasets/uploaded', editor, {
        name: 'behind',
        sha256,
        size: data.length,
        fileName: 'data.bin',
        kind: 'file',
        project: project.id,
      });
      assert.strictEqual(added.status, 201, added.text);
      const content = `/api/datasets/behind/versions/1/content?project=${project.id}`;
      const ranged = await getBytes(proxy.port, ca, content, editor, { range: 'bytes=1000-1999' });
      assert.strictEqual(ranged.status, 206, ranged.body.toString('utf8', 0, 300));
      assert.strictEqual(ranged.headers['content-range'], `bytes 1000-1999/${data.length}`);
      assert.ok(ranged.body.equals(data.subarray(1000, 2000)), 'the bytes of the range, byte for byte');
    });
  });
}

describe('mllab serve --trust-proxy: which X-Forwarded-For the lab believes', function () {
  this.timeout(60000);

  it('believes none without it: the audit log names the connection, whatever a client wrote', async () => {
    const lab = await ServedLab.start();
    try {
      const res = await lab.request('POST', '/api/projects', TEST_TOKEN, {
        body: { name: 'p' },
        headers: { 'x-forwarded-for': '198.51.100.9', 'x-forwarded-proto': 'http' },
      });
      assert.strictEqual(res.status, 201, res.text);
      assert.deepStrictEqual(
        (await auditOf(lab.home, (lines) => lines.length >= 1)).map((l) => [l.who, l.from]),
        [['owner', '127.0.0.1']],
      );
    } finally {
      await lab.stop();
    }
  });

  it('takes addresses, CIDR ranges and range names, and refuses anything else saying what to give', () => {
    assert.deepStrictEqual(
      listenOptions({ listen: '127.0.0.1:8080', trustProxy: '127.0.0.1, 10.0.0.0/24,::1,loopback' }),
      {
        host: '127.0.0.1',
        port: 8080,
        trustProxy: ['127.0.0.1', '10.0.0.0/24', '::1', 'loopback'],
      },
    );
    for (const [bad, message] of [
      [
        'proxy.example.com',
        /"proxy\.example\.com" is not an IP address, a CIDR range \(10\.0\.0\.0\/24\) or one of loopback, linklocal, uniquelocal/,
      ],
      ['10.0.0.0/33', /"10\.0\.0\.0\/33" is not an IP address/],
      ['10.0.0.1/8/1', /is not an IP address/],
      [' , ', /--trust-proxy takes the addresses of the reverse proxies/],
    ] as const) {
      assert.throws(() => listenOptions({ listen: '127.0.0.1:8080', trustProxy: bad }), message, bad);
    }
    assert.throws(() => listenOptions({ trustProxy: '127.0.0.1' }), /--trust-proxy goes with --listen HOST:PORT/);
  });

  it('is refused by mllab serve before anything is claimed when it names no address', async () => {
    const { home, cleanup } = tempHome();
    try {
      const r = await cliAsync(['serve', '--listen', '127.0.0.1:0', '--trust-proxy', 'nope', '--home', home]);
      assert.notStrictEqual(r.status, 0);
      assert.match(r.stderr, /--trust-proxy: "nope" is not an IP address/);
      assert.ok(!fs.existsSync(path.join(home, 'run', 'backend.json')), 'nothing was claimed');
    } finally {
      cleanup();
    }
  });
});

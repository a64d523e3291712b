import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { Backend } from '../../src/backend/app';
import { registeredRoutes, type RouteInfo } from '../../src/backend/http/server';
import { MemoryLogger } from '../../src/backend/log';
import { ApiClient } from '../../src/client/api-client';
import { tempHome, TEST_TOKEN } from './helpers';

/**
 * Every route of a real backend, with inputs generated from its own JSON schemas: valid values,
 * boundaries, wrong types, huge numbers, NUL bytes, long and unicode strings, nested junk, missing
 * and unknown fields, path parameters with ../ and %00. No input may produce a 5xx (except 503 for
 * the Docker Engine, which this backend is pointed away from so that nothing fuzzed ever runs), the
 * backend must still answer afterwards, and nothing may appear outside its lab home.
 */

type Schema = Record<string, unknown>;

/** mulberry32: a small seeded generator, so that a failure can be replayed */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = 18;
const REQUESTS_PER_ROUTE = 40;
const CONCURRENCY = 6;
/** routes that end the backend or never end; HEAD runs the GET handler and answers no body to check */
const skipped = (r: RouteInfo) =>
  r.method === 'HEAD' || ['POST /api/shutdown', 'GET /api/events'].includes(`${r.method} ${r.url}`);

const PATH_KEYS = /^(path|context|dockerfile|hostPath|containerPath|workspace|workingDir)$/;

/** Marks a number that JSON cannot say, written into the raw body afterwards (JSON.parse reads 1e999 as Infinity). */
const HUGE = '__huge_number__';

/** encodeURIComponent, with a lone surrogate sent as the bytes of one (invalid UTF-8), as a broken client would */
function enc(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text
      .split('')
      .map((c) => (/[\ud800-\udfff]/.test(c) ? '%ED%A0%BE' : encodeURIComponent(c)))
      .join('');
  }
}

class Generator {
  constructor(
    private readonly next: () => number,
    private readonly paths: readonly string[],
  ) {}

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** strings a client might send: names that exist, boundaries, paths, NUL, unicode, number-like text */
  string(schema: Schema = {}, key = ''): string {
    // a field named like a path gets paths most of the time, so that they reach the handlers
    if (PATH_KEYS.test(key) && this.chance(0.7)) {
      return this.pick(this.paths);
    }
    const max = typeof schema.maxLength === 'number' ? schema.maxLength : 100;
    const pool = [
      '',
      'a',
      'j',
      'Lab',
      'latest',
      'v1',
      '1',
      'champion',
      'busybox',
      'mllab-test/busybox:1',
      'true',
      'false',
      'all',
      'x'.repeat(Math.min(max, 5000)),
      'y'.repeat(Math.min(max + 1, 70000)),
      'a\u0000b',
      '\u0000',
      '../../etc/passwd',
      '..',
      '%00',
      '%2e%2e%2f',
      'nom ünïcødé 数据 🧪',
      '\ud83e',
      '-1',
      '0',
      '1e308',
      'NaN',
      'Infinity',
      'null',
      '8080:80',
      '0.0.0.0:1:2',
      '99999:80',
      'KEY=value',
      '=x',
      '512m',
      '1e999t',
      '*/5 * * * *',
      '61 25 * * *',
      'Europe/Paris',
      'Mars/Olympus',
      '/health',
      'a:b:c:d',
      ' leading space',
      'trailing.',
      'CON',
      '<script>alert(1)</script>',
      "'; DROP TABLE jobs; --",
      ...this.paths,
    ];
    if (Array.isArray(schema.enum) && this.chance(0.6)) {
      return String(this.pick(schema.enum as unknown[]));
    }
    return this.pick(pool);
  }

  number(schema: Schema = {}): number | string {
    const bounds = [schema.minimum, schema.maximum].filter((n): n is number => typeof n === 'number');
    const pool: (number | string)[] = [0, 1, -1, 0.5, 2, 64, 65, 1e308, -1e308, 2 ** 31, 2 ** 53 + 1, 5e-324, HUGE];
    for (const b of bounds) {
      pool.push(b, b - 1, b + 1, b - 0.5, b + 0.5);
    }
    return this.pick(pool);
  }

  junk(depth: number): unknown {
    const kind = this.pick(['string', 'number', 'bool', 'null', 'array', 'object', 'deep']);
    switch (kind) {
      case 'string':
        return this.string();
      case 'number':
        return this.number();
      case 'bool':
        return this.chance(0.5);
      case 'null':
        return null;
      case 'array':
        return depth > 3 ? [] : Array.from({ length: Math.floor(this.next() * 4) }, () => this.junk(depth + 1));
      case 'object':
        return depth > 3 ? {} : { a: this.junk(depth + 1), [this.string()]: this.junk(depth + 1) };
      default: {
        // nesting deeper than any schema looks
        let v: unknown = 1;
        for (let i = 0; i < 200; i++) {
          v = this.chance(0.5) ? [v] : { v };
        }
        return v;
      }
    }
  }

  /** A value for `schema`: mostly the right shape with edge values, sometimes anything at all. */
  value(schema: Schema | undefined, depth = 0, key = ''): unknown {
    if (!schema || this.chance(0.12) || depth > 4) {
      return this.junk(depth);
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      const branches = schema[key];
      if (Array.isArray(branches)) {
        return this.value(this.pick(branches as Schema[]), depth, key);
      }
    }
    const types = ([] as unknown[]).concat(schema.type ?? 'string') as string[];
    switch (this.pick(types)) {
      case 'object':
        return this.object(schema, depth);
      case 'array': {
        const max = typeof schema.maxItems === 'number' ? schema.maxItems : 5;
        const length = this.chance(0.05) ? max + 1 : Math.floor(this.next() * 4);
        return Array.from({ length: Math.min(length, 1100) }, () => this.value(schema.items as Schema, depth + 1));
      }
      case 'integer':
      case 'number':
        return this.number(schema);
      case 'boolean':
        return this.chance(0.5);
      case 'null':
        return null;
      default:
        return this.string(schema, key);
    }
  }

  object(schema: Schema, depth: number): Record<string, unknown> {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const required = new Set((schema.required ?? []) as string[]);
    const out: Record<string, unknown> = {};
    for (const [key, sub] of Object.entries(properties)) {
      if (required.has(key) ? this.chance(0.93) : this.chance(0.45)) {
        out[key] = this.value(sub, depth + 1, key);
      }
    }
    if (this.chance(0.05)) {
      out[this.pick(['extra', '__proto__', 'constructor', ''])] = this.junk(depth + 1);
    }
    if (typeof schema.additionalProperties === 'object' && this.chance(0.5)) {
      out[this.string()] = this.value(schema.additionalProperties as Schema, depth + 1);
    }
    return out;
  }

  /** a path segment: a value encoded as a client would, or raw text a client should not send */
  segment(schema: Schema | undefined): string {
    if (this.chance(0.2)) {
      return this.pick(['..', '%2e%2e', '..%2F..%2Fetc', '%00', 'a%00b', '%', '%zz', '%C0%AE', '%ff%fe', 'a%2Fb', '~']);
    }
    const v = this.value(schema);
    return enc(typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'));
  }

  query(schema: Schema | undefined): string {
    if (!schema || this.chance(0.1)) {
      return this.chance(0.5) ? '' : `?${this.pick(['project', 'follow', 'x'])}=${this.segment(undefined)}&project=a`;
    }
    const parts = Object.entries(this.object(schema, 1)).map(
      ([k, v]) => `${enc(k)}=${enc(typeof v === 'string' ? v : JSON.stringify(v))}`,
    );
    return parts.length > 0 ? `?${parts.join('&')}` : '';
  }

  body(schema: Schema | undefined): string | undefined {
    if (this.chance(0.06)) {
      return this.pick(['{', '[]', 'null', '"text"', '1e999', '{"a":1e999}', '{"__proto__":{"x":1}}', '', '\u0000']);
    }
    if (!schema && this.chance(0.6)) {
      return undefined;
    }
    return JSON.stringify(this.value(schema)).replace(new RegExp(`"${HUGE}"`, 'g'), '1e999');
  }
}

interface Outcome {
  readonly status: number;
  readonly text: string;
}

function send(agent: http.Agent, port: number, method: string, url: string, body?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method,
        path: url,
        headers: {
          authorization: `Bearer ${TEST_TOKEN}`,
          // explicit: Node sends a DELETE body without framing otherwise
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
            : {}),
        },
      },
      (res) => {
        let text = '';
        // a log stream that follows stays open: its status is what counts
        const timer = setTimeout(() => {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, text });
        }, 3000);
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text = text.length < 2000 ? text + c : text));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text });
        });
        res.on('error', () => undefined);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function listTree(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}

describe('fuzzing every route from its schema', function () {
  this.timeout(180000);
  let home: ReturnType<typeof tempHome>;
  let backend: Backend;
  let client: ApiClient;
  let root: string;
  let sandbox: string;
  const log = new MemoryLogger();

  before(async () => {
    home = tempHome();
    root = path.dirname(home.home);
    sandbox = path.join(root, 'sandbox');
    fs.mkdirSync(path.join(sandbox, 'folder'), { recursive: true });
    fs.writeFileSync(path.join(sandbox, 'data.csv'), 'a,b\n1,2\n');
    fs.writeFileSync(path.join(sandbox, 'folder', 'x.txt'), 'x');
    fs.writeFileSync(path.join(sandbox, 'model.pkl'), 'not really a model');
    // a Docker host that does not exist: no fuzzed job or service can ever run or mount anything
    backend = await Backend.start({
      home: home.home,
      token: TEST_TOKEN,
      version: '0.0.0-test',
      log,
      dockerHost: 'unix:///nonexistent/mllab-fuzz/docker.sock',
    });
    client = new ApiClient(backend.port, TEST_TOKEN);
  });

  after(async () => {
    await backend?.stop('test done');
    home?.cleanup();
  });

  /** the records that fuzzed lookups can hit: a project, a job, a dataset, a model */
  async function seed(): Promise<void> {
    const projects = await client.listProjects();
    const lab = projects.find((p) => p.name === 'Lab') ?? (await client.createProject('Lab'));
    await client.setActiveProject(lab.id);
    if (!(await client.listJobs()).some((j) => j.name === 'j')) {
      await client.createJob({ name: 'j', image: 'busybox', command: ['true'] });
    }
    if ((await client.listDatasets()).length === 0) {
      await client.addDataset({ path: path.join(sandbox, 'data.csv'), name: 'iris' });
    }
  }

  it('answers every generated request with a 2xx-4xx and an error body a person can read', async () => {
    await seed();
    const sandboxBefore = listTree(sandbox);
    const rootBefore = fs.readdirSync(root).sort();
    const routes = registeredRoutes(backend.http).filter((r) => !skipped(r));
    assert.ok(routes.length > 50, `the routes were enumerated (${routes.length})`);
    for (const r of routes.filter((r) => r.method !== 'GET')) {
      assert.ok(
        r.url.includes(':') || r.schema?.body || r.schema?.querystring || noInput(r),
        `${r.method} ${r.url} has no schema`,
      );
    }
    const gen = new Generator(random(SEED), [
      path.join(sandbox, 'data.csv'),
      path.join(sandbox, 'folder'),
      path.join(sandbox, 'model.pkl'),
      path.join(sandbox, 'missing'),
      path.join(sandbox, 'data.csv\u0000.txt'),
      `${sandbox}\u0000`,
      path.join(sandbox, 'folder', '..', 'folder'),
      `${sandbox}/../sandbox/data.csv`,
      'relative/path.csv',
    ]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    try {
      for (const route of routes) {
        const requests = Array.from({ length: REQUESTS_PER_ROUTE }, () => {
          const params = (route.schema?.params ?? {}) as Schema;
          const url =
            route.url.replace(/:(\w+)/g, (_, name: string) =>
              gen.segment(((params.properties ?? {}) as Record<string, Schema>)[name]),
            ) + gen.query(route.schema?.querystring as Schema | undefined);
          const body = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method)
            ? gen.body(route.schema?.body as Schema | undefined)
            : undefined;
          return { url, body };
        });
        for (let i = 0; i < requests.length; i += CONCURRENCY) {
          await Promise.all(
            requests.slice(i, i + CONCURRENCY).map(async ({ url, body }) => {
              const res = await send(agent, backend.port, route.method, url, body).catch((e: Error) => ({
                status: 0,
                text: `no answer: ${e.message}`,
              }));
              sent++;
              statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
              const problem = judge(res);
              if (problem && failures.length < 20) {
                failures.push(
                  `${route.method} ${url} ${JSON.stringify(body)?.slice(0, 300)} -> ${res.status} ${problem}: ${res.text.slice(0, 300)}`,
                );
              }
            }),
          );
        }
        // a fuzzed delete may have removed what the next route looks up
        await seed();
      }
    } finally {
      agent.destroy();
    }
    process.stdout.write(
      `      ${sent} requests over ${routes.length} routes, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`,
    );
    assert.deepStrictEqual(
      failures,
      [],
      `seed ${SEED}; log:\n${log.lines
        .filter((l) => l.startsWith('error'))
        .slice(0, 5)
        .join('\n')}`,
    );
    assert.ok((statuses.get(400) ?? 0) > sent / 4, 'most junk is refused as invalid');
    assert.ok(
      [...statuses.keys()].some((s) => s >= 200 && s < 300),
      'some generated requests were valid',
    );

    // still answering, nothing waits forever, nothing outside the lab home
    assert.strictEqual((await client.status()).version, '0.0.0-test');
    for (const job of await client.listJobs()) {
      const stuck = (await client.jobRuns(job.name)).filter((r) => r.state === 'queued');
      assert.deepStrictEqual(stuck, [], `runs of ${job.name} left queued`);
    }
    assert.deepStrictEqual(listTree(sandbox), sandboxBefore, 'the sandbox is unchanged');
    assert.deepStrictEqual(fs.readdirSync(root).sort(), rootBefore, 'nothing was created next to the lab home');
    assert.deepStrictEqual(
      log.lines.filter((l) => l.startsWith('error')),
      [],
      'no internal error was logged',
    );
  });
});

/** routes without input of their own (`POST /api/docker/retry`, `DELETE /api/containers/orphans`) */
function noInput(route: RouteInfo): boolean {
  return ['/api/docker/retry', '/api/containers/orphans'].includes(route.url);
}

/** Undefined when the answer is acceptable, else what is wrong with it. */
function judge(res: Outcome): string | undefined {
  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = (JSON.parse(res.text) as { error?: { code?: unknown; message?: unknown } }).error;
  } catch {
    error = undefined;
  }
  if (res.status === 503 && error?.code === 'docker_unavailable') {
    // the Docker host does not exist on purpose: a valid request that needs it is told so
    return undefined;
  }
  if (res.status >= 500 || res.status < 200) {
    return 'a server error';
  }
  if (res.status >= 400 && (typeof error?.code !== 'string' || typeof error.message !== 'string' || !error.message)) {
    return 'an error without {"error": {"code", "message"}}';
  }
  return undefined;
}

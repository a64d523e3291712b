import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { Backend } from '../../src/backend/app';
import { projectScopeOf } from '../../src/backend/http/project-scopes';
import type { Project } from '../../src/protocol/api';
import { blobRoutes } from '../../src/protocol/routes/blobs';
import { datasetRoutes } from '../../src/protocol/routes/datasets';
import { experimentRoutes } from '../../src/protocol/routes/experiments';
import { jobRoutes } from '../../src/protocol/routes/jobs';
import { memberRoutes } from '../../src/protocol/routes/members';
import { modelRoutes } from '../../src/protocol/routes/models';
import { projectRoutes } from '../../src/protocol/routes/projects';
import { urlOf, type Route } from '../../src/protocol/routes/route';
import { runUploadRoutes } from '../../src/protocol/routes/run-upload';
import { runtimeRoutes } from '../../src/protocol/routes/runtime';
import { schedulerRoutes } from '../../src/protocol/routes/scheduler';
import { serviceRoutes } from '../../src/protocol/routes/services';
import { statusRoutes } from '../../src/protocol/routes/status';
import { userRoutes } from '../../src/protocol/routes/users';
import type { CreatedToken, ProjectMember } from '../../src/protocol/users';
import { errorOf, raw, TEST_TOKEN, type RawResponse } from './helpers';
import { cliAsync } from './process-helpers';
import { ServedLab } from './served-lab';

/** Every route table of `src/protocol/routes` (as in route-tables.test.ts). */
const TABLES: Record<string, Record<string, Route>> = {
  status: statusRoutes,
  projects: projectRoutes,
  members: memberRoutes,
  datasets: datasetRoutes,
  scheduler: schedulerRoutes,
  runtime: runtimeRoutes,
  jobs: jobRoutes,
  services: serviceRoutes,
  models: modelRoutes,
  experiments: experimentRoutes,
  users: userRoutes,
  runUpload: runUploadRoutes,
  blobs: blobRoutes,
};
const ENTRIES = Object.entries(TABLES).flatMap(([feature, table]) =>
  Object.entries(table).map(([name, route]) => ({ name: `${feature}.${name}`, route })),
);

type Schema = Record<string, unknown>;
const CANDIDATES = ['x', '1', 'v1', 'latest', '0 * * * *', '0'.repeat(16), 'f'.repeat(64), '20260102-030405-abcdef'];

/** A value that the schema accepts: the requests of the loop reach the project check, not a 400. */
function valid(schema: Schema): unknown {
  if (Array.isArray(schema.enum)) {
    return schema.enum[0];
  }
  if (Array.isArray(schema.anyOf)) {
    return valid(schema.anyOf[0] as Schema);
  }
  // a list of types (["object", "null"]): a value of the first
  switch (Array.isArray(schema.type) ? schema.type[0] : schema.type) {
    case 'string': {
      const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
      const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
      const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
      const found = CANDIDATES.find((c) => (!pattern || pattern.test(c)) && c.length >= min && c.length <= max);
      assert.ok(found, `no candidate value fits ${JSON.stringify(schema)}`);
      return found;
    }
    case 'integer':
    case 'number':
      return typeof schema.minimum === 'number' ? schema.minimum : 1;
    case 'boolean':
      return false;
    case 'array':
      return Array.from({ length: Number(schema.minItems ?? 0) }, () => valid(schema.items as Schema));
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const required = (schema.required ?? []) as string[];
      if (required.length === 0 && Number(schema.minProperties ?? 0) > 0) {
        required.push(...Object.keys(properties).slice(0, Number(schema.minProperties)));
      }
      return Object.fromEntries(required.map((key) => [key, valid(properties[key])]));
    }
    default:
      return 'x';
  }
}

interface Stream {
  readonly events: { type: string; data: string }[];
  close(): void;
}

/** An event stream of the lab over TLS, as a window connected to it reads it. */
function openEvents(port: number, ca: Buffer, token: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const events: { type: string; data: string }[] = [];
    let buffer = '';
    const req = https.request(
      { host: '127.0.0.1', port, path: '/api/events', ca, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        assert.strictEqual(res.statusCode, 200);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const type = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (type && data) {
              events.push({ type, data });
            }
          }
        });
        resolve({ events, close: () => req.destroy() });
      },
    );
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    req.end();
  });
}

async function until<T>(probe: () => T | undefined | false, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = probe();
    if (value !== undefined && value !== false) {
      return value;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`never happened: ${what}`);
}

describe('per-project roles in a lab served to a team: owner, editor, viewer', function () {
  this.timeout(60000);
  let lab: ServedLab;
  let home: string;
  let backend: Backend;
  let ca: Buffer;
  let port: number;
  let csv: string;
  let caFile: string;
  const tokens: Record<string, string> = {};
  let A: Project;
  let B: Project;

  const request = (method: string, url: string, who: string, body?: unknown): Promise<RawResponse> =>
    raw(port, method, url, {
      token: who === 'owner' ? TEST_TOKEN : tokens[who],
      ca,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  /** A dataset version as a member adds one to a lab served to a team: the file sent, then the version. */
  const addDataset = async (who: string, project: string, name: string): Promise<RawResponse> => {
    const bytes = fs.readFileSync(csv);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const sent = await raw(port, 'PUT', `/api/blobs/${sha256}?offset=0&size=${bytes.length}`, {
      token: tokens[who],
      ca,
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.ok(sent.status < 300 || sent.status === 403, `${who} sends ${name}: ${sent.status} ${sent.text}`);
    return request('POST', '/api/datasets/uploaded', who, {
      name,
      sha256,
      size: bytes.length,
      fileName: 'iris.csv',
      kind: 'file',
      project,
    });
  };

  before(async () => {
    lab = await ServedLab.start();
    ({ home, backend, ca, caFile, port } = lab);
    csv = path.join(lab.root, 'iris.csv');
    fs.writeFileSync(csv, 'a,b\n1,2\n');
    for (const [name, role] of [
      ['alice', 'member'],
      ['bob', 'member'],
      ['carol', 'viewer'],
      ['erin', 'member'],
      ['ada', 'admin'],
    ]) {
      assert.strictEqual((await request('POST', '/api/users', 'owner', { name, role })).status, 201);
      const res = await request('POST', '/api/tokens', 'owner', { user: name });
      tokens[name] = (res.json() as CreatedToken).token;
    }
    const a = await request('POST', '/api/projects', 'alice', { name: 'alpha' });
    assert.strictEqual(a.status, 201, a.text);
    A = a.json() as Project;
    const b = await request('POST', '/api/projects', 'bob', { name: 'bobs-secret' });
    assert.strictEqual(b.status, 201, b.text);
    B = b.json() as Project;
  });
  after(() => lab?.stop());

  it('makes the member who creates a project its owner; others cannot read it, as if it did not exist', async () => {
    const members = (await request('GET', `/api/projects/${A.id}/members`, 'alice')).json() as ProjectMember[];
    assert.deepStrictEqual(
      members.map((m) => [m.user, m.role]),
      [['alice', 'owner']],
    );
    const listed = (await request('GET', '/api/projects', 'alice')).json() as Project[];
    assert.deepStrictEqual(
      listed.map((p) => p.name),
      ['alpha'],
      'alice lists her project only',
    );
    // the lab's active project, when it is B, is no one's business but B's readers'
    assert.strictEqual((await request('PUT', '/api/active-project', 'bob', { projectId: B.id })).status, 200);
    assert.deepStrictEqual((await request('GET', '/api/active-project', 'alice')).json(), { projectId: null });
    const activeOf = async (who: string) =>
      ((await request('GET', '/api/status', who)).json() as { activeProjectId: string | null }).activeProjectId;
    assert.deepStrictEqual([await activeOf('alice'), await activeOf('bob')], [null, B.id]);
    const hidden = await request('GET', '/api/projects/bobs-secret', 'alice');
    const missing = await request('GET', '/api/projects/no-such-project', 'alice');
    assert.strictEqual(hidden.status, 404);
    assert.strictEqual(
      errorOf(hidden).message,
      errorOf(missing).message.replace('no-such-project', 'bobs-secret'),
      'the same answer as for a project that does not exist',
    );
    for (const url of [
      `/api/datasets?project=${B.id}`,
      `/api/projects/${B.id}/members`,
      '/api/jobs?project=bobs-secret',
    ]) {
      const res = await request('GET', url, 'alice');
      assert.strictEqual(res.status, 404, `${url}: ${res.text}`);
    }
  });

  it('lets a project viewer read but not write (403 naming the role), an editor write, an owner manage', async () => {
    assert.strictEqual((await addDataset('bob', 'alpha', 'bobs-data')).status, 404, 'bob cannot even see alpha');
    let res = await request('PUT', `/api/projects/${A.id}/members/bob`, 'alice', { role: 'viewer' });
    assert.strictEqual(res.status, 200, res.text);
    assert.strictEqual((await request('GET', '/api/datasets?project=alpha', 'bob')).status, 200);
    res = await addDataset('bob', 'alpha', 'bobs-data');
    assert.strictEqual(res.status, 403);
    assert.match(errorOf(res).message, /^editor role in project 'alpha' needed; you are viewer/);
    res = await request('PUT', `/api/projects/${A.id}/members/bob`, 'alice', { role: 'editor' });
    assert.deepStrictEqual([res.status, (res.json() as ProjectMember).role], [200, 'editor']);
    res = await addDataset('bob', 'alpha', 'bobs-data');
    assert.strictEqual(res.status, 201, res.text);
    // an editor changes records, not the project or its members
    res = await request('PATCH', `/api/projects/${A.id}`, 'bob', { name: 'renamed' });
    assert.strictEqual(res.status, 403);
    assert.match(errorOf(res).message, /^owner role in project 'alpha' needed; you are editor/);
    res = await request('PUT', `/api/projects/${A.id}/members/erin`, 'bob', { role: 'viewer' });
    assert.strictEqual(res.status, 403);
    res = await request('PATCH', `/api/projects/${A.id}`, 'alice', { description: 'the first one' });
    assert.strictEqual(res.status, 200, res.text);
  });

  it('never makes a lab viewer more than a project viewer (400), and answers bad members with 400/404', async () => {
    let res = await request('PUT', `/api/projects/${A.id}/members/carol`, 'alice', { role: 'editor' });
    assert.strictEqual(res.status, 400);
    assert.match(errorOf(res).message, /"carol" is a viewer of the lab.*--role viewer/);
    res = await request('PUT', `/api/projects/${A.id}/members/carol`, 'alice', { role: 'viewer' });
    assert.strictEqual(res.status, 200, res.text);
    assert.strictEqual((await request('GET', `/api/projects/${A.id}`, 'carol')).status, 200);
    res = await request('PUT', `/api/projects/${A.id}/members/nobody`, 'alice', { role: 'viewer' });
    assert.strictEqual(res.status, 404);
    assert.match(errorOf(res).message, /No user "nobody"/);
    res = await request('PUT', `/api/projects/${A.id}/members/erin`, 'alice', { role: 'boss' });
    assert.strictEqual(res.status, 400);
    res = await request('DELETE', `/api/projects/${A.id}/members/erin`, 'alice');
    assert.strictEqual(res.status, 404);
    assert.match(errorOf(res).message, /"erin" is not a member of project 'alpha'/);
  });

  it('refuses to remove or demote the last owner (409: add another owner first)', async () => {
    let res = await request('DELETE', `/api/projects/${A.id}/members/alice`, 'alice');
    assert.strictEqual(res.status, 409);
    assert.match(errorOf(res).message, /last owner of project 'alpha': add another owner first/);
    res = await request('PUT', `/api/projects/${A.id}/members/alice`, 'alice', { role: 'editor' });
    assert.strictEqual(res.status, 409);
    res = await request('PUT', `/api/projects/${A.id}/members/bob`, 'alice', { role: 'owner' });
    assert.strictEqual(res.status, 200, res.text);
    res = await request('DELETE', `/api/projects/${A.id}/members/alice`, 'bob');
    assert.strictEqual(res.status, 204, res.text);
    assert.strictEqual((await request('GET', `/api/projects/${A.id}`, 'alice')).status, 404, 'alice left alpha');
    res = await request('PUT', `/api/projects/${A.id}/members/alice`, 'bob', { role: 'owner' });
    assert.strictEqual(res.status, 200, res.text);
    const members = (await request('GET', `/api/projects/${A.id}/members`, 'alice')).json() as ProjectMember[];
    assert.deepStrictEqual(
      members.map((m) => [m.user, m.role]),
      [
        ['alice', 'owner'],
        ['bob', 'owner'],
        ['carol', 'viewer'],
      ],
    );
  });

  it("keeps the lab's machine to its admins: paths, host folders and ports on all interfaces (403 saying what to do)", async () => {
    await request('PUT', `/api/projects/${A.id}/members/erin`, 'alice', { role: 'editor' });
    const cases: [string, string, unknown, RegExp][] = [
      [
        'POST',
        '/api/datasets',
        { path: csv, name: 'by-path', project: 'alpha' },
        /Adding a dataset from a path.*mllab dataset add NAME PATH/,
      ],
      ['POST', '/api/models', { name: 'm', path: csv, project: 'alpha' }, /Registering a model from a path/],
      [
        'POST',
        '/api/jobs?project=alpha',
        { name: 'j', image: 'busybox', workspace: '/' },
        /Mounting a folder of the lab's machine \(\/\) into a job/,
      ],
      [
        'POST',
        '/api/services?project=alpha',
        { name: 's', image: 'busybox', volumes: ['/etc:/data'] },
        /Mounting folders of the lab's machine \(\/etc\) into a service/,
      ],
      [
        'POST',
        '/api/services?project=alpha',
        { name: 's', image: 'busybox', ports: ['0.0.0.0:8080:80'] },
        /all interfaces/,
      ],
    ];
    for (const [method, url, body, message] of cases) {
      const res = await request(method, url, 'erin', body);
      assert.strictEqual(res.status, 403, `${url}: ${res.text}`);
      assert.strictEqual(errorOf(res).code, 'machine_access');
      assert.match(errorOf(res).message, message);
      assert.match(errorOf(res).message, /only an admin of the lab may do that|which only an admin of the lab may do/);
      // an admin of the lab, and the lab's owner, may: whatever answers, it is not this refusal (services
      // are not deployed here: they would start containers with those folders and ports)
      for (const who of url.startsWith('/api/services') ? [] : ['ada', 'owner']) {
        const allowed = await request(method, url, who, body);
        assert.notStrictEqual(
          allowed.status === 403 && errorOf(allowed).code,
          'machine_access',
          `${who}: ${allowed.text}`,
        );
      }
    }
    assert.strictEqual(
      (await request('GET', '/api/datasets/by-path/versions/latest?project=alpha', 'erin')).status,
      200,
    );
    // a model from a file its run sent stays a member's to register (a path inside the run)
    const inRun = await request('POST', '/api/models', 'erin', {
      name: 'm2',
      path: 'model.pkl',
      experimentId: '20260102-030405-abcdef',
      project: 'alpha',
    });
    assert.notStrictEqual(errorOf(inRun).code, 'machine_access', inRun.text);
  });

  it("never sends alice the events of bob's project while she is connected and it changes", async () => {
    const alice = await openEvents(port, ca, tokens.alice);
    const bob = await openEvents(port, ca, tokens.bob);
    try {
      await until(() => alice.events.length > 0 && bob.events.length > 0, 'hello on both streams');
      assert.strictEqual((await addDataset('bob', 'bobs-secret', 'secret-data')).status, 201);
      const renamed = await request('PATCH', `/api/projects/${B.id}`, 'bob', { description: 'hush' });
      assert.strictEqual(renamed.status, 200, renamed.text);
      // a change of alpha after those of B: once alice has it, she would have had B's before it
      assert.strictEqual((await addDataset('alice', 'alpha', 'marker')).status, 201);
      await until(() => alice.events.some((e) => e.data.includes('"marker"')), 'the marker reaches alice');
      await until(() => bob.events.some((e) => e.data.includes('"secret-data"')), "bob's own change reaches him");
      assert.ok(bob.events.some((e) => e.type === 'projectUpdated' && e.data.includes(B.id)));
      const leaked = alice.events.filter((e) => e.data.includes(B.id) || e.data.includes('secret'));
      assert.deepStrictEqual(leaked, [], 'no event of B reached alice');
      assert.ok(alice.events.some((e) => e.type === 'datasetVersionAdded' && e.data.includes(A.id)));
      // a project alice creates, or one she is made a member of, reaches her view at once
      const created = await request('POST', '/api/projects', 'alice', { name: 'gamma' });
      assert.strictEqual(created.status, 201, created.text);
      const gamma = created.json() as Project;
      await until(() => alice.events.some((e) => e.data.includes(gamma.id)), 'the project she created reaches alice');
      assert.strictEqual((await request('DELETE', `/api/projects/${gamma.id}`, 'alice')).status, 204);
      const added = await request('PUT', `/api/projects/${B.id}/members/alice`, 'bob', { role: 'viewer' });
      assert.strictEqual(added.status, 200, added.text);
      await until(
        () => alice.events.some((e) => e.type === 'projectUpdated' && e.data.includes(B.id)),
        'the project she was added to reaches alice',
      );
      assert.strictEqual((await request('DELETE', `/api/projects/${B.id}/members/alice`, 'bob')).status, 204);
      assert.strictEqual((await request('GET', `/api/projects/${B.id}`, 'alice')).status, 404, 'alice left B');
    } finally {
      alice.close();
      bob.close();
    }
  });

  it('keeps the local owner token able to do everything; admins see every project, members only theirs', async () => {
    const local = (method: string, url: string, body?: unknown) =>
      raw(backend.port, method, url, { body: body === undefined ? undefined : JSON.stringify(body) });
    const orphan = await local('POST', '/api/projects', { name: 'no-members' });
    assert.strictEqual(orphan.status, 201, orphan.text);
    const all = ((await local('GET', '/api/projects')).json() as Project[]).map((p) => p.name);
    assert.deepStrictEqual(all, ['alpha', 'bobs-secret', 'no-members']);
    assert.strictEqual((await local('GET', `/api/projects/${(orphan.json() as Project).id}/members`)).status, 200);
    assert.strictEqual(((await local('GET', `/api/projects/no-members/members`)).json() as unknown[]).length, 0);
    const added = await raw(backend.port, 'POST', '/api/datasets', {
      body: JSON.stringify({ path: csv, name: 'owners-data', project: 'bobs-secret' }),
    });
    assert.strictEqual(added.status, 201, added.text);
    assert.strictEqual((await local('PUT', `/api/projects/${B.id}/members/erin`, { role: 'viewer' })).status, 200);
    const admin = ((await request('GET', '/api/projects', 'ada')).json() as Project[]).map((p) => p.name);
    assert.deepStrictEqual(admin, ['alpha', 'bobs-secret', 'no-members'], 'an admin acts as owner of every project');
    const alice = ((await request('GET', '/api/projects', 'alice')).json() as Project[]).map((p) => p.name);
    assert.deepStrictEqual(alice, ['alpha'], 'a project without members is seen by admins only');
    assert.strictEqual((await request('GET', '/api/projects/no-members', 'erin')).status, 404);
    assert.strictEqual((await request('PATCH', `/api/projects/${B.id}`, 'ada', { description: 'seen' })).status, 200);
  });

  it('lists, adds, changes and removes members with the CLI, as the owner of a project on a remote lab', async () => {
    const env = { MLLAB_URL: backend.url, MLLAB_TOKEN: tokens.alice, MLLAB_CA_FILE: caFile, MLLAB_HOME: '' };
    let r = await cliAsync(['project', 'member', 'add', 'alpha', 'erin', '--role', 'viewer'], { env });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /"erin" is now viewer of project "alpha"/);
    r = await cliAsync(['project', 'members', 'alpha'], { env });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^alice\s+owner\s/m);
    assert.match(r.stdout, /^erin\s+viewer\s/m);
    r = await cliAsync(['project', 'member', 'add', 'alpha', 'carol', '--role', 'editor'], { env });
    assert.notStrictEqual(r.status, 0);
    assert.match(r.stderr, /"carol" is a viewer of the lab/);
    r = await cliAsync(['project', 'member', 'add', 'alpha', 'erin'], { env });
    assert.notStrictEqual(r.status, 0);
    assert.match(r.stderr, /needs --role owner\|editor\|viewer/);
    r = await cliAsync(['project', 'member', 'remove', 'alpha', 'erin', '--json'], { env });
    assert.strictEqual(r.status, 0, r.stderr);
    r = await cliAsync(['project', 'members', 'alpha', '--json'], { env });
    assert.deepStrictEqual(
      r.json<ProjectMember[]>().map((m) => m.user),
      ['alice', 'bob', 'carol'],
    );
    r = await cliAsync(['project', 'members', 'bobs-secret'], { env });
    assert.notStrictEqual(r.status, 0);
    assert.match(r.stderr, /No project is called or has the id "bobs-secret"/);
  });

  it('declares a project rule for every entry of every route table', () => {
    const missing = ENTRIES.filter(({ route }) => !projectScopeOf(route)).map(({ name }) => name);
    assert.deepStrictEqual(missing, [], 'each route says which project it concerns (http/project-scopes.ts)');
  });

  it("answers every route about B's records 404 to a user who cannot read B, and 403 to B's viewer for a change", async () => {
    // records of B that the routes name by id: a run (sent over the network, then ingested), a job run
    const runId = '20260102-030405-b0b0b0';
    const manifest = {
      format: 1,
      id: runId,
      name: 'secret run',
      project: B.id,
      status: 'completed',
      startedAt: '2026-01-02T03:04:05.000Z',
      endedAt: '2026-01-02T03:05:05.000Z',
      exitCode: 0,
      pid: 4194303,
      operator: 'bob',
      command: ['python', 'train.py'],
      cwd: '/work',
      script: null,
      host: { hostname: 'node', os: 'linux', cpus: 2, memoryBytes: 1 },
      runtime: { python: '3.11.2' },
      packages: null,
      git: null,
      params: {},
      tags: {},
    };
    const sent = await raw(port, 'PUT', `/api/runs/${runId}/manifest`, {
      token: tokens.bob,
      ca,
      body: JSON.stringify(manifest),
    });
    assert.strictEqual(sent.status, 200, sent.text);
    for (;;) {
      if ((await request('GET', `/api/experiments/${runId}`, 'bob')).status === 200) {
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const jobRunId = 'b0b0b0b0-job-run';
    await backend.store.write((tx) =>
      tx.run(
        `INSERT INTO job_runs (id, job_id, project_id, trigger, state, created_at, run_dir)
         VALUES (?, 'no-job', ?, 'manual', 'failed', '2026-01-02T03:04:05.000Z', '/nowhere')`,
        [jobRunId, B.id],
      ),
    );
    let checked = 0;
    for (const { name, route } of ENTRIES) {
      const scope = projectScopeOf(route);
      if (scope?.about !== 'project') {
        continue;
      }
      const from = scope.from;
      const paramsSchema = (route.schema.params?.properties ?? {}) as Record<string, Schema>;
      const params: Record<string, string> = {};
      for (const [key, schema] of Object.entries(paramsSchema)) {
        params[key] = String(valid(schema));
      }
      if (from.kind === 'param') {
        params[from.name] = B.id;
      } else if (from.kind === 'experiment' || from.kind === 'run') {
        params[from.param] = runId;
      } else if (from.kind === 'jobRun') {
        params[from.param] = jobRunId;
      }
      const query = valid((route.schema.querystring ?? { type: 'object' }) as Schema) as Record<string, unknown>;
      if (from.kind === 'query') {
        query.project = B.id;
      }
      let body: unknown = route.schema.body ? valid(route.schema.body as Schema) : undefined;
      if (from.kind === 'body' || from.kind === 'modelSource') {
        body = { ...(body as object), [from.kind === 'body' ? from.field : 'project']: B.id };
      }
      const url = urlOf(route.path, params, query).replace('*', 'a.txt');
      const streamed = name.startsWith('runUpload.');
      const send = (who: string) =>
        raw(port, route.method, url, {
          token: tokens[who],
          ca,
          ...(streamed && route.method !== 'GET'
            ? { body: '{}', headers: { 'content-type': 'application/octet-stream' } }
            : body === undefined
              ? {}
              : { body: JSON.stringify(body) }),
        });
      const stranger = await send('alice');
      assert.strictEqual(stranger.status, 404, `${name} ${route.method} ${url} for alice: ${stranger.text}`);
      if (route.method === 'GET') {
        const head = await raw(port, 'HEAD', url, { token: tokens.alice, ca });
        assert.strictEqual(head.status, 404, `${name} HEAD ${url} for alice`);
      }
      assert.ok(!stranger.text.includes('bobs-secret'), `${name}: the answer does not name B`);
      // a cancel of an add nobody started is a 404 to everyone but admins: no viewer's 403 to see there
      if (scope.need !== 'read' && from.kind !== 'operation') {
        const viewer = await send('erin');
        assert.strictEqual(viewer.status, 403, `${name} ${route.method} ${url} for erin: ${viewer.text}`);
        const needed = scope.need === 'write' ? 'editor' : 'owner';
        assert.match(
          errorOf(viewer).message,
          new RegExp(`^${needed} role in project 'bobs-secret' needed; you are viewer`),
        );
      }
      checked++;
    }
    assert.ok(checked >= 60, `every project route was tried (${checked})`);
    // a model of alpha registered from B's run: that run does not exist for alice
    const cross = await request('POST', '/api/models', 'alice', {
      name: 'stolen',
      path: 'model.pkl',
      project: 'alpha',
      experimentId: runId,
    });
    assert.strictEqual(cross.status, 404, cross.text);
    assert.match(errorOf(cross).message, new RegExp(`^No experiment with id "${runId}" exists`));
    // a run sent by alice goes to a project she can write: not to B, nor to one that does not exist yet
    const newRun = '20260102-030405-a0a0a0';
    const put = (project: string) =>
      raw(port, 'PUT', `/api/runs/${newRun}/manifest`, {
        token: tokens.alice,
        ca,
        body: JSON.stringify({ ...manifest, id: newRun, project }),
      });
    const toB = await put(B.id);
    const toNowhere = await put('later');
    assert.deepStrictEqual([toB.status, toNowhere.status], [404, 404]);
    assert.strictEqual(errorOf(toB).message, errorOf(toNowhere).message.replace('later', B.id));
    assert.ok(!fs.existsSync(path.join(home, 'runs', newRun, 'run.json')), 'nothing stored');
    assert.strictEqual((await put('alpha')).status, 200);
    assert.strictEqual((await request('GET', `/api/experiments/${runId}`, 'erin')).status, 200, "B's viewer reads");
  });
});

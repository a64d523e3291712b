import * as assert from 'assert';
import type { Backend } from '../../src/backend/app';
import { BODY_LIMIT_BYTES } from '../../src/backend/http/server';
import { ApiClient, BackendError } from '../../src/client/api-client';
import { EventStream } from '../../src/client/event-stream';
import type { BackendEvent, BackendStatus, Project } from '../../src/protocol/api';
import { errorOf, raw, startBackend, tempHome, TEST_TOKEN } from './helpers';

describe('backend REST API over real HTTP on 127.0.0.1', () => {
  let backend: Backend;
  let client: ApiClient;
  let cleanup: () => void;

  beforeEach(async () => {
    const t = tempHome();
    cleanup = t.cleanup;
    backend = await startBackend(t.home);
    client = new ApiClient(backend.port, TEST_TOKEN);
  });
  afterEach(async () => {
    client.dispose();
    await backend.stop('test done');
    cleanup();
  });

  it('listens on 127.0.0.1 only', () => {
    const address = backend.http.server.address();
    assert.ok(address && typeof address === 'object');
    assert.strictEqual(address.address, '127.0.0.1');
  });

  it('creates, lists, renames, activates and deletes projects', async () => {
    const a = await client.createProject('Churn', 'predict who leaves');
    const b = await client.createProject('Fraud');
    assert.deepStrictEqual(
      (await client.listProjects()).map((p) => p.name),
      ['Churn', 'Fraud'],
    );
    assert.strictEqual(a.description, 'predict who leaves');
    const renamed = await client.updateProject(a.id, { name: 'Churn v2' });
    assert.strictEqual(renamed.name, 'Churn v2');
    assert.strictEqual((await client.getProject('churn V2')).id, a.id, 'resolves names case-insensitively');
    await client.setActiveProject(b.id);
    assert.strictEqual((await client.activeProject()).projectId, b.id);
    assert.strictEqual((await client.status()).activeProjectId, b.id);
    const contents = await client.projectContents(b.id);
    assert.strictEqual(contents.project.id, b.id);
    await client.deleteProject(b.id);
    assert.strictEqual((await client.activeProject()).projectId, null, 'deleting the active project clears it');
    assert.deepStrictEqual(
      (await client.listProjects()).map((p) => p.id),
      [a.id],
    );
  });

  it('makes the first project the active one, whoever creates it, and only the first', async () => {
    assert.strictEqual((await client.activeProject()).projectId, null);
    const first = await client.createProject('First');
    assert.strictEqual((await client.activeProject()).projectId, first.id);
    await client.createProject('Second');
    assert.strictEqual((await client.activeProject()).projectId, first.id, 'a later project does not take over');
    await client.setActiveProject(null);
    const third = await client.createProject('Third');
    assert.strictEqual((await client.activeProject()).projectId, third.id, 'none active: the new one becomes active');
  });

  it('answers bad input with 4xx and a message a person can act on', async () => {
    const port = backend.port;
    await client.createProject('Taken');
    const cases: Array<{ what: string; send: () => ReturnType<typeof raw>; status: number; message: RegExp }> = [
      {
        what: 'no token',
        send: () => raw(port, 'GET', '/api/projects', { token: null }),
        status: 401,
        message: /Missing "Authorization: Bearer/,
      },
      {
        what: 'wrong token',
        send: () => raw(port, 'GET', '/api/projects', { token: 'b'.repeat(64) }),
        status: 401,
        message: /token is wrong/,
      },
      {
        what: 'empty name',
        send: () => raw(port, 'POST', '/api/projects', { body: '{"name":""}' }),
        status: 400,
        message: /name is empty/,
      },
      {
        what: 'long name',
        send: () => raw(port, 'POST', '/api/projects', { body: JSON.stringify({ name: 'x'.repeat(65) }) }),
        status: 400,
        message: /at most 64/,
      },
      {
        what: 'path name',
        send: () => raw(port, 'POST', '/api/projects', { body: '{"name":"../etc/passwd"}' }),
        status: 400,
        message: /looks like a path/,
      },
      {
        what: 'duplicate',
        send: () => raw(port, 'POST', '/api/projects', { body: '{"name":"taken"}' }),
        status: 409,
        message: /"Taken" already exists/,
      },
      {
        what: 'missing name',
        send: () => raw(port, 'POST', '/api/projects', { body: '{}' }),
        status: 400,
        message: /lacks the required field "name"/,
      },
      {
        what: 'wrong type',
        send: () => raw(port, 'POST', '/api/projects', { body: '{"name":5}' }),
        status: 400,
        message: /name must be a string/,
      },
      {
        what: 'unknown field',
        send: () => raw(port, 'POST', '/api/projects', { body: '{"name":"a","colour":"red"}' }),
        status: 400,
        message: /unknown field "colour"/,
      },
      {
        what: 'malformed JSON',
        send: () => raw(port, 'POST', '/api/projects', { body: '{"name":' }),
        status: 400,
        message: /not valid JSON/,
      },
      {
        what: 'empty JSON body',
        send: () => raw(port, 'POST', '/api/projects', { body: '' }),
        status: 400,
        message: /not valid JSON/,
      },
      {
        what: 'oversized body',
        send: () =>
          raw(port, 'POST', '/api/projects', {
            body: JSON.stringify({ name: 'a', description: 'x'.repeat(BODY_LIMIT_BYTES) }),
          }),
        status: 413,
        message: /larger than 64 KiB/,
      },
      {
        what: 'not JSON',
        send: () => raw(port, 'POST', '/api/projects', { body: 'name=a', headers: { 'content-type': 'text/plain' } }),
        status: 415,
        message: /Content-Type: application\/json/,
      },
      {
        what: 'unknown id',
        send: () => raw(port, 'PATCH', '/api/projects/nope', { body: '{"name":"b"}' }),
        status: 404,
        message: /No project is called or has the id "nope"/,
      },
      {
        what: 'empty update',
        send: () => raw(port, 'PATCH', '/api/projects/taken', { body: '{}' }),
        status: 400,
        message: /Invalid request/,
      },
      {
        what: 'delete unknown',
        send: () => raw(port, 'DELETE', '/api/projects/nope'),
        status: 404,
        message: /list them with "mllab project list"/,
      },
      {
        what: 'activate unknown',
        send: () => raw(port, 'PUT', '/api/active-project', { body: '{"projectId":"nope"}' }),
        status: 404,
        message: /nope/,
      },
      {
        what: 'unknown route',
        send: () => raw(port, 'GET', '/api/nothing'),
        status: 404,
        message: /No route GET \/api\/nothing/,
      },
    ];
    for (const c of cases) {
      const res = await c.send();
      assert.strictEqual(res.status, c.status, `${c.what}: ${res.text}`);
      assert.match(errorOf(res).message, c.message, c.what);
    }
    assert.deepStrictEqual(
      (await client.listProjects()).map((p) => p.name),
      ['Taken'],
      'no bad request changed anything',
    );
  });

  it('answers its status, and a shutdown at once with 202 before it stops', async () => {
    const status = await raw(backend.port, 'GET', '/api/status');
    assert.strictEqual(status.status, 200);
    assert.deepStrictEqual(status.json(), { ...backend.status(), uptimeMs: (status.json() as BackendStatus).uptimeMs });
    const shutdown = await raw(backend.port, 'POST', '/api/shutdown');
    assert.strictEqual(shutdown.status, 202);
    assert.deepStrictEqual(shutdown.json(), { stopping: true });
    assert.strictEqual(await backend.stopped, 'requested over the API');
  });

  it('turns error answers into BackendError with the message', async () => {
    await assert.rejects(
      client.createProject('a/b'),
      (e: BackendError) => e.status === 400 && /looks like a path/.test(e.message),
    );
  });

  it('pushes events to every subscriber of the event stream', async () => {
    const received: BackendEvent[][] = [[], []];
    const closed: string[] = [];
    const streams = received.map(
      (list) =>
        new EventStream(
          client,
          (e) => list.push(e),
          (reason) => closed.push(reason),
        ),
    );
    await waitFor(() => received.every((l) => l.length >= 1));
    assert.strictEqual(received[0][0].type, 'hello');
    assert.strictEqual((await client.status()).clients, 2);
    const p: Project = await client.createProject('Live'); // the first project: it becomes active
    await client.updateProject(p.id, { description: 'changed' });
    await client.setActiveProject(p.id);
    await client.deleteProject(p.id);
    await waitFor(() => received.every((l) => l.length >= 7));
    for (const list of received) {
      assert.deepStrictEqual(
        list.map((e) => e.type),
        [
          'hello',
          'projectCreated',
          'activeProjectChanged',
          'projectUpdated',
          'activeProjectChanged',
          'projectDeleted',
          'activeProjectChanged',
        ],
      );
    }
    await backend.stop('test');
    await waitFor(() => closed.length === 2);
    assert.ok(received[0].some((e) => e.type === 'shuttingDown'));
    streams.forEach((s) => s.dispose());
  });
});

export async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) {
      throw new Error('condition not met in time');
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

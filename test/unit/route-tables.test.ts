import * as assert from 'assert';
import type { FastifyInstance } from 'fastify';
import type { Backend } from '../../src/backend/app';
import { register } from '../../src/backend/http/register';
import { registeredRoutes } from '../../src/backend/http/server';
import { ApiClient, BackendError } from '../../src/client/api-client';
import { blobRoutes } from '../../src/protocol/routes/blobs';
import { datasetRoutes } from '../../src/protocol/routes/datasets';
import { experimentRoutes } from '../../src/protocol/routes/experiments';
import { jobRoutes } from '../../src/protocol/routes/jobs';
import { memberRoutes } from '../../src/protocol/routes/members';
import { modelRoutes } from '../../src/protocol/routes/models';
import { projectRoutes } from '../../src/protocol/routes/projects';
import { runUploadRoutes } from '../../src/protocol/routes/run-upload';
import { runtimeRoutes } from '../../src/protocol/routes/runtime';
import { schedulerRoutes } from '../../src/protocol/routes/scheduler';
import { serviceRoutes } from '../../src/protocol/routes/services';
import { statusRoutes } from '../../src/protocol/routes/status';
import { userRoutes } from '../../src/protocol/routes/users';
import { urlOf, type Route } from '../../src/protocol/routes/route';
import { startBackend, tempHome, TEST_TOKEN } from './helpers';

/** Every route table of `src/protocol/routes`; a feature converted to a table is added here. */
const TABLES: Record<string, Record<string, Route>> = {
  status: statusRoutes,
  projects: projectRoutes,
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
  members: memberRoutes,
};

const entries = Object.entries(TABLES).flatMap(([feature, table]) =>
  Object.entries(table).map(([name, route]) => ({ name: `${feature}.${name}`, route })),
);

describe('route tables shared by the backend and the Node client', () => {
  let backend: Backend;
  let cleanup: () => void;

  before(async () => {
    const t = tempHome();
    cleanup = t.cleanup;
    backend = await startBackend(t.home);
  });
  after(async () => {
    await backend.stop('test done');
    cleanup();
  });

  it('registers every table entry on the backend with its method, path and schemas', () => {
    const registered = registeredRoutes(backend.http);
    for (const { name, route } of entries) {
      const found = registered.filter((r) => r.method === route.method && r.url === route.path);
      assert.strictEqual(found.length, 1, `${name}: ${route.method} ${route.path} is registered once`);
      assert.deepStrictEqual(found[0].schema, route.schema, `${name}: the backend validates with the table's schemas`);
    }
  });

  it('gives every path part a required, bounded parameter schema', () => {
    for (const { name, route } of entries) {
      const parts = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      const params = route.schema.params as
        { required?: string[]; properties?: Record<string, { maxLength?: number; pattern?: string }> } | undefined;
      assert.strictEqual(params === undefined, parts.length === 0, `${name}: a params schema iff the path has parts`);
      for (const part of parts) {
        assert.ok(params?.required?.includes(part), `${name}: ":${part}" is required`);
        const schema = params?.properties?.[part];
        assert.ok(schema?.maxLength !== undefined || schema?.pattern !== undefined, `${name}: ":${part}" is bounded`);
      }
    }
  });

  it('builds URLs with each path part percent-encoded and only the defined query values', () => {
    assert.strictEqual(
      urlOf(datasetRoutes.getVersion.path, { name: 'a b/../c', version: 'latest' }),
      '/api/datasets/a%20b%2F..%2Fc/versions/latest',
    );
    assert.strictEqual(
      urlOf(
        datasetRoutes.deleteVersion.path,
        { name: 'iris', version: '2' },
        { project: 'Ünï & co', force: undefined },
      ),
      '/api/datasets/iris/versions/2?project=%C3%9Cn%C3%AF%20%26%20co',
    );
    assert.strictEqual(urlOf(projectRoutes.list.path, {}, {}), '/api/projects');
  });

  it('calls a route through its table entry with the typed answer', async () => {
    const client = new ApiClient(backend.port, TEST_TOKEN);
    try {
      const created = await client.call(projectRoutes.create, { body: { name: 'Tables' } });
      const got = await client.call(projectRoutes.get, { params: { id: 'tables' } });
      assert.strictEqual(got.id, created.id);
      const active = await client.call(projectRoutes.active, {});
      assert.strictEqual(active.projectId, created.id);
    } finally {
      client.dispose();
    }
  });

  it('streams a Streamed route through its table entry, and answers its errors in words', async () => {
    const client = new ApiClient(backend.port, TEST_TOKEN);
    try {
      const res = await client.stream(jobRoutes.exportFile, { query: { format: 'json' } });
      assert.match(String(res.headers['content-type']), /^application\/json/);
      let text = '';
      for await (const chunk of res) {
        text += String(chunk);
      }
      assert.deepStrictEqual(JSON.parse(text), { format: 1, jobs: [] });
      await assert.rejects(
        client.stream(jobRoutes.runLogs, { params: { runId: 'no-such-run' } }),
        (e: BackendError) => e instanceof BackendError && e.status === 404,
      );
    } finally {
      client.dispose();
    }
  });
});

/**
 * Compiled, never run: each marked line must be a type error, so a route whose client call drifts
 * from its table entry (a missing path part, a body of the wrong shape, a wrong answer) does not
 * compile. Should the typing loosen, the compiler reports the unused expectation.
 */
export function typeChecks(client: ApiClient, app: FastifyInstance): void {
  // @ts-expect-error the handler's answer must be a Project
  register(app, projectRoutes.get, async () => ({ wrong: 1 }));
  register(app, projectRoutes.get, async (request) => {
    // @ts-expect-error the route has no path part "name"
    const name: string = request.params.name;
    return { id: name, name, description: '', createdAt: '', updatedAt: '' };
  });
  // @ts-expect-error the path part :id is required
  void client.call(projectRoutes.get, {});
  // @ts-expect-error the path part is named id, not name
  void client.call(projectRoutes.get, { params: { name: 'x' } });
  // @ts-expect-error the body lacks its required name
  void client.call(projectRoutes.create, { body: { description: 'x' } });
  // @ts-expect-error force takes "true" or "false"
  void client.call(datasetRoutes.deleteVersion, { params: { name: 'a', version: '1' }, query: { force: 'yes' } });
  // @ts-expect-error a streamed route is read with stream(), not call()
  void client.call(jobRoutes.runLogs, { params: { runId: 'r' } });
  // @ts-expect-error a route answered in JSON is read with call(), not stream()
  void client.stream(jobRoutes.getRun, { params: { runId: 'r' } });
  // @ts-expect-error the path part :runId is required
  void client.stream(jobRoutes.runLogs, {});
  register(app, jobRoutes.runLogs, async (_request, reply) => {
    reply.raw.end();
  });
  // @ts-expect-error a streamed route's handler writes the reply itself: it returns no object
  register(app, jobRoutes.runLogs, async () => ({ lines: [] }));
  // @ts-expect-error the list's handler returns the JSON text it already has, not an object
  register(app, experimentRoutes.list, async () => ({ experiments: [] }));
  void client.call(experimentRoutes.list, {}).then((list) => {
    // @ts-expect-error the client gets the parsed list, not its text
    const text: string = list;
    return text;
  });
  void client.call(projectRoutes.list, {}).then((projects) => {
    // @ts-expect-error the answer is a list of projects
    const one: { id: string } = projects;
    return one;
  });
}

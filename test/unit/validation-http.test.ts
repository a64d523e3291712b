import * as assert from 'assert';
import * as fs from 'fs';
import type { FastifyInstance } from 'fastify';
import { MemoryLogger } from '../../src/backend/log';
import { ApiError } from '../../src/backend/errors';
import { createHttpServer } from '../../src/backend/http/server';
import { lookupText } from '../../src/protocol/routes/schema';
import { errorOf, raw, TEST_TOKEN } from './helpers';

/** The error handler of the HTTP layer: input mistakes are 4xx, only real failures are 5xx, logged with the route. */
describe('HTTP error guard', () => {
  let app: FastifyInstance;
  let port: number;
  const log = new MemoryLogger();

  before(async () => {
    app = createHttpServer(TEST_TOKEN, log);
    app.get<{ Params: { name: string } }>(
      '/t/stat/:name',
      { schema: { params: { type: 'object', properties: { name: { type: 'string', maxLength: 100 } } } } },
      // deliberately unchecked: a NUL that reaches a Node API must still be the client's 400
      async (request) => fs.statSync(`/tmp/${request.params.name}`).size,
    );
    app.get<{ Params: { name: string } }>(
      '/t/checked/:name',
      { schema: { params: { type: 'object', properties: { name: lookupText } } } },
      async (request) => request.params.name,
    );
    app.get('/t/bug/:id', async () => {
      throw new Error('an internal bug');
    });
    app.get('/t/refused', async () => {
      throw new ApiError(409, 'busy', 'It is busy: try later.');
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });

  after(() => app.close());

  it('answers 400 when a NUL reaches a Node API, and logs which route lacks a check', async () => {
    const res = await raw(port, 'GET', '/t/stat/a%00b');
    assert.strictEqual(res.status, 400, res.text);
    assert.match(errorOf(res).message, /contains a NUL character/);
    assert.ok(
      log.lines.some((l) => l.startsWith('warn GET /t/stat/:name (/t/stat/a%00b): input reached a Node API unchecked')),
      log.lines.join('\n'),
    );
  });

  it('refuses a NUL in a checked name with the schema, before the handler', async () => {
    const res = await raw(port, 'GET', '/t/checked/a%00b');
    assert.strictEqual(res.status, 400, res.text);
    assert.strictEqual(
      errorOf(res).message,
      'Invalid request: name contains a NUL character (\\0), which no name, path, argument or value can hold: remove it.',
    );
    assert.strictEqual((await raw(port, 'GET', '/t/checked/ab')).text, 'ab');
  });

  it('answers a URL that cannot be decoded with 400 in the API error format', async () => {
    for (const url of ['/t/checked/%zz', '/t/checked/%']) {
      const res = await raw(port, 'GET', url);
      assert.strictEqual(res.status, 400, res.text);
      assert.strictEqual(errorOf(res).code, 'invalid_url');
      assert.match(errorOf(res).message, /percent-encode each part/);
    }
    const long = await raw(port, 'GET', `/t/checked/${'x'.repeat(150)}`);
    assert.deepStrictEqual([long.status, errorOf(long).code], [400, 'invalid_url']);
    assert.match(errorOf(long).message, /longer than 100 characters/);
  });

  it('keeps 5xx for real failures, logged with the route pattern and the stack', async () => {
    const res = await raw(port, 'GET', '/t/bug/42');
    assert.strictEqual(res.status, 500);
    assert.strictEqual(errorOf(res).code, 'internal');
    const line = log.lines.find((l) => l.startsWith('error GET /t/bug/:id (/t/bug/42): Error: an internal bug'));
    assert.ok(line, log.lines.join('\n'));
    assert.match(line, /validation-http\.test\.js/);
    const refused = await raw(port, 'GET', '/t/refused');
    assert.deepStrictEqual([refused.status, errorOf(refused).code], [409, 'busy']);
  });
});

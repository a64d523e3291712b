import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { REPO, tempHome } from './helpers';

const SERVER = path.join(REPO, 'resources', 'model-server', 'server.py');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface Answer {
  status: number;
  body: { predictions?: unknown[]; status?: string; error?: unknown; [key: string]: unknown };
}

function call(port: number, method: string, route: string, body?: string): Promise<Answer> {
  // /invocations takes JSON with its content type only, as MLflow's scoring server does
  const headers = body === undefined ? {} : { 'content-type': 'application/json' };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: route, agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The model server's HTTP contract with the machine's python3 (no scikit-learn needed): a
 * `predict(inputs)` entry point, MLflow's input formats, and a model that fails to load.
 */
describe('model server: routes, input formats and load failures (python3, no Docker)', function () {
  this.timeout(30000);
  let root: string;
  let cleanup: () => void;
  let server: ChildProcess | undefined;
  let stderr = '';

  async function start(env: Record<string, string>): Promise<number> {
    const port = await freePort();
    server = spawn('python3', [SERVER], { env: { ...process.env, PORT: String(port), ...env } });
    stderr = '';
    server.stderr!.on('data', (c: Buffer) => (stderr += String(c)));
    for (let i = 0; i < 400; i++) {
      const answer = await call(port, 'GET', '/health').catch(() => undefined);
      if (answer && answer.body.status !== 'loading') {
        return port;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`the model server did not start: ${stderr}`);
  }

  beforeEach(() => {
    const t = tempHome();
    root = path.dirname(t.home);
    cleanup = t.cleanup;
  });
  afterEach(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    cleanup();
  });

  it('serves a predict(inputs) entry point: /predict, /invocations formats, /info, /health', async () => {
    const file = path.join(root, 'predictor.py');
    fs.writeFileSync(file, 'def predict(inputs):\n    return [sum(row) for row in inputs]\n');
    const port = await start({
      MODEL_PATH: file,
      MODEL_ENTRY_POINT: 'predictor:predict',
      MODEL_NAME: 'adder',
      MODEL_VERSION: '3',
    });
    assert.deepStrictEqual(await call(port, 'GET', '/health'), { status: 200, body: { status: 'ok' } });
    const predict = await call(
      port,
      'POST',
      '/predict',
      JSON.stringify({
        inputs: [
          [1, 2],
          [3, 4],
        ],
      }),
    );
    assert.deepStrictEqual(predict, { status: 200, body: { predictions: [3, 7] } });
    const formats = [
      { dataframe_split: { columns: ['a', 'b'], data: [[1, 2]] } },
      { dataframe_records: [{ a: 1, b: 2 }] },
      { instances: [[1, 2]] },
      { inputs: [[1, 2]] },
    ];
    for (const f of formats) {
      const answer = await call(port, 'POST', '/invocations', JSON.stringify(f));
      assert.deepStrictEqual(answer, { status: 200, body: { predictions: [3] } }, JSON.stringify(f));
    }
    const info = await call(port, 'GET', '/info');
    assert.deepStrictEqual(
      [info.body.name, info.body.version, info.body.loader, info.body.entryPoint, info.body.status],
      ['adder', 3, 'entry point', 'predictor:predict', 'ready'],
    );
    // what is refused, and why
    const refused: [string, string, RegExp][] = [
      ['/invocations', JSON.stringify({ instances: [{ a: 1 }, { b: 2 }] }), /row 1 has the names \['b'\] but row 0/],
      ['/invocations', JSON.stringify({ dataframe_split: { columns: ['a'], data: [[1, 2]] } }), /1 columns/],
      ['/invocations', JSON.stringify({ instances: [[1]], inputs: [[1]] }), /exactly one of/],
      ['/invocations', JSON.stringify({ instances: [] }), /non-empty list of rows/],
      ['/invocations', '{not json', /not JSON/],
    ];
    for (const [route, body, message] of refused) {
      const answer = await call(port, 'POST', route, body);
      assert.strictEqual(answer.status, 400, body);
      assert.match((answer.body.error as { message: string }).message, message);
    }
    assert.strictEqual((await call(port, 'GET', '/nope')).status, 404);
  });

  it('reports a model that fails to load: /health 503 with the loader error, in the log too', async () => {
    const file = path.join(root, 'broken.pkl');
    fs.writeFileSync(file, 'not a pickle');
    const port = await start({ MODEL_PATH: file });
    const health = await call(port, 'GET', '/health');
    assert.strictEqual(health.status, 503);
    assert.strictEqual(health.body.status, 'failed');
    assert.match(String(health.body.error), /Error/);
    assert.ok(stderr.includes(`cannot load the model ${file}: ${String(health.body.error)}`), stderr);
    const predict = await call(port, 'POST', '/predict', JSON.stringify({ inputs: [[1]] }));
    assert.strictEqual(predict.status, 503);
    assert.match((predict.body.error as { message: string }).message, /failed to load/);
  });
});

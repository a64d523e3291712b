import * as assert from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { REPO, tempHome } from './helpers';

/**
 * The model server's POST /invocations against MLflow's scoring protocol (MLflow 2.x,
 * mlflow.pyfunc.scoring_server): the request bodies of MLflow's documentation ("Deploy MLflow Model
 * as a Local Inference Server", and the 2.x "Deploy MLflow models" examples), its content types and
 * its error answers, sent to the real server process (python3 on 127.0.0.1).
 */

const SERVER = path.join(REPO, 'resources', 'model-server', 'server.py');
const JSON_TYPE = 'application/json';

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
  contentType: string | undefined;
  text: string;
  body: {
    predictions?: unknown;
    error_code?: string;
    message?: string;
    stack_trace?: string;
    error?: { status: number; message: string };
    [key: string]: unknown;
  };
}

/** POSTs `body` (an object is sent as JSON) with this Content-Type (null: no header). */
function post(port: number, route: string, body: unknown, contentType: string | null = JSON_TYPE): Promise<Answer> {
  const payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const headers: http.OutgoingHttpHeaders = { 'content-length': payload.length };
  if (contentType !== null) {
    headers['content-type'] = contentType;
  }
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: route, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          text,
          body: JSON.parse(text) as Answer['body'],
        });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const invoke = (port: number, body: unknown, contentType?: string) =>
  post(port, '/invocations', body, contentType ?? JSON_TYPE);

/** Asserts an MLflow error answer: the status, error_code and message (and ML Lab's error beside them). */
function assertRefused(answer: Answer, status: number, message: RegExp, what = ''): void {
  assert.strictEqual(answer.status, status, `${what}: ${answer.text}`);
  assert.strictEqual(answer.body.error_code, status === 503 ? 'TEMPORARILY_UNAVAILABLE' : 'BAD_REQUEST', what);
  assert.match(answer.body.message ?? '', message, what);
  assert.deepStrictEqual(answer.body.error, { status, message: answer.body.message }, what);
  assert.strictEqual(answer.contentType, 'application/json', what);
}

describe('model server: MLflow scoring protocol on POST /invocations (python3, no Docker)', function () {
  this.timeout(30000);
  let root: string;
  let cleanup: () => void;
  const servers: ChildProcess[] = [];
  /** a model function that answers what it was given: {"data": ..., "params": ...} */
  let echo: number;
  /** a model function without a params parameter that fails on a string */
  let adder: number;
  /** a pickled estimator (a plain class: no scikit-learn needed) with 3 named features; answers its rows */
  let named: number;
  /** a pickled estimator without feature names or count; answers its rows */
  let plain: number;

  async function start(env: Record<string, string>): Promise<number> {
    const port = await freePort();
    const server = spawn('python3', [SERVER], { env: { ...process.env, PORT: String(port), ...env } });
    servers.push(server);
    let stderr = '';
    server.stderr!.on('data', (c: Buffer) => (stderr += String(c)));
    for (let i = 0; i < 400; i++) {
      const health = await new Promise<string | undefined>((resolve) => {
        http
          .get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += String(c)));
            res.on('end', () => resolve(text));
          })
          .on('error', () => resolve(undefined));
      });
      if (health !== undefined && !health.includes('loading')) {
        assert.match(health, /"ok"/, stderr);
        return port;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`the model server did not start: ${stderr}`);
  }

  before(async () => {
    const t = tempHome();
    root = path.dirname(t.home);
    cleanup = t.cleanup;
    fs.writeFileSync(
      path.join(root, 'echo.py'),
      'def predict(data, params=None):\n    return {"data": data, "params": params}\n',
    );
    fs.writeFileSync(path.join(root, 'adder.py'), 'def predict(rows):\n    return [sum(r) for r in rows]\n');
    fs.writeFileSync(
      path.join(root, 'toys.py'),
      [
        'import math',
        'class Echo:',
        '    def predict(self, rows):',
        '        return [["NaN" if isinstance(v, float) and math.isnan(v) else v for v in r] for r in rows]',
        'class Named(Echo):',
        '    n_features_in_ = 3',
        '    feature_names_in_ = ["a", "b", "c"]',
        '',
      ].join('\n'),
    );
    const made = spawnSync(
      'python3',
      [
        '-c',
        'import pickle, toys; pickle.dump(toys.Named(), open("named.pkl", "wb")); pickle.dump(toys.Echo(), open("plain.pkl", "wb"))',
      ],
      { cwd: root, encoding: 'utf8' },
    );
    assert.strictEqual(made.status, 0, made.stderr);
    [echo, adder, named, plain] = await Promise.all([
      start({ MODEL_PATH: path.join(root, 'echo.py'), MODEL_ENTRY_POINT: 'echo:predict' }),
      start({ MODEL_PATH: path.join(root, 'adder.py'), MODEL_ENTRY_POINT: 'adder:predict' }),
      start({ MODEL_PATH: path.join(root, 'named.pkl'), PYTHONPATH: root }),
      start({ MODEL_PATH: path.join(root, 'plain.pkl'), PYTHONPATH: root }),
    ]);
  });

  after(async () => {
    await Promise.all(
      servers
        .filter((s) => s.exitCode === null)
        .map((s) => {
          const exited = new Promise((r) => s.once('exit', r));
          s.kill('SIGTERM');
          return exited;
        }),
    );
    cleanup();
  });

  it("takes the documented curl request, also with the 2.x docs' 'application/json;'", async () => {
    const body = {
      inputs: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    };
    for (const type of [
      'application/json',
      'application/json;',
      'application/json; charset=utf-8',
      'Application/JSON; Charset=UTF-8',
    ]) {
      const answer = await invoke(echo, body, type);
      assert.strictEqual(answer.status, 200, `${type}: ${answer.text}`);
      assert.deepStrictEqual(
        answer.body,
        {
          predictions: {
            data: [
              [1, 2],
              [3, 4],
              [5, 6],
            ],
            params: null,
          },
        },
        type,
      );
      assert.strictEqual(answer.contentType, 'application/json');
    }
    assert.deepStrictEqual((await invoke(plain, body)).body, {
      predictions: [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
    });
    assert.deepStrictEqual((await invoke(adder, body)).body, { predictions: [3, 7, 11] });
  });

  it('takes the wrapped payload formats of the docs: dataframe_split, dataframe_records, instances, inputs', async () => {
    // {"dataframe_split": pandas_df.to_dict(orient="split")}, index included
    const split = {
      dataframe_split: {
        index: [0, 1],
        columns: ['a', 'b', 'c'],
        data: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
    };
    assert.deepStrictEqual((await invoke(echo, split)).body.predictions, {
      data: [
        [1, 2, 3],
        [4, 5, 6],
      ],
      params: null,
    });
    assert.deepStrictEqual((await invoke(named, split)).body.predictions, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    // the 2.x docs' dataframe_split and dataframe_records examples
    const split2 = {
      dataframe_split: {
        columns: ['a', 'b', 'c'],
        data: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      },
    };
    const records = {
      dataframe_records: [
        { a: 1, b: 2, c: 3 },
        { a: 4, b: 5, c: 6 },
      ],
    };
    for (const body of [split2, records]) {
      assert.deepStrictEqual((await invoke(adder, body)).body, { predictions: [6, 15] }, JSON.stringify(body));
      assert.deepStrictEqual((await invoke(plain, body)).body, {
        predictions: [
          [1, 2, 3],
          [4, 5, 6],
        ],
      });
    }
    // the estimator picks its features by name, whatever the order sent
    const shuffled = { dataframe_split: { columns: ['c', 'label', 'a', 'b'], data: [[3, 'x', 1, 2]] } };
    assert.deepStrictEqual((await invoke(named, shuffled)).body, { predictions: [[1, 2, 3]] });
    const shuffledRecords = { dataframe_records: [{ c: 3, b: 2, a: 1 }] };
    assert.deepStrictEqual((await invoke(named, shuffledRecords)).body, { predictions: [[1, 2, 3]] });

    // {"instances": [1.0, 2.0, 5.0]}: a 1-D tensor reaches a model function as sent
    const flat = { instances: [1.0, 2.0, 5.0] };
    assert.deepStrictEqual((await invoke(echo, flat)).body.predictions, { data: [1, 2, 5], params: null });
    assertRefused(
      await invoke(plain, flat),
      400,
      /instances is a list of 3 values, but a scikit-learn estimator takes rows: send \[\[\.\.\.\]\]/,
    );
    // {"inputs": [["Cheese"], ["and", "Crackers"]]}: rows of different lengths reach a model function as sent
    const cheese = { inputs: [['Cheese'], ['and', 'Crackers']] };
    assert.deepStrictEqual((await invoke(echo, cheese)).body.predictions, { data: cheese.inputs, params: null });
    // an estimator needs a table (numpy refuses a ragged array too)
    assertRefused(await invoke(plain, cheese), 400, /^inputs: row 1 has 2 values but row 0 has 1/);
  });

  it('gives a model function tensors in the shape sent: any rank, named tensors, instances records as columns', async () => {
    const cube = [
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ];
    for (const key of ['instances', 'inputs']) {
      const answer = await invoke(echo, { [key]: cube });
      assert.deepStrictEqual(answer.body, { predictions: { data: cube, params: null } }, key);
      assertRefused(
        await invoke(plain, { [key]: cube }),
        400,
        /has the shape 2x2x2, but a scikit-learn estimator takes rows/,
      );
    }
    // the 2.x docs: TF serving's row format ("instances" records) becomes named tensors, as in MLflow
    const rowsOf = {
      instances: [
        { a: 's1', b: 1, c: [1, 2, 3] },
        { a: 's2', b: 2, c: [4, 5, 6] },
        { a: 's3', b: 3, c: [7, 8, 9] },
      ],
    };
    const columns = {
      a: ['s1', 's2', 's3'],
      b: [1, 2, 3],
      c: [
        [1, 2, 3],
        [4, 5, 6],
        [7, 8, 9],
      ],
    };
    assert.deepStrictEqual((await invoke(echo, rowsOf)).body.predictions, { data: columns, params: null });
    // the 2.x docs: TF serving's column format ("inputs" as named tensors), as sent
    assert.deepStrictEqual((await invoke(echo, { inputs: columns })).body.predictions, { data: columns, params: null });
    // named columns to an estimator: a table in the estimator's feature order
    const named3 = { inputs: { c: [3, 30], a: [1, 10], b: [2, 20] } };
    assert.deepStrictEqual((await invoke(named, named3)).body, {
      predictions: [
        [1, 2, 3],
        [10, 20, 30],
      ],
    });
    const records3 = { instances: [{ c: 3, a: 1, b: 2 }] };
    assert.deepStrictEqual((await invoke(named, records3)).body, { predictions: [[1, 2, 3]] });
    assertRefused(await invoke(named, { inputs: { a: [1], b: [2] } }), 400, /lacks the columns \['c'\]/);
    assertRefused(
      await invoke(plain, { inputs: columns }),
      400,
      /the tensor 'c' must be a list with one value per row/,
    );
  });

  it('passes params as MLflow does: to a predict(data, params) function, ignored by others', async () => {
    // the docs' example: named tensors with params
    const chat = {
      inputs: { messages: [{ role: 'user', content: 'Tell a joke!' }] },
      params: { temperature: 0.5, max_tokens: 20 },
    };
    assert.deepStrictEqual((await invoke(echo, chat)).body, {
      predictions: { data: chat.inputs, params: chat.params },
    });
    const qa = {
      inputs: {
        question: ['What color is it?'],
        context: ['Some people said it was green but I know that it is pink.'],
      },
      params: { max_answer_len: 10 },
    };
    assert.deepStrictEqual((await invoke(echo, qa)).body, { predictions: { data: qa.inputs, params: qa.params } });
    const withParams = { dataframe_split: { columns: ['a', 'b'], data: [[1, 2]] }, params: { k: 1 } };
    assert.deepStrictEqual((await invoke(echo, withParams)).body.predictions, { data: [[1, 2]], params: { k: 1 } });
    assert.deepStrictEqual((await invoke(adder, withParams)).body, { predictions: [3] });
    assert.deepStrictEqual((await invoke(plain, withParams)).body, { predictions: [[1, 2]] });
    assertRefused(await invoke(echo, { inputs: [[1]], params: [1] }), 400, /params must be a JSON object/);
  });

  it("passes the docs' raw payload (OpenAI chat) whole and answers it unwrapped, as MLflow does", async () => {
    const chat = { messages: [{ role: 'user', content: 'Tell a joke!' }], temperature: 0.5, max_tokens: 20 };
    assert.deepStrictEqual((await invoke(echo, chat)).body, { data: chat, params: {} });
    assertRefused(await invoke(plain, chat), 400, /takes no LLM payload/);
  });

  it('reads text/csv as pandas.read_csv does: header row, RFC 4180 quoting, types inferred per column', async () => {
    // as DataFrame.to_csv(index=False) writes it: quoted fields with commas, quotes and a line break
    const csv = 'a,b,c,d,e\n1,2.5,x,,NA\n3,,"y, ""quoted""\nline",true,null\n';
    const answer = await invoke(echo, csv, 'text/csv');
    assert.strictEqual(answer.status, 200, answer.text);
    // a: ints; b: floats (a missing value); c: text; d: booleans with a missing value; e: all missing
    assert.deepStrictEqual(answer.body.predictions, {
      data: [
        [1, 2.5, 'x', null, null],
        [3, null, 'y, "quoted"\nline', true, null],
      ],
      params: null,
    });
    // an int column with a missing value is a float column in pandas
    const floats = await invoke(echo, 'a,b\n1,\n,2\n', 'text/csv; charset=utf-8');
    assert.strictEqual(floats.text, '{"predictions": {"data": [[1.0, null], [null, 2.0]], "params": null}}');
    // a mixed column stays text; CRLF line ends, a byte order mark and blank lines are fine; the docs' application/csv
    const mixed = await invoke(echo, '\ufeffn,s\r\n1,a\r\n\r\n2,2\r\n', 'application/csv');
    assert.deepStrictEqual(mixed.body.predictions, {
      data: [
        [1, 'a'],
        [2, '2'],
      ],
      params: null,
    });
    // a short row gets missing values; the estimator gets its named columns in its order, missing as NaN
    const named4 = await invoke(named, 'label,c,b,a\nx,3,2,1\ny,30\n', 'text/csv');
    assert.deepStrictEqual(named4.body, {
      predictions: [
        [1, 2, 3],
        ['NaN', 'NaN', 30],
      ],
    });
    assert.deepStrictEqual((await invoke(adder, 'a,b\n1,2\n3,4\n', 'text/csv')).body, { predictions: [3, 7] });
    // empty and duplicate names as pandas makes them: "Unnamed: 0", "a.1"
    const mangled = await invoke(named, ',a,a,b,c\n0,1,9,2,3\n', 'text/csv');
    assert.deepStrictEqual(mangled.body, { predictions: [[1, 2, 3]] });

    // the docs' example body '1,2,3,4' is a header row only: pandas reads no rows from it
    assertRefused(await invoke(echo, '1,2,3,4', 'application/csv'), 400, /only a header row \(1,2,3,4\)/);
    assertRefused(await invoke(echo, '', 'text/csv'), 400, /the CSV body is empty/);
    assertRefused(await invoke(echo, 'a,b\n1,2\n3,4,5\n', 'text/csv'), 400, /3 fields on line 3 but its header has 2/);
    assertRefused(await invoke(echo, 'a,b\n1,"2\n', 'text/csv'), 400, /not valid CSV \(RFC 4180\)/);
  });

  it('answers a content type it does not take with 415 and the supported types, as MLflow does', async () => {
    const body = { inputs: [[1, 2]] };
    const listed =
      /^This predictor only supports the following content types: Types: \['text\/csv', 'application\/json'\]\./;
    assertRefused(await invoke(echo, body, 'text/plain'), 415, listed);
    assertRefused(await invoke(echo, body, 'text/plain'), 415, /Got 'text\/plain'\.$/);
    assertRefused(await invoke(echo, body, 'application/x-www-form-urlencoded'), 415, listed);
    assertRefused(await post(echo, '/invocations', body, null), 415, /Got no Content-Type header/);
    // MLflow 1.x's format parameter, and any parameter but charset
    assertRefused(
      await invoke(echo, body, 'application/json; format=pandas-split'),
      415,
      /^Unrecognized content type parameters: format\. .*MLflow 2\.0/,
    );
    assertRefused(await invoke(echo, 'a\n1\n', 'text/csv; header=present'), 415, /parameters: header/);
    assertRefused(
      await invoke(echo, body, 'application/json; charset=latin-1'),
      415,
      /^The scoring server only supports UTF-8$/,
    );
    // /predict, ML Lab's own format, takes any content type as before
    assert.deepStrictEqual((await post(adder, '/predict', body, 'text/plain')).body, { predictions: [3] });
  });

  it("refuses what MLflow refuses with its error JSON, and never drops or reorders a record's values", async () => {
    const required =
      /^The input must be a JSON dictionary with exactly one of the input fields \{'dataframe_split', 'dataframe_records', 'instances', 'inputs'\}/;
    assertRefused(await invoke(echo, { tensor: [] }), 400, required);
    assertRefused(await invoke(echo, { tensor: [] }), 400, /Received dictionary with input fields: \['tensor'\]/);
    assertRefused(await invoke(echo, { instances: [[1]], inputs: [[1]] }), 400, required);
    // the docs' "record-oriented DataFrame input" (a bare list) is MLflow 1.x's format: MLflow 2.x refuses it
    const bare = [
      { a: 0, b: 'dGVzdCBiaW5hcnkgZGF0YSAw' },
      { a: 1, b: 'dGVzdCBiaW5hcnkgZGF0YSAx' },
    ];
    assertRefused(await invoke(echo, bare), 400, /Received a list\.$/);
    assertRefused(await invoke(echo, '"text"'), 400, /Received unexpected input type 'string'/);
    assertRefused(await invoke(echo, '{not json'), 400, /the body is not JSON/);
    assertRefused(
      await invoke(echo, { dataframe_split: [[1]] }),
      400,
      /^Dataframe split format must be a dictionary\. Got list\.$/,
    );
    assertRefused(
      await invoke(echo, { dataframe_split: { data: [[1]], dtype: 'x' } }),
      400,
      /must have 'data' field and optionally 'columns' and 'index' fields/,
    );
    assertRefused(await invoke(echo, { dataframe_split: { columns: ['a'], data: [[1, 2]] } }), 400, /1 columns/);
    assertRefused(
      await invoke(echo, { dataframe_split: { index: [0], data: [[1], [2]] } }),
      400,
      /1 index labels but 2 rows/,
    );
    assertRefused(
      await invoke(echo, { dataframe_records: { a: [1] } }),
      400,
      /^Dataframe records format must be a list of records\. Got dictionary\.$/,
    );
    assertRefused(await invoke(echo, { instances: [] }), 400, /non-empty list of rows/);

    // instances records with different names: 400 naming the row (MLflow would mis-align the columns)
    const uneven = {
      instances: [
        { a: 1, b: 2 },
        { a: 3, b: 4 },
        { a: 5, c: 6 },
      ],
    };
    assertRefused(
      await invoke(echo, uneven),
      400,
      /^instances: row 2 has the names \['a', 'c'\] but row 0 has \['a', 'b'\]/,
    );
    assertRefused(await invoke(named, uneven), 400, /row 2 has the names/);
    // dataframe_records as pandas reads them: every name of every record, null where a record lacks one
    const sparse = {
      dataframe_records: [
        { a: 1, b: 2 },
        { a: 3, c: 4 },
      ],
    };
    assert.deepStrictEqual((await invoke(echo, sparse)).body.predictions, {
      data: [
        [1, 2, null],
        [3, null, 4],
      ],
      params: null,
    });
    assert.deepStrictEqual((await invoke(named, sparse)).body, {
      predictions: [
        [1, 2, 'NaN'],
        [3, 'NaN', 4],
      ],
    });
    // an estimator takes a table of plain values, with its number of features
    const ragged = {
      instances: [
        [1, 2, 3, 4],
        [1, 2],
      ],
    };
    assertRefused(await invoke(plain, ragged), 400, /^instances: row 1 has 2 values but row 0 has 4/);
    assertRefused(
      await invoke(named, { inputs: [[1, 2]] }),
      400,
      /row 0 has 2 values, but the model expects 3 features per row/,
    );
    assertRefused(await invoke(plain, { dataframe_split: { data: [[1, [2]]] } }), 400, /row 0 holds a nested value/);

    // the model's own failure: 400 with MLflow's message and the stack trace
    const failed = await invoke(adder, { inputs: [['x', 1]] });
    assertRefused(failed, 400, /^Encountered an unexpected error while evaluating the model\. .*TypeError/);
    assert.match(failed.body.stack_trace ?? '', /Traceback[\s\S]*adder\.py/);
  });
});

/**
 * The same protocol with a real scikit-learn estimator: with the machine's python3 when it has
 * scikit-learn, else in the local test image (no network), else skipped.
 */
describe('model server: /invocations with a scikit-learn estimator', function () {
  this.timeout(120000);
  const IMAGE = 'mllab-test/python-sklearn:1';
  let port = 0;
  let stop: (() => Promise<void>) | undefined;
  let expect: { rows: number[][]; predictions: number[] };
  let cleanup: () => void;

  const TRAIN = [
    'import json, pickle, sys',
    'from sklearn.datasets import load_iris',
    'from sklearn.linear_model import LogisticRegression',
    'X, y = load_iris(return_X_y=True)',
    'model = LogisticRegression(max_iter=1000).fit(X, y)',
    'pickle.dump(model, open(sys.argv[1] + "/iris.pkl", "wb"))',
    'rows = X[::15][:10]',
    'json.dump({"rows": rows.tolist(), "predictions": model.predict(rows).tolist()}, open(sys.argv[1] + "/expect.json", "w"))',
    '',
  ].join('\n');

  before(async function () {
    const t = tempHome();
    cleanup = t.cleanup;
    const dir = path.dirname(t.home);
    fs.writeFileSync(path.join(dir, 'train.py'), TRAIN);
    port = await freePort();
    const local = spawnSync('python3', ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0;
    const dockerImage =
      !local &&
      spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0 &&
      spawnSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' }).status === 0;
    if (!local && !dockerImage) {
      process.stderr.write(
        `scikit-learn tests skipped: neither python3 here nor the image ${IMAGE} has scikit-learn\n`,
      );
      this.skip();
    }
    let server: ChildProcess;
    if (local) {
      const trained = spawnSync('python3', [path.join(dir, 'train.py'), dir], { encoding: 'utf8' });
      assert.strictEqual(trained.status, 0, trained.stderr);
      server = spawn('python3', [SERVER], {
        env: { ...process.env, PORT: String(port), MODEL_PATH: path.join(dir, 'iris.pkl') },
      });
    } else {
      const name = `mllab-test-model-server-${process.pid}-${port}`;
      server = spawn('docker', [
        'run',
        '--rm',
        '--name',
        name,
        '-p',
        `127.0.0.1:${port}:8080`,
        '-v',
        `${dir}:/m`,
        '-v',
        `${SERVER}:/srv/server.py:ro`,
        '-e',
        'PORT=8080',
        '-e',
        'MODEL_PATH=/m/iris.pkl',
        IMAGE,
        'sh',
        '-c',
        'python3 /m/train.py /m && chmod a+rw /m/iris.pkl /m/expect.json && exec python3 /srv/server.py',
      ]);
      stop = async () => {
        spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
        await Promise.resolve();
      };
    }
    let stderr = '';
    server.stderr!.on('data', (c: Buffer) => (stderr += String(c)));
    if (!stop) {
      stop = async () => {
        if (server.exitCode === null) {
          const exited = new Promise((r) => server.once('exit', r));
          server.kill('SIGTERM');
          await exited;
        }
      };
    }
    for (let i = 0; ; i++) {
      const ok = await post(port, '/invocations', { inputs: [[1, 2, 3, 4]] }).then(
        (a) => a.status === 200,
        () => false,
      );
      if (ok) {
        break;
      }
      if (i > 2000 || server.exitCode !== null) {
        throw new Error(`the model server did not start: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect = JSON.parse(fs.readFileSync(path.join(dir, 'expect.json'), 'utf8')) as typeof expect;
  });

  after(async () => {
    await stop?.();
    cleanup?.();
  });

  it('predicts the same from every format: JSON tables, tensors, named tensors and CSV', async () => {
    const { rows, predictions } = expect;
    const names = ['sepal length', 'sepal width', 'petal length', 'petal width'];
    const records = rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i]])));
    const bodies: [string, unknown, string?][] = [
      ['dataframe_split', { dataframe_split: { columns: names, data: rows } }],
      ['dataframe_records', { dataframe_records: records }],
      ['instances', { instances: rows }],
      ['instances records', { instances: records }],
      ['inputs', { inputs: rows }],
      ['inputs named', { inputs: Object.fromEntries(names.map((n, i) => [n, rows.map((r) => r[i])])) }],
      ['csv', [names.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n', 'text/csv'],
    ];
    for (const [what, body, type] of bodies) {
      const answer = await invoke(port, body, type);
      assert.strictEqual(answer.status, 200, `${what}: ${answer.text}`);
      assert.deepStrictEqual(answer.body, { predictions }, what);
    }
    assertRefused(
      await invoke(port, { instances: rows[0] }),
      400,
      /list of 4 values, but a scikit-learn estimator takes rows/,
    );
    assertRefused(await invoke(port, { instances: [rows[0], [1, 2]] }), 400, /row 1 has 2 values but row 0 has 4/);
    assertRefused(
      await invoke(port, { inputs: [[1, 2, 3]] }),
      400,
      /row 0 has 3 values, but the model expects 4 features/,
    );
  });
});

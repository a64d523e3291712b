/**
 * The model webviews' pure parts (the card's content, the playground's encoding of CSV rows into
 * MLflow's formats, its targets) and the playground's HTTP calls against real servers on 127.0.0.1:
 * the model server run with the machine's python3 (no Docker), and Node servers that refuse or hang.
 */
import * as assert from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { parseCsv } from '../../src/common/csv/parser';
import { buildCard, serviceTone } from '../../src/extension/models/card/content';
import {
  cellValue,
  checkRange,
  compactJson,
  defaultColumns,
  encodeRows,
  examplePayload,
  selectColumns,
  summarizeInfo,
  type ModelServerInfo,
} from '../../src/extension/models/playground/encode';
import { errorReason, prettyBody, request } from '../../src/extension/models/playground/http';
import {
  csvDatasets,
  hostPortOf,
  modelTargets,
  predict,
  servicesOfModel,
  targetOf,
  type ModelTarget,
} from '../../src/extension/models/playground/targets';
import type { Service } from '../../src/protocol/containers';
import type { DatasetVersion } from '../../src/protocol/datasets';
import type { Model, ModelVersion, ModelVersionDetails } from '../../src/protocol/models';
import { REPO, tempHome } from './helpers';

const SERVER = path.join(REPO, 'resources', 'model-server', 'server.py');

function version(n: number, extra: Partial<ModelVersion> = {}): ModelVersion {
  return {
    id: `mv${n}`,
    modelId: 'm1',
    projectId: 'p1',
    name: 'iris',
    version: n,
    sha256: `${n}`.repeat(64).slice(0, 64),
    size: 1536 * n,
    fileName: 'model.pkl',
    sourcePath: `/lab/.mllab/runs/run-${n}/artifacts/model.pkl`,
    entryPoint: null,
    experimentId: `run-${n}`,
    aliases: [],
    createdAt: `2026-03-0${n}T10:00:00.000Z`,
    operator: 'ada',
    description: '',
    tags: [],
    path: `/lab/.mllab/blobs/${n}`,
    ...extra,
  };
}

const MODEL: Model = {
  id: 'm1',
  projectId: 'p1',
  name: 'iris',
  description: 'Iris classifier',
  tags: ['sklearn'],
  createdAt: '2026-03-01T10:00:00.000Z',
  aliases: { production: 2, staging: 3 },
  versions: [version(1), version(2, { aliases: ['production'] }), version(3, { aliases: ['staging'] })],
};

function details(extra: Partial<ModelVersionDetails> = {}): ModelVersionDetails {
  return {
    ...version(2, { aliases: ['production'], description: 'C=0.5, <b>not html</b>', tags: ['best'] }),
    lineage: {
      experimentId: 'run-2',
      experimentName: 'train-iris',
      params: { C: 0.5, solver: 'lbfgs', layers: [4, 8] },
      metrics: [
        { key: 'accuracy', count: 10, last: 0.9666666666, lastStep: 9, min: 0.5, max: 0.97, lastRaw: 0.9666666666 },
        { key: 'loss', count: 3, last: null, lastStep: 2, min: null, max: null, lastRaw: 'NaN' },
      ],
      inputs: [
        { dataset: 'iris', version: 3 },
        { dataset: 'extra', version: null },
      ],
    },
    services: [
      { name: 'iris-v2', status: 'healthy' },
      { name: 'iris-v2-b', status: 'exited' },
    ],
    ...extra,
  };
}

function service(name: string, modelVersion: number, port: number, status = 'healthy', model = 'iris'): Service {
  return {
    id: `s-${name}`,
    projectId: 'p1',
    createdAt: '2026-03-02T10:00:00.000Z',
    name,
    image: 'mllab-model-server:0123abcd',
    command: [],
    env: { MODEL_NAME: model, MODEL_VERSION: String(modelVersion), MODEL_PATH: '/model/model.pkl' },
    ports: [{ hostIp: '127.0.0.1', hostPort: port, containerPort: 8080 }],
    volumes: [],
    restart: 'no',
    healthPath: '/health',
    status: status as Service['status'],
    exitCode: null,
    reason: null,
    containerId: 'c1',
    dockerRun: 'docker run ...',
    restartCount: 0,
    warnings: [],
  };
}

describe('model card content', () => {
  it('shows everything about a version: aliases, fields, lineage with NaN, services, versions, actions', () => {
    const card = buildCard({ version: details(), model: MODEL });
    assert.strictEqual(card.ref, 'iris:v2');
    assert.strictEqual(card.title, 'iris v2');
    assert.deepStrictEqual(card.aliases, ['production']);
    assert.strictEqual(card.description, 'C=0.5, <b>not html</b>');
    assert.deepStrictEqual(card.tags, ['best']);
    const fields = Object.fromEntries(card.fields.map((f) => [f.label, f.value]));
    assert.strictEqual(fields.File, 'model.pkl');
    assert.strictEqual(fields.Size, '3.0 KB (3,072 bytes)');
    assert.strictEqual(fields['SHA-256'], '2'.repeat(64));
    assert.match(fields.Created, /^2026-03-02 \d\d:\d\d by ada$/);
    assert.strictEqual(fields['Loaded as'], 'pickled estimator (predict method)');
    assert.strictEqual(fields['Registered from'], '/lab/.mllab/runs/run-2/artifacts/model.pkl');
    assert.strictEqual(fields['Stored at'], '/lab/.mllab/blobs/2');
    const l = card.lineage!;
    assert.strictEqual(l.experiment, 'train-iris (run-2)');
    assert.strictEqual(l.experimentDeleted, undefined);
    assert.deepStrictEqual(l.params!.rows, [
      ['C', '0.5'],
      ['solver', '"lbfgs"'],
      ['layers', '[4,8]'],
    ]);
    assert.deepStrictEqual(l.metrics!.rows, [
      ['accuracy', '0.9667', '0.5', '0.97', '10'],
      ['loss', 'NaN', '—', '—', '3'],
    ]);
    assert.deepStrictEqual(l.inputs, ['iris:v3', 'extra (latest at the time)']);
    assert.deepStrictEqual(card.services, [
      { name: 'iris-v2', status: 'healthy', tone: 'ok' },
      { name: 'iris-v2-b', status: 'exited', tone: 'bad' },
    ]);
    assert.deepStrictEqual(
      card.versions.map((v) => [v.label, v.aliases, v.current]),
      [
        ['v3', ['staging'], false],
        ['v2', ['production'], true],
        ['v1', [], false],
      ],
    );
    assert.deepStrictEqual(card.actions, [
      'deploy',
      'setAlias',
      'playground',
      'openExperiment',
      'revealFile',
      'copyPath',
    ]);
    assert.strictEqual(card.deleted, undefined);
  });

  it('takes aliases from the model (they move), and falls back to the version alone without the model', () => {
    const moved: Model = { ...MODEL, aliases: { production: 3, staging: 2, canary: 2 } };
    assert.deepStrictEqual(buildCard({ version: details(), model: moved }).aliases, ['canary', 'staging']);
    const alone = buildCard({ version: details(), model: undefined });
    assert.deepStrictEqual(alone.aliases, ['production']);
    assert.deepStrictEqual(
      alone.versions.map((v) => v.label),
      ['v2'],
    );
  });

  it('says when the experiment was deleted, when there is no experiment, and when the version is deleted', () => {
    const gone = buildCard({
      version: details({ lineage: { ...details().lineage!, experimentName: null } }),
      model: MODEL,
    });
    assert.strictEqual(gone.lineage!.experiment, 'run-2');
    assert.match(gone.lineage!.experimentDeleted!, /experiment was deleted/);
    assert.ok(!gone.actions.includes('openExperiment'));
    assert.ok(gone.lineage!.params, 'the lineage recorded at registration is still shown');

    const plain = buildCard({
      version: details({ lineage: null, experimentId: null, entryPoint: 'predictor:predict', services: [] }),
      model: MODEL,
    });
    assert.strictEqual(plain.lineage, null);
    assert.strictEqual(plain.fields.find((f) => f.label === 'Loaded as')!.value, 'entry point predictor:predict');
    assert.deepStrictEqual(plain.services, []);

    const deleted = buildCard({ version: details(), model: MODEL, deleted: 'iris:v2 was deleted.' });
    assert.strictEqual(deleted.deleted, 'iris:v2 was deleted.');
    assert.deepStrictEqual(deleted.actions, []);
  });

  it("offers neither Reveal nor Copy Path for a lab reached by URL (the file is on the lab's machine)", () => {
    const remote = buildCard({ version: details(), model: MODEL, remote: true });
    assert.deepStrictEqual(remote.actions, ['deploy', 'setAlias', 'playground', 'openExperiment']);
  });

  it('colours service states', () => {
    assert.deepStrictEqual(
      ['healthy', 'running', 'starting', 'unhealthy', 'exited', 'stopped', 'unknown'].map(serviceTone),
      ['ok', 'ok', 'warn', 'bad', 'bad', 'idle', 'idle'],
    );
  });
});

describe('prediction playground: encoding CSV rows', () => {
  const csv = parseCsv(
    'sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,setosa\n6.2,,4.5,1.5,versicolor\n',
  );
  const header = csv[0];
  const rows = csv.slice(1);
  const features = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];

  it('turns cells into JSON values', () => {
    assert.deepStrictEqual(
      ['1', '-2.5', '1e-3', '.5', '', ' 7 ', 'true', 'false', 'abc', '1,5', '0x10', 'NaN'].map(cellValue),
      [1, -2.5, 0.001, 0.5, null, 7, true, false, 'abc', '1,5', '0x10', 'NaN'],
    );
  });

  it('selects columns by name in the given order, ragged rows padded with null', () => {
    assert.deepStrictEqual(selectColumns(header, rows, ['petal_width', 'sepal_length']), [
      [0.2, 5.1],
      [1.5, 6.2],
    ]);
    assert.deepStrictEqual(selectColumns(['a', 'b'], [['1']], ['a', 'b']), [[1, null]]);
    assert.throws(() => selectColumns(header, rows, ['nope']), /no column "nope"/);
  });

  it('encodes rows in each MLflow format', () => {
    const values = selectColumns(header, rows, features);
    assert.deepStrictEqual(encodeRows(features, values, 'inputs'), {
      inputs: [
        [5.1, 3.5, 1.4, 0.2],
        [6.2, null, 4.5, 1.5],
      ],
    });
    assert.deepStrictEqual(encodeRows(features, values, 'instances'), {
      instances: [
        [5.1, 3.5, 1.4, 0.2],
        [6.2, null, 4.5, 1.5],
      ],
    });
    assert.deepStrictEqual(encodeRows(features, values, 'dataframe_split'), {
      dataframe_split: {
        columns: features,
        data: [
          [5.1, 3.5, 1.4, 0.2],
          [6.2, null, 4.5, 1.5],
        ],
      },
    });
    assert.deepStrictEqual(encodeRows(features, values, 'dataframe_records'), {
      dataframe_records: [
        { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
        { sepal_length: 6.2, sepal_width: null, petal_length: 4.5, petal_width: 1.5 },
      ],
    });
  });

  it('preselects the model features, else the first n columns, else all', () => {
    assert.deepStrictEqual(defaultColumns(header, { featureNames: ['petal_length', 'sepal_length'] }), [
      'petal_length',
      'sepal_length',
    ]);
    assert.deepStrictEqual(defaultColumns(header, { featureNames: ['x'], nFeatures: 4 }), features);
    assert.deepStrictEqual(defaultColumns(header, { nFeatures: 9 }), header);
    assert.deepStrictEqual(defaultColumns(header, undefined), header);
  });

  it('builds an example payload and a summary from /info', () => {
    assert.strictEqual(examplePayload(undefined), null);
    assert.strictEqual(examplePayload({ nFeatures: null }), null);
    assert.deepStrictEqual(JSON.parse(examplePayload({ nFeatures: 3 })!), { inputs: [[0, 0, 0]] });
    assert.deepStrictEqual(JSON.parse(examplePayload({ featureNames: ['a', 'b'] })!), {
      dataframe_split: { columns: ['a', 'b'], data: [[0, 0]] },
    });
    const info: ModelServerInfo = {
      name: 'iris',
      version: 2,
      status: 'ready',
      modelType: 'sklearn.linear_model._logistic.LogisticRegression',
      nFeatures: 2,
      featureNames: ['a', 'b'],
    };
    assert.strictEqual(
      summarizeInfo(info),
      'iris:v2 · sklearn.linear_model._logistic.LogisticRegression · 2 features: a, b',
    );
    assert.strictEqual(
      summarizeInfo({ name: 'x', status: 'failed', error: 'EOFError: boom', loader: 'pickle' }),
      'x · failed: EOFError: boom · pickle · features not declared',
    );
  });

  it('prints JSON with each row on one line', () => {
    const body = encodeRows(
      ['a', 'b'],
      [
        [1, 'x, [y]'],
        [null, true],
      ],
      'dataframe_split',
    );
    assert.strictEqual(
      compactJson(body),
      '{\n  "dataframe_split": {\n    "columns": ["a", "b"],\n    "data": [\n      [1, "x, [y]"],\n      [null, true]\n    ]\n  }\n}'.replace(
        '[1, "x, [y]"]',
        '[\n        1,\n        "x, [y]"\n      ]',
      ),
    );
    assert.deepStrictEqual(JSON.parse(compactJson(body)), body);
    assert.strictEqual(compactJson({ inputs: [[1, 2], []] }), '{\n  "inputs": [\n    [1, 2],\n    []\n  ]\n}');
    assert.strictEqual(compactJson({ s: ['a,\n b'] }), '{\n  "s": ["a,\\n b"]\n}');
  });

  it('checks row ranges', () => {
    assert.deepStrictEqual(checkRange(1, 5, 100), { from: 1, to: 5 });
    assert.throws(() => checkRange(0, 5, 100), /first row 1/);
    assert.throws(() => checkRange(5, 4, 100), /range/);
    assert.throws(() => checkRange(1.5, 4, 100), /range/);
    assert.throws(() => checkRange(1, 101, 100), /At most 100 rows/);
  });
});

describe('prediction playground: targets', () => {
  it('offers the model-server services with their 127.0.0.1 port and model', () => {
    const other: Service = { ...service('web', 1, 8000), image: 'nginx:latest' };
    const noPort: Service = { ...service('iris-v1', 1, 0), ports: [] };
    const targets = modelTargets([service('iris-v3', 3, 49153), other, noPort]);
    assert.deepStrictEqual(
      targets.map((t) => [t.service, t.model, t.url, t.hostPort]),
      [
        ['iris-v1', 'iris:v1', null, null],
        ['iris-v3', 'iris:v3', 'http://127.0.0.1:49153', 49153],
      ],
    );
    const twoPorts: Service = {
      ...service('x', 1, 1),
      ports: [
        { hostIp: '127.0.0.1', hostPort: 5000, containerPort: 9000 },
        { hostIp: '127.0.0.1', hostPort: 5001, containerPort: 8080 },
      ],
    };
    assert.strictEqual(hostPortOf(twoPorts), 5001);
  });

  it('preselects the services of a model or version, healthy and newest first, two at most', () => {
    const services = [
      service('iris-v1', 1, 1),
      service('iris-v2', 2, 2, 'exited'),
      service('iris-v3', 3, 3),
      { ...service('wine-v1', 1, 4), env: { MODEL_NAME: 'wine', MODEL_VERSION: '1' } },
    ];
    assert.deepStrictEqual(servicesOfModel(services, 'iris'), ['iris-v3', 'iris-v1']);
    assert.deepStrictEqual(servicesOfModel(services, 'iris', 2), ['iris-v2']);
    assert.deepStrictEqual(servicesOfModel(services, 'nope'), []);
  });

  it('offers CSV files among dataset versions', () => {
    const base = { datasetId: 'd', projectId: 'p', sha256: '', fileCount: null, unpackedSize: null, sourcePath: '' };
    const v = (name: string, fileName: string, kind: 'file' | 'package', mediaType: string): DatasetVersion => ({
      ...base,
      id: name,
      name,
      version: 1,
      size: 2048,
      mediaType,
      kind,
      fileName,
      createdAt: '',
      operator: '',
      description: '',
      tags: [],
      path: '',
    });
    assert.deepStrictEqual(
      csvDatasets([
        v('iris', 'iris.csv', 'file', 'text/csv'),
        v('g', 'g.graphml', 'file', 'application/graphml+xml'),
        v('pkg', 'pkg.zip', 'package', 'application/zip'),
        v('t', 't.tsv', 'file', 'text/tab-separated-values'),
      ]),
      [
        { ref: 'iris:v1', label: 'iris:v1 · 2.0 KB' },
        { ref: 't:v1', label: 't:v1 · 2.0 KB' },
      ],
    );
  });

  it('reads error reasons and pretty-prints bodies', () => {
    assert.strictEqual(errorReason(400, '{"error": {"status": 400, "message": "bad rows"}}'), '400: bad rows');
    assert.strictEqual(errorReason(502, '<html>'), '502: Bad Gateway');
    assert.strictEqual(prettyBody('{"a":[1, 2]}'), '{\n  "a": [1, 2]\n}');
    assert.strictEqual(prettyBody('plain'), 'plain');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('prediction playground: HTTP to real servers on 127.0.0.1', function () {
  this.timeout(30000);
  let root: string;
  let cleanup: () => void;
  const servers: ChildProcess[] = [];

  /** Runs the model server with python3 on a free port and waits until it has loaded the model. */
  async function startModelServer(env: Record<string, string>): Promise<number> {
    const port = await freePort();
    const server = spawn('python3', [SERVER], { env: { ...process.env, PORT: String(port), ...env } });
    servers.push(server);
    let stderr = '';
    server.stderr!.on('data', (c: Buffer) => (stderr += String(c)));
    for (let i = 0; i < 400; i++) {
      const answer = await request({ port, method: 'GET', path: '/health', timeoutMs: 1000 });
      if (answer.status !== null && !answer.text.includes('loading')) {
        return port;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`the model server did not start: ${stderr}`);
  }

  before(() => {
    const t = tempHome();
    root = path.dirname(t.home);
    cleanup = t.cleanup;
    // a pickled estimator without scikit-learn: a plain class with predict and the feature attributes
    fs.writeFileSync(
      path.join(root, 'toymodel.py'),
      [
        'class Toy:',
        '    n_features_in_ = 3',
        '    feature_names_in_ = ["a", "b", "c"]',
        '    def __init__(self, weight):',
        '        self.weight = weight',
        '    def predict(self, rows):',
        '        return [self.weight * sum(r) for r in rows]',
        '',
      ].join('\n'),
    );
    for (const w of [1, 10]) {
      const made = spawnSync(
        'python3',
        ['-c', `import pickle, toymodel; pickle.dump(toymodel.Toy(${w}), open("toy${w}.pkl", "wb"))`],
        { cwd: root, encoding: 'utf8' },
      );
      assert.strictEqual(made.status, 0, made.stderr);
    }
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

  it('sends CSV rows in every format to the model server, and shows /info, a 400 with its reason, A/B', async () => {
    const env = (w: number) => ({ MODEL_PATH: path.join(root, `toy${w}.pkl`), PYTHONPATH: root, MODEL_NAME: 'toy' });
    const [portA, portB] = await Promise.all([
      startModelServer({ ...env(1), MODEL_VERSION: '1' }),
      startModelServer({ ...env(10), MODEL_VERSION: '2' }),
    ]);
    const a: ModelTarget = targetOf(service('toy-v1', 1, portA, 'healthy', 'toy'));
    const b: ModelTarget = targetOf(service('toy-v2', 2, portB, 'healthy', 'toy'));

    const info = await request({ port: portA, method: 'GET', path: '/info' });
    assert.strictEqual(info.status, 200);
    const parsed = JSON.parse(info.text) as ModelServerInfo;
    assert.match(summarizeInfo(parsed), /^toy:v1 · toymodel\.Toy · 3 features: a, b, c$/);
    const example = examplePayload(parsed)!;
    const exampleAnswer = await predict(a, '/predict', example);
    assert.deepStrictEqual([exampleAnswer.status, JSON.parse(exampleAnswer.body)], [200, { predictions: [0] }]);

    // rows of a CSV whose columns are in another order and include a label
    const csv = parseCsv('label,c,b,a\nx,3,2,1\ny,30,20,10\n');
    const columns = defaultColumns(csv[0], parsed);
    assert.deepStrictEqual(columns, ['a', 'b', 'c']);
    const values = selectColumns(csv[0], csv.slice(1), columns);
    for (const format of ['inputs', 'instances', 'dataframe_split', 'dataframe_records'] as const) {
      const body = JSON.stringify(encodeRows(columns, values, format));
      const result = await predict(a, '/invocations', body);
      assert.strictEqual(result.status, 200, `${format}: ${result.body}`);
      assert.ok(result.ok);
      assert.strictEqual(result.error, null);
      assert.deepStrictEqual(JSON.parse(result.body), { predictions: [6, 60] }, format);
      assert.ok(typeof result.latencyMs === 'number' && result.latencyMs >= 0);
      assert.strictEqual(result.body, '{\n  "predictions": [6, 60]\n}', 'pretty-printed, rows on one line');
    }
    // dataframe_split with the columns shuffled: the server reorders them by the model's feature names
    const shuffled = JSON.stringify(
      encodeRows(['c', 'a', 'b'], selectColumns(csv[0], csv.slice(1), ['c', 'a', 'b']), 'dataframe_split'),
    );
    assert.deepStrictEqual(JSON.parse((await predict(a, '/invocations', shuffled)).body), { predictions: [6, 60] });

    // the wrong shape: 400 with the server's reason
    const wrong = await predict(a, '/predict', JSON.stringify({ inputs: [[1, 2]] }));
    assert.strictEqual(wrong.status, 400);
    assert.strictEqual(wrong.ok, false);
    assert.match(wrong.error!, /^400: row 0 has 2 values, but the model expects 3 features per row$/);
    assert.match(wrong.body, /"message"/);

    // A/B: the same input to two versions at once
    const body = JSON.stringify(encodeRows(columns, values, 'inputs'));
    const [ra, rb] = await Promise.all([predict(a, '/predict', body), predict(b, '/predict', body)]);
    assert.deepStrictEqual([ra.service, ra.model, JSON.parse(ra.body)], ['toy-v1', 'toy:v1', { predictions: [6, 60] }]);
    assert.deepStrictEqual(
      [rb.service, rb.model, JSON.parse(rb.body)],
      ['toy-v2', 'toy:v2', { predictions: [60, 600] }],
    );
  });

  it('explains a service that is not listening, one that does not answer in time, and a model that failed to load', async () => {
    const closed = await freePort();
    const refused = await predict(targetOf(service('gone', 1, closed, 'exited')), '/predict', '{"inputs": [[1]]}');
    assert.strictEqual(refused.status, null);
    assert.strictEqual(refused.latencyMs, null);
    assert.strictEqual(
      refused.error,
      `the service is exited: nothing listens on 127.0.0.1:${closed}: is the service running?`,
    );

    const sockets = new Set<net.Socket>();
    const hang = http.createServer(() => undefined); // reads the request, never answers
    hang.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', r));
    try {
      const port = (hang.address() as net.AddressInfo).port;
      const slow = await predict(targetOf(service('slow', 1, port)), '/predict', '{"inputs": [[1]]}', 300);
      assert.strictEqual(slow.status, null);
      assert.strictEqual(slow.error, `no answer from 127.0.0.1:${port} within 0.3 s`);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => hang.close(r));
    }

    const broken = path.join(root, 'broken.pkl');
    fs.writeFileSync(broken, 'not a pickle');
    const port = await startModelServer({ MODEL_PATH: broken });
    const failed = await predict(targetOf(service('broken', 1, port, 'unhealthy')), '/predict', '{"inputs": [[1]]}');
    assert.strictEqual(failed.status, 503);
    assert.match(failed.error!, /^503: the model failed to load: /);
  });
});

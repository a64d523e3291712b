import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Dataset, DatasetVersion } from '../../src/protocol/datasets';
import { DIST, REPO, tempHome } from './helpers';
import { activeLabProject, cli, stopBackendOf } from './process-helpers';

describe('datasets from the terminal and from Node code (built CLI and client)', function () {
  this.timeout(60000);
  let home: string;
  let root: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ home, cleanup } = tempHome());
    root = path.dirname(home);
    fs.mkdirSync(path.join(root, 'data', 'nested'), { recursive: true });
    fs.writeFileSync(path.join(root, 'data', 'train.csv'), 'x,y\n1,2\n');
    fs.writeFileSync(path.join(root, 'data', 'nested', 'notes.txt'), 'hello');
    activeLabProject(home);
  });
  afterEach(async () => {
    await stopBackendOf(home);
    cleanup();
  });

  it('adds, lists, gets, exports and removes datasets with mllab dataset ... --json', () => {
    const file = cli([
      'dataset',
      'add',
      path.join(root, 'data', 'train.csv'),
      '--name',
      'train',
      '--tag',
      'raw',
      '--home',
      home,
      '--json',
    ]);
    assert.strictEqual(file.status, 0, file.stderr + file.stdout);
    assert.strictEqual(file.json<DatasetVersion>().version, 1);
    assert.deepStrictEqual(file.json<DatasetVersion>().tags, ['raw']);
    const folder = cli([
      'dataset',
      'add',
      path.join(root, 'data'),
      '--description',
      'all of it',
      '--home',
      home,
      '--json',
    ]);
    assert.strictEqual(folder.status, 0, folder.stderr);
    assert.strictEqual(folder.json<DatasetVersion>().kind, 'package');

    const list = cli(['dataset', 'list', '--home', home, '--json']).json<Dataset[]>();
    assert.deepStrictEqual(
      list.map((d) => `${d.name}:${d.versions.length}`),
      ['data:1', 'train:1'],
    );
    assert.match(cli(['dataset', 'list', '--home', home]).stdout, /^train\s+v1\s+8 B\s+file/m);

    const got = cli(['dataset', 'get', 'data:v1', '--home', home, '--json']).json<{ path: string }>();
    assert.strictEqual(fs.readFileSync(path.join(got.path, 'nested', 'notes.txt'), 'utf8'), 'hello');
    const exported = cli(['dataset', 'get', 'train', '--to', path.join(root, 'out'), '--home', home]);
    assert.strictEqual(exported.stdout.trim(), path.join(root, 'out', 'train.csv'));
    assert.strictEqual(fs.readFileSync(path.join(root, 'out', 'train.csv'), 'utf8'), 'x,y\n1,2\n');

    const refused = cli(['dataset', 'rm', 'train:v1', '--home', home]);
    assert.match(refused.stderr, /needs confirmation: add --yes/);
    assert.strictEqual(cli(['dataset', 'rm', 'train:v1', '--yes', '--home', home]).status, 0);
    const missing = cli(['dataset', 'get', 'train', '--home', home]);
    assert.strictEqual(missing.status, 1);
    assert.match(missing.stderr, /No dataset called "train"/);
  });

  it('the Node client finds the lab home from the working directory and loads datasets by name', () => {
    const script = `
      const mllab = require(${JSON.stringify(path.join(DIST, 'client.js'))});
      (async () => {
        const added = await mllab.addDataset('data', { name: 'bundle' });
        const folder = await mllab.dataset('bundle');
        const zip = await mllab.dataset('bundle:v1', { unpack: false });
        const list = await mllab.datasets();
        process.stdout.write(JSON.stringify({ version: added.version, folder, zip, names: list.map((d) => d.name) }));
      })().catch((e) => { process.stderr.write(e.message); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['-e', script], {
      cwd: path.join(root, 'data', 'nested'),
      encoding: 'utf8',
      env: { ...process.env, MLLAB_HOME: '' },
    });
    assert.strictEqual(r.status, 1, 'data/nested has no data folder: the relative path is refused');
    const ok = spawnSync(process.execPath, ['-e', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, MLLAB_HOME: '' },
    });
    assert.strictEqual(ok.status, 0, ok.stderr);
    const out = JSON.parse(ok.stdout) as { version: number; folder: string; zip: string; names: string[] };
    assert.strictEqual(out.version, 1);
    assert.strictEqual(fs.readFileSync(path.join(out.folder, 'train.csv'), 'utf8'), 'x,y\n1,2\n');
    assert.ok(out.zip.startsWith(path.join(home, 'blobs')));
    assert.deepStrictEqual(out.names, ['bundle']);
  });

  it('the Python client adds and loads datasets through the real backend', () => {
    const script = [
      'import json, mllab',
      'v = mllab.add_dataset("data", name="py-bundle", description="from python")',
      'folder = mllab.dataset("py-bundle")',
      'csv = mllab.dataset("py-bundle:v1", unpack=False)',
      'print(json.dumps({"version": v["version"], "operator": v["operator"], "folder": folder, "zip": csv,',
      '  "names": [d["name"] for d in mllab.datasets()]}))',
    ].join('\n');
    const r = spawnSync('python3', ['-c', script], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, MLLAB_HOME: home, PYTHONPATH: path.join(REPO, 'python') },
    });
    assert.strictEqual(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      version: number;
      operator: string;
      folder: string;
      zip: string;
      names: string[];
    };
    assert.strictEqual(out.version, 1);
    assert.ok(out.operator.length > 0);
    assert.strictEqual(out.folder, path.join(home, 'cache', 'datasets', path.basename(out.folder)));
    assert.strictEqual(fs.readFileSync(path.join(out.folder, 'nested', 'notes.txt'), 'utf8'), 'hello');
    assert.ok(out.zip.startsWith(path.join(home, 'blobs')));
    assert.deepStrictEqual(out.names, ['py-bundle']);
    // the CLI sees what Python added
    const list = cli(['dataset', 'list', '--home', home, '--json']).json<Dataset[]>();
    assert.strictEqual(list[0].versions[0].description, 'from python');
  });
});

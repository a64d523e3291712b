import * as assert from 'assert';
import { ChildProcess, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ApiClient } from '../../src/client/api-client';
import { localPath } from '../../src/client/datasets';
import { experiment } from '../../src/client/index';
import { homePaths } from '../../src/common/home';
import { REPO } from './helpers';
import { spawnBackend, waitForExit } from './process-helpers';

/** Everything under `root` (itself included) that gives any access to the group or to others. */
function sharedEntries(root: string): string[] {
  const found: string[] = [];
  const walk = (p: string) => {
    const s = fs.lstatSync(p);
    if (s.isSymbolicLink()) {
      return;
    }
    if ((s.mode & 0o077) !== 0 || (s.isDirectory() && (s.mode & 0o777) !== 0o700)) {
      found.push(`${path.relative(root, p) || '.'} ${(s.mode & 0o7777).toString(8)}`);
    }
    if (s.isDirectory()) {
      for (const name of fs.readdirSync(p)) {
        walk(path.join(p, name));
      }
    }
  };
  walk(root);
  return found;
}

function filesUnder(dir: string): string[] {
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.join(e.parentPath, e.name))
    : [];
}

async function until<T>(probe: () => T | undefined | false, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = probe();
    if (value) {
      return value;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Runs `fn` with the process umask set to `mask` (children spawned meanwhile inherit it). */
async function withUmask<T>(mask: number, fn: () => Promise<T> | T): Promise<T> {
  const old = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

const PYTHON_RUN = `
import mllab
with mllab.experiment("py-run", params={"lr": 0.1}) as exp:
    for s in range(3):
        exp.log_metric("loss", 1.0 / (s + 1), step=s)
print(mllab.dataset("pictures"))
`;

/** A lab home under a folder everyone may enter, so that only the home's own modes protect it. */
function openParent(): { root: string; home: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-private-'));
  fs.chmodSync(root, 0o755);
  return { root, home: path.join(root, '.mllab') };
}

for (const mask of [0o022, 0o000]) {
  describe(`private lab home (everything 0700 folders, no group/other bits), umask ${mask.toString(8).padStart(4, '0')}`, function () {
    let root: string;
    let home: string;
    let child: ChildProcess | undefined;
    let client: ApiClient | undefined;
    /** what the Node client's unpacking left shared, and its script's mode */
    let nodeUnpack: { shared: string[]; script: number } | undefined;

    before(async function () {
      if (process.platform === 'win32') {
        this.skip();
      }
      ({ root, home } = openParent());
      // a data file only its owner may read, and a folder of ordinary (0644) files
      const source = path.join(root, 'source');
      fs.mkdirSync(path.join(source, 'pictures', 'sub'), { recursive: true, mode: 0o755 });
      fs.chmodSync(path.join(source, 'pictures'), 0o755);
      fs.writeFileSync(path.join(source, 'secret.csv'), 'a,b\n1,2\n', { mode: 0o600 });
      fs.writeFileSync(path.join(source, 'pictures', 'one.txt'), 'one', { mode: 0o644 });
      fs.writeFileSync(path.join(source, 'pictures', 'sub', 'run.sh'), 'echo hi', { mode: 0o755 });
      fs.chmodSync(path.join(source, 'pictures', 'one.txt'), 0o644);
      fs.chmodSync(path.join(source, 'pictures', 'sub', 'run.sh'), 0o755);

      ({ child, client } = await withUmask(mask, () => spawnBackend(home)));
      await client.createProject('Lab');
      await client.addDataset({ path: path.join(source, 'secret.csv') });
      await client.addDataset({ path: path.join(source, 'pictures') });
      await withUmask(mask, async () => {
        // the Node client: a run, and a package unpacked into the cache
        await experiment('node-run', { home, params: { a: 1 } }, (exp) => {
          exp.logMetric('acc', 0.5, 0);
          exp.logMetric('acc', 0.7, 1);
        });
        const folder = await localPath(home, await client!.getDatasetVersion('pictures'), true);
        nodeUnpack = {
          shared: sharedEntries(homePaths(home).unpacked),
          script: fs.statSync(path.join(folder, 'sub', 'run.sh')).mode & 0o777,
        };
      });
      // the Python client, in its own process with the same umask
      fs.rmSync(homePaths(home).unpacked, { recursive: true, force: true });
      const py = spawnSync(
        'sh',
        ['-c', `umask ${mask.toString(8).padStart(4, '0')}; exec python3 -c '${PYTHON_RUN}'`],
        {
          env: { ...process.env, MLLAB_HOME: home, PYTHONPATH: path.join(REPO, 'python') },
          encoding: 'utf8',
          timeout: 60000,
        },
      );
      assert.strictEqual(py.status, 0, py.stderr);
      // both runs ingested: their metric points are written by the backend
      await until(
        () => fs.existsSync(path.join(home, 'metrics')) && filesUnder(path.join(home, 'metrics')).length >= 2,
        'metric files of both runs',
      );
    });

    after(async () => {
      if (child) {
        child.kill('SIGTERM');
        await waitForExit(child);
      }
      if (root) {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });

    it('leaves nothing the backend or the dataset caches wrote readable by others', () => {
      const runDirectory = /^runs\/[^/ ]+[/ ]/;
      assert.deepStrictEqual(
        sharedEntries(home).filter((e) => !runDirectory.test(e)),
        [],
      );
    });

    it('leaves no run directory (written by the Node and Python clients) readable by others', () => {
      assert.strictEqual(fs.readdirSync(path.join(home, 'runs')).length, 2);
      assert.deepStrictEqual(sharedEntries(path.join(home, 'runs')), []);
    });

    it('stores blobs read-only for their owner (0400), the token 0600', () => {
      const blobs = filesUnder(path.join(home, 'blobs'));
      assert.strictEqual(blobs.length, 2);
      for (const b of blobs) {
        assert.strictEqual(fs.statSync(b).mode & 0o777, 0o400, b);
      }
      assert.strictEqual(fs.statSync(homePaths(home).registration).mode & 0o777, 0o600);
    });

    it('unpacks packages privately in the Node client too (the walk above saw the Python client)', () => {
      assert.deepStrictEqual(nodeUnpack?.shared, []);
      assert.strictEqual(nodeUnpack.script & 0o177, 0o100, nodeUnpack.script.toString(8));
    });

    it('keeps the owner bits of unpacked files (a script stays executable for its owner)', () => {
      const unpacked = fs.readdirSync(homePaths(home).unpacked).filter((n) => /^[0-9a-f]{64}$/.test(n));
      assert.strictEqual(unpacked.length, 1);
      const script = path.join(homePaths(home).unpacked, unpacked[0], 'sub', 'run.sh');
      const mode = fs.statSync(script).mode;
      assert.strictEqual(mode & 0o177, 0o100, (mode & 0o777).toString(8));
    });

    it('refuses a second user the store, blobs, token, runs, metrics and log (EACCES)', function () {
      if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
        this.skip(); // only root can act as another user: this check runs when the tests run as root
      }
      const targets = [
        homePaths(home).registration,
        ...filesUnder(homePaths(home).db),
        ...filesUnder(path.join(home, 'blobs')),
        ...filesUnder(path.join(home, 'runs')),
        ...filesUnder(path.join(home, 'metrics')),
        homePaths(home).log,
      ];
      assert.ok(targets.length >= 8, targets.join('\n'));
      // the same files are readable by their owner, so the refusals below are about permissions
      for (const file of targets) {
        const owner = spawnSync('cat', [file], { encoding: 'utf8' });
        assert.strictEqual(owner.status, 0, `${file}: ${owner.stderr}`);
        const other = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', file], {
          encoding: 'utf8',
        });
        assert.notStrictEqual(other.status, 0, `${file} was readable by uid 65534`);
        assert.match(other.stderr, /Permission denied/, file);
      }
      // and the folders cannot be listed
      const list = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'ls', home], {
        encoding: 'utf8',
      });
      assert.notStrictEqual(list.status, 0);
      assert.match(list.stderr, /Permission denied/);
      // whereas the parent is open to everyone: it is the home's own mode that refuses
      const parent = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'ls', root], {
        encoding: 'utf8',
      });
      assert.strictEqual(parent.status, 0, parent.stderr);
    });
  });
}

describe('private lab home: a home made before (readable by others) is tightened at start', function () {
  it('makes the home, its folders and stored blobs private again, with a log line', async function () {
    if (process.platform === 'win32') {
      this.skip();
    }
    const { root, home } = openParent();
    try {
      let { child, client } = await spawnBackend(home);
      await client.createProject('Lab');
      const source = path.join(root, 'data.csv');
      fs.writeFileSync(source, 'x\n1\n');
      const version = await client.addDataset({ path: source });
      child.kill('SIGTERM');
      await waitForExit(child);
      // as an older version (or a person) left it
      for (const dir of [home, path.join(home, 'blobs'), path.join(home, 'db'), path.join(home, 'runs')]) {
        fs.chmodSync(dir, 0o755);
      }
      fs.chmodSync(version.path, 0o444);
      assert.notDeepStrictEqual(sharedEntries(home), []);

      ({ child, client } = await spawnBackend(home));
      assert.deepStrictEqual(sharedEntries(home), []);
      assert.strictEqual(fs.statSync(version.path).mode & 0o777, 0o400);
      const log = fs.readFileSync(homePaths(home).log, 'utf8');
      assert.match(
        log,
        new RegExp(`${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} was readable by others \\(mode 0755\\)`),
      );
      assert.match(log, /1 stored files were readable by others/);
      child.kill('SIGTERM');
      await waitForExit(child);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

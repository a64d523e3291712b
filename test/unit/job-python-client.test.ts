import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  CONTAINER_PYTHON,
  gatherJobBlobs,
  JOB_DATASETS_INDEX,
  pythonClientFolder,
  pythonClientMount,
} from '../../src/backend/jobs/run-directory';
import { tempHome } from './helpers';

/** What a job container gets besides its run directory: ML Lab's Python client and its datasets' index. */
describe('job containers: the Python client and the index of the datasets a job may read', () => {
  let home: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ home, cleanup } = tempHome());
    fs.mkdirSync(home, { recursive: true });
  });
  afterEach(() => cleanup());

  function blob(text: string, sha: string): string {
    const file = path.join(home, 'blobs', 'sha256', sha.slice(0, 2), sha.slice(2));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    return sha;
  }

  it('mounts the Python client read-only and puts it on PYTHONPATH after the definition’s own entries', () => {
    const folder = pythonClientFolder();
    assert.ok(folder && fs.existsSync(path.join(folder, 'mllab', '__init__.py')), String(folder));
    assert.deepStrictEqual(pythonClientMount({}), {
      mounts: [{ hostPath: folder, containerPath: CONTAINER_PYTHON, readOnly: true }],
      env: { PYTHONPATH: CONTAINER_PYTHON },
    });
    assert.deepStrictEqual(pythonClientMount({ PYTHONPATH: '/app/src' }).env, {
      PYTHONPATH: `/app/src:${CONTAINER_PYTHON}`,
    });
  });

  it('writes the index of the versions it gathered: all of the project, or those MLLAB_DATASETS names', () => {
    const a = blob('a', 'a'.repeat(64));
    const b = blob('b', 'b'.repeat(64));
    const c = blob('c', 'c'.repeat(64));
    const versions = [
      { name: 'sensors', version: 1, sha256: a, kind: 'file' as const },
      { name: 'sensors', version: 2, sha256: b, kind: 'file' as const },
      { name: 'images', version: 1, sha256: c, kind: 'package' as const },
    ];
    const read = (dir: string) =>
      (JSON.parse(fs.readFileSync(path.join(dir, JOB_DATASETS_INDEX), 'utf8')) as { versions: unknown[] }).versions;
    const all = gatherJobBlobs(home, 'run-1', versions, undefined);
    assert.deepStrictEqual(read(all.dir), versions);
    const some = gatherJobBlobs(home, 'run-2', versions, 'sensors, images:v1');
    assert.deepStrictEqual(read(some.dir), [versions[1], versions[2]]);
    assert.ok(!fs.existsSync(path.join(some.dir, 'sha256', 'aa')), 'version 1 of sensors is not given');
    assert.strictEqual(fs.readFileSync(path.join(some.dir, 'sha256', 'bb', 'b'.repeat(62)), 'utf8'), 'b');
  });
});

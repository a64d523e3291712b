import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Job, JobRun, Service } from '../../src/protocol/containers';
import { tempHome } from './helpers';
import { activeLabProject, cli, stopBackendOf } from './process-helpers';
import { BUSYBOX, removeContainersOf, requireDocker } from './docker-helpers';

describe('mllab job and mllab service (built CLI, real Docker)', function () {
  this.timeout(90000);
  let home: string;
  let cleanup: () => void;
  before(async function () {
    await requireDocker(this);
  });
  beforeEach(() => {
    ({ home, cleanup } = tempHome());
    activeLabProject(home);
  });
  afterEach(async () => {
    await stopBackendOf(home);
    await removeContainersOf(home);
    cleanup();
  });

  // --home first: everything after "--" belongs to the container's command
  const mllab = (...args: string[]) => cli(['--home', home, ...args]);

  it('creates and runs jobs; run --wait exits with the job exit code and prints its output', () => {
    let r = mllab(
      'job',
      'create',
      'three',
      '--image',
      BUSYBOX,
      '--env',
      'CODE=3',
      '--memory',
      '64m',
      '--',
      'sh',
      '-c',
      'echo code is $CODE; exit $CODE',
    );
    assert.strictEqual(r.status, 0, r.stderr);
    r = mllab('job', 'run', 'three', '--wait');
    assert.strictEqual(r.status, 3, r.stderr);
    assert.match(r.stdout, /code is 3/);
    assert.match(r.stdout, /failed, exit code 3/);

    r = mllab('job', 'create', 'ok', '--image', BUSYBOX, '--', 'echo', 'fine');
    assert.strictEqual(r.status, 0, r.stderr);
    r = mllab('job', 'run', 'ok', '--wait', '--json');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.json<JobRun>().state, 'succeeded');
    r = mllab('job', 'logs', 'ok');
    assert.strictEqual(r.stdout, 'fine\n');

    const list = mllab('job', 'list', '--json').json<Job[]>();
    assert.deepStrictEqual(
      list.map((j) => [j.name, j.lastRun?.state, j.memoryBytes]),
      [
        ['ok', 'succeeded', null],
        ['three', 'failed', 64 * 1024 * 1024],
      ],
    );
    const file = path.join(path.dirname(home), 'jobs.yaml');
    assert.strictEqual(mllab('job', 'export', '--to', file).status, 0);
    assert.match(fs.readFileSync(file, 'utf8'), /name: three/);
    r = mllab('job', 'rm', 'ok');
    assert.strictEqual(r.status, 0, r.stderr);
    r = mllab('job', 'import', file, '--json');
    assert.deepStrictEqual(r.json(), { created: ['ok'], updated: ['three'] });

    r = mllab('job', 'create', 'bad', '--image', BUSYBOX, '--env', 'NOPE', '--', 'true');
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /lacks "=": write it as KEY=VALUE/);
  });

  it('stops a running job', () => {
    assert.strictEqual(mllab('job', 'create', 'sleepy', '--image', BUSYBOX, '--', 'sleep', '300').status, 0);
    assert.strictEqual(mllab('job', 'run', 'sleepy').status, 0);
    const r = mllab('job', 'stop', 'sleepy', '--json');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.json<JobRun>().state, 'stopped');
  });

  it('deploys, lists, stops and removes a service', () => {
    let r = mllab(
      'service',
      'deploy',
      'echo',
      '--image',
      BUSYBOX,
      '--env',
      'A=1',
      '--',
      'sh',
      '-c',
      'echo serving; sleep 300',
    );
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /docker run -d --name echo -e A=1 mllab-test\/busybox:1 sh -c 'echo serving; sleep 300'/);
    const list = mllab('service', 'list', '--json').json<Service[]>();
    assert.deepStrictEqual(
      list.map((s) => [s.name, s.status]),
      [['echo', 'running']],
    );
    r = mllab('service', 'logs', 'echo');
    assert.strictEqual(r.stdout, 'serving\n');
    assert.strictEqual(mllab('service', 'stop', 'echo', '--json').json<Service>().status, 'stopped');
    assert.strictEqual(mllab('service', 'rm', 'echo').status, 0);
    assert.deepStrictEqual(mllab('service', 'list', '--json').json(), []);
  });
});

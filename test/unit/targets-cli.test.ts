import * as assert from 'assert';
import * as net from 'net';
import type { TargetStatus } from '../../src/protocol/targets';
import { requireDocker } from './docker-helpers';
import { tempHome } from './helpers';
import { activeLabProject, cli, stopBackendOf } from './process-helpers';

/** This machine's engine, added once more under another name: a target that answers. */
const ENGINE = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';

describe('mllab target and mllab project target (built CLI, real Docker)', function () {
  this.timeout(90000);
  let home: string;
  let cleanup: () => void;
  before(async function () {
    await requireDocker(this);
    ({ home, cleanup } = tempHome());
    activeLabProject(home);
  });
  after(async () => {
    await stopBackendOf(home);
    cleanup();
  });

  const mllab = (...args: string[]) => cli(['--home', home, ...args]);

  it('adds, lists, shows, makes the project default and removes a target', () => {
    let r = mllab('target', 'add', 'engine-2', '--docker-host', ENGINE);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Added the Docker Engine "engine-2" \(.+\): ready\.\nNODE +ROLE +STATE +CPUS +MEMORY/);
    r = mllab('target', 'list', '--json');
    const list = r.json<TargetStatus[]>();
    assert.deepStrictEqual(
      list.map((s) => [s.target.name, s.target.kind, s.available, s.nodes.length]),
      [
        ['local', 'docker', true, 1],
        ['engine-2', 'docker', true, 1],
      ],
    );
    r = mllab('target', 'show', 'engine-2');
    assert.match(r.stdout, /^engine-2: docker at .+, ready\n.*\n.+ manager +ready +\d+ +[\d.]+ [KMGT]?B/);
    r = mllab('project', 'target', 'engine-2');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(mllab('project', 'target').stdout.trim(), 'The project\'s jobs and services run on "engine-2".');
    r = mllab('target', 'rm', 'engine-2');
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(mllab('project', 'target').stdout.trim(), 'The project\'s jobs and services run on "local".');
  });

  it('says what is wrong: a host that does not answer, a missing --docker-host, an unknown target', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    let r = mllab('target', 'add', 'gone', '--docker-host', `tcp://127.0.0.1:${port}`);
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /The engine at tcp:\/\/127\.0\.0\.1:\d+ does not answer \(ECONNREFUSED/);
    r = mllab('target', 'add', 'gone');
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /needs --docker-host URL/);
    r = mllab('project', 'target', 'nope');
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /No target is called "nope"/);
    assert.deepStrictEqual(
      mllab('target', 'list', '--json')
        .json<TargetStatus[]>()
        .map((s) => s.target.name),
      ['local'],
    );
  });
});

import * as assert from 'assert';
import { createHmac } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { MemoryLogger } from '../../src/backend/log';
import { EventBus } from '../../src/backend/events';
import { ProjectRepository } from '../../src/backend/projects/repository';
import { dockerOptions } from '../../src/backend/runtime/docker-host';
import { knownHostKeys } from '../../src/backend/runtime/known-hosts';
import { Store } from '../../src/backend/store/database';
import { TargetRepository } from '../../src/backend/targets/repository';
import { TargetRuntimes } from '../../src/backend/targets/runtimes';
import type { BackendEvent } from '../../src/protocol/api';
import { makeCertificate } from './certificate';
import { errorOf, raw, startBackend, tempHome } from './helpers';
import { ServedLab } from './served-lab';

describe('targets: the store, the repository and where a project runs', () => {
  let home: string;
  let cleanup: () => void;
  let store: Store;
  let repo: TargetRepository;
  let projects: ProjectRepository;

  beforeEach(async () => {
    ({ home, cleanup } = tempHome());
    store = await Store.open(path.join(home, 'db'), new MemoryLogger());
    repo = new TargetRepository(store, () => new Date('2026-01-02T03:04:05Z'));
    projects = new ProjectRepository(store, new EventBus());
  });
  afterEach(() => {
    store.close();
    cleanup();
  });

  const swarm = {
    name: 'eu-swarm',
    kind: 'swarm',
    dockerHost: 'tcp://10.0.0.5:2376',
    tls: { caFile: '/etc/lab/ca.pem', certFile: '/etc/lab/cert.pem', keyFile: '/etc/lab/key.pem' },
    registry: 'registry.lan:5000/team',
  } as const;

  it('lists local first, stores a target with its TLS files and registry, and keeps it across a reopen', async () => {
    assert.deepStrictEqual(
      repo.list().map((t) => t.name),
      ['local'],
    );
    await repo.insert(swarm);
    await repo.insert({ name: 'box', kind: 'docker', dockerHost: 'ssh://me@box', tls: null, registry: null });
    store.close();
    store = await Store.open(path.join(home, 'db'), new MemoryLogger());
    repo = new TargetRepository(store);
    assert.deepStrictEqual(repo.list(), [
      { name: 'local', kind: 'docker', dockerHost: null, tls: null, registry: null, createdAt: '' },
      {
        name: 'box',
        kind: 'docker',
        dockerHost: 'ssh://me@box',
        tls: null,
        registry: null,
        createdAt: '2026-01-02T03:04:05.000Z',
      },
      { ...swarm, createdAt: '2026-01-02T03:04:05.000Z' },
    ]);
    assert.strictEqual(repo.get('EU-SWARM').name, 'eu-swarm');
  });

  it('refuses a bad name, "local", a duplicate (any case) and a missing host, storing nothing', async () => {
    await repo.insert(swarm);
    const refused = async (target: object, code: string, message: RegExp) =>
      assert.rejects(repo.insert({ ...swarm, ...target }), (e: { code: string; message: string }) => {
        assert.strictEqual(e.code, code);
        assert.match(e.message, message);
        return true;
      });
    await refused({ name: 'a b' }, 'invalid_name', /letters, digits/);
    await refused({ name: '../x' }, 'invalid_name', /not allowed/);
    await refused({ name: 'Local' }, 'invalid_name', /lab machine's own Docker Engine/);
    await refused({ name: 'EU-swarm' }, 'target_exists', /exists already: remove it first/);
    await refused({ name: 'other', dockerHost: '' }, 'docker_host_missing', /--docker-host/);
    assert.deepStrictEqual(
      repo.list().map((t) => t.name),
      ['local', 'eu-swarm'],
    );
    assert.throws(() => repo.get('nope'), /No target is called "nope": list them with "mllab target list"/);
  });

  it('resolves a target: the override, else the project default, else local', async () => {
    await repo.insert(swarm);
    await repo.insert({ name: 'box', kind: 'docker', dockerHost: 'tcp://127.0.0.1:2375', tls: null, registry: null });
    const { project: p } = await projects.create('churn');
    const runtimes = new TargetRuntimes({ repo });
    assert.strictEqual(runtimes.resolveTarget(p.id).name, 'local');
    await repo.setProjectTarget(p.id, 'eu-swarm');
    assert.strictEqual(runtimes.resolveTarget(p.id).name, 'eu-swarm');
    assert.strictEqual(runtimes.resolveTarget(p.id, 'BOX').name, 'box');
    assert.strictEqual(runtimes.resolveTarget(p.id, null).name, 'eu-swarm');
    assert.throws(() => runtimes.resolveTarget(p.id, 'gone'), /No target is called "gone"/);
    // one engine per target, kept until it is forgotten
    const box = runtimes.engine('box');
    assert.strictEqual(runtimes.engine('Box'), box);
    assert.strictEqual(runtimes.resolve(p.id, 'box'), box);
    runtimes.forget('box');
    assert.notStrictEqual(runtimes.engine('box'), box);
    await repo.setProjectTarget(p.id, 'local');
    assert.strictEqual(repo.projectTarget(p.id), 'local');
    assert.deepStrictEqual(repo.projectsDefaultingTo('eu-swarm'), []);
  });

  it('refuses to remove a target in use, saying by what; removing it resets the projects that defaulted to it', async () => {
    await repo.insert(swarm);
    const { project: p } = await projects.create('churn');
    await repo.setProjectTarget(p.id, 'eu-swarm');
    const runtimes = new TargetRuntimes({ repo });
    const using: string[] = ['job train (project churn)'];
    runtimes.addUsers((name) => (name === 'eu-swarm' ? using : []));
    runtimes.addUsers(() => []);
    await assert.rejects(
      repo.remove('eu-swarm', () => runtimes.usersOf('eu-swarm')),
      (e: Error & { code: string }) => {
        assert.strictEqual(e.code, 'target_in_use');
        assert.match(e.message, /in use by job train \(project churn\): remove those or move them/);
        return true;
      },
    );
    assert.strictEqual(repo.projectTarget(p.id), 'eu-swarm');
    using.length = 0;
    await repo.remove('EU-SWARM', () => runtimes.usersOf('eu-swarm'));
    assert.strictEqual(repo.projectTarget(p.id), 'local');
    assert.deepStrictEqual(
      repo.list().map((t) => t.name),
      ['local'],
    );
    await assert.rejects(repo.remove('local'), /cannot be removed/);
  });
});

describe('targets: a Docker host with TLS files', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => {
    const t = tempHome();
    cleanup = t.cleanup;
    dir = path.dirname(t.home);
    fs.mkdirSync(dir, { recursive: true });
    makeCertificate(dir, 'client');
  });
  after(() => cleanup());

  it('speaks TLS with the files read, whatever the port', () => {
    const options = dockerOptions('tcp://10.0.0.5:2375', {
      caFile: path.join(dir, 'client.crt'),
      certFile: path.join(dir, 'client.crt'),
      keyFile: path.join(dir, 'client.key'),
    });
    assert.strictEqual(options.protocol, 'https');
    assert.strictEqual(options.port, 2375);
    assert.deepStrictEqual(options.ca, fs.readFileSync(path.join(dir, 'client.crt')));
    assert.deepStrictEqual(options.key, fs.readFileSync(path.join(dir, 'client.key')));
    // without files nothing changes
    assert.deepStrictEqual(dockerOptions('tcp://10.0.0.5:2375', null), {
      host: '10.0.0.5',
      port: 2375,
      protocol: 'http',
    });
  });

  it('names an unreadable file, a certificate without its key, and TLS files for an ssh host', () => {
    const crt = path.join(dir, 'client.crt');
    assert.throws(
      () => dockerOptions('tcp://h:2376', { caFile: path.join(dir, 'nope.pem'), certFile: null, keyFile: null }),
      /The TLS CA file ".*nope\.pem" cannot be read \(ENOENT\)/,
    );
    assert.throws(
      () => dockerOptions('tcp://h:2376', { caFile: crt, certFile: crt, keyFile: null }),
      /needs its key and the key its certificate/,
    );
    assert.throws(
      () => dockerOptions('ssh://me@h', { caFile: crt, certFile: null, keyFile: null }),
      /not a tcp:\/\/ host: give TLS files only with tcp:\/\/HOST:2376/,
    );
  });
});

describe('targets: the routes without an engine', () => {
  it('refuses bad input before asking any engine, and publishes targetsChanged only for a change', async () => {
    const { home, cleanup } = tempHome();
    const backend = await startBackend(home);
    const seen: BackendEvent['type'][] = [];
    const sub = backend.events.subscribe((e) => seen.push(e.type));
    try {
      const post = (body: object) => raw(backend.port, 'POST', '/api/targets', { body: JSON.stringify(body) });
      const cases: Array<[object, string, RegExp]> = [
        [{ name: 'local', dockerHost: 'tcp://127.0.0.1:2375' }, 'invalid_name', /own Docker Engine/],
        [{ name: 'a/b', dockerHost: 'tcp://127.0.0.1:2375' }, 'invalid_name', /not allowed/],
        [{ name: 'x', dockerHost: 'ftp://h' }, 'invalid_docker_host', /not understood/],
        [{ name: 'x', dockerHost: 'tcp://h:2376', registry: 'https://reg:5000' }, 'invalid_registry', /HOST:PORT/],
        [
          { name: 'x', dockerHost: 'tcp://h:2376', tls: { caFile: '/nonexistent/ca.pem' } },
          'tls_file_unreadable',
          /cannot be read/,
        ],
      ];
      for (const [body, code, message] of cases) {
        const res = await post(body);
        assert.strictEqual(res.status, 400, res.text);
        assert.strictEqual(errorOf(res).code, code);
        assert.match(errorOf(res).message, message);
      }
      const schema = await post({ name: 'x' });
      assert.strictEqual(schema.status, 400);
      const list = (await raw(backend.port, 'GET', '/api/targets')).json() as Array<{ target: { name: string } }>;
      assert.deepStrictEqual(
        list.map((t) => t.target.name),
        ['local'],
      );
      assert.strictEqual((await raw(backend.port, 'GET', '/api/targets/nope')).status, 404);
      assert.strictEqual((await raw(backend.port, 'DELETE', '/api/targets/local')).status, 400);
      const project = (
        await raw(backend.port, 'POST', '/api/projects', { body: JSON.stringify({ name: 'p' }) })
      ).json() as { id: string };
      const unknown = await raw(backend.port, 'PUT', `/api/projects/${project.id}/target`, {
        body: JSON.stringify({ target: 'nope' }),
      });
      assert.strictEqual(unknown.status, 404);
      assert.ok(!seen.includes('targetsChanged'));
      const local = await raw(backend.port, 'PUT', `/api/projects/p/target`, {
        body: JSON.stringify({ target: 'local' }),
      });
      assert.deepStrictEqual(local.json(), { projectId: project.id, target: 'local' });
      assert.ok(seen.includes('targetsChanged'));
    } finally {
      sub();
      await backend.stop('test over');
      cleanup();
    }
  });

  it('lets only an admin of a served lab add or remove a target; a member reads them', async () => {
    const lab = await ServedLab.start();
    try {
      const member = await lab.userToken('mia', 'member');
      const add = await lab.request('POST', '/api/targets', member, {
        body: { name: 'box', dockerHost: 'tcp://127.0.0.1:2375' },
      });
      assert.strictEqual(add.status, 403);
      assert.strictEqual(errorOf(add).code, 'admin_only');
      assert.match(errorOf(add).message, /Adding a target needs the lab's admin role \(you are a member, "mia"\)/);
      const rm = await lab.request('DELETE', '/api/targets/box', member);
      assert.strictEqual(rm.status, 403);
      const list = await lab.request('GET', '/api/targets', member);
      assert.strictEqual(list.status, 200);
    } finally {
      await lab.stop();
    }
  });
});

describe('targets: the known hosts of ssh:// engines', () => {
  it('finds a host by name, by [host]:port and by hashed name, never a revoked key', () => {
    const { home, cleanup } = tempHome();
    try {
      fs.mkdirSync(home, { recursive: true });
      const file = path.join(home, 'known_hosts');
      const salt = Buffer.from('0123456789abcdef0123');
      const hashed = (name: string) =>
        `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
      fs.writeFileSync(
        file,
        [
          '# a comment',
          'box,10.0.0.5 ssh-ed25519 AAAAplain',
          '[box]:2222 ssh-ed25519 AAAAport',
          `${hashed('hidden')} ssh-ed25519 AAAAhashed`,
          '@revoked box ssh-ed25519 AAAAgone',
          'box ssh-ed25519 AAAAgone',
          'other ssh-ed25519 AAAAother',
        ].join('\n'),
      );
      assert.deepStrictEqual(knownHostKeys('box', 22, [file]), {
        keys: ['AAAAplain', 'AAAAgone'],
        revoked: ['AAAAgone'],
      });
      assert.deepStrictEqual(knownHostKeys('10.0.0.5', 22, [file]).keys, ['AAAAplain']);
      assert.deepStrictEqual(knownHostKeys('box', 2222, [file]).keys, ['AAAAport']);
      assert.deepStrictEqual(knownHostKeys('hidden', 22, [file]).keys, ['AAAAhashed']);
      assert.deepStrictEqual(knownHostKeys('nowhere', 22, [file, path.join(home, 'missing')]).keys, []);
    } finally {
      cleanup();
    }
  });
});

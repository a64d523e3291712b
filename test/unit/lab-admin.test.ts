import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BackendError } from '../../src/client/api-client';
import type { BackendEvent, Project } from '../../src/protocol/api';
import type { OrphanContainer } from '../../src/protocol/containers';
import type { User } from '../../src/protocol/users';
import { BUSYBOX, requireDocker } from './docker-helpers';
import { errorOf, TEST_TOKEN } from './helpers';
import { cliAsync } from './process-helpers';
import { followEvents, ServedLab, type FollowedEvents } from './served-lab';

type AuditLine = { who: string | null; method: string; path: string; status: number; from: string };

function auditOf(home: string): AuditLine[] {
  return fs
    .readFileSync(path.join(home, 'logs', 'audit.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditLine);
}

describe("a lab's roles: admins change them, keep one admin, and alone see the orphan containers", function () {
  this.timeout(60000);
  let lab: ServedLab;
  const tokens: Record<string, string> = {};

  before(async () => {
    lab = await ServedLab.start();
    for (const [name, role] of [
      ['ada', 'admin'],
      ['max', 'member'],
      ['ann', 'viewer'],
    ] as const) {
      tokens[name] = await lab.userToken(name, role);
    }
  });
  after(() => lab.stop());

  const roleOf = async (token: string) => (await lab.client(token).whoami()).role;

  it("changes a user's role with PUT /api/users/:name/role; their tokens follow at once; audited", async () => {
    assert.strictEqual(await roleOf(tokens.max), 'member');
    const res = await lab.request('PUT', '/api/users/max/role', tokens.ada, { body: { role: 'admin' } });
    assert.strictEqual(res.status, 200, res.text);
    assert.deepStrictEqual([(res.json() as User).name, (res.json() as User).role], ['max', 'admin']);
    assert.strictEqual(await roleOf(tokens.max), 'admin', "max's existing token speaks for an admin now");
    assert.strictEqual((await lab.request('GET', '/api/users', tokens.max)).status, 200);
    // back to a viewer: a viewer's reads only, with the same token
    assert.strictEqual(
      (await lab.request('PUT', '/api/users/MAX/role', tokens.ada, { body: { role: 'viewer' } })).status,
      200,
    );
    assert.strictEqual(await roleOf(tokens.max), 'viewer');
    const write = await lab.request('POST', '/api/projects', tokens.max, { body: { name: 'nope' } });
    assert.strictEqual(write.status, 403, write.text);
    const listed = (await lab.request('GET', '/api/users', TEST_TOKEN)).json() as User[];
    assert.strictEqual(listed.find((u) => u.name === 'max')?.role, 'viewer', 'the list shows the new role');
    const audited = auditOf(lab.home).filter(
      (l) => l.method === 'PUT' && l.path.toLowerCase() === '/api/users/max/role',
    );
    assert.deepStrictEqual(
      audited.map((l) => [l.who, l.status, l.from]),
      [
        ['ada', 200, '127.0.0.1'],
        ['ada', 200, '127.0.0.1'],
      ],
    );
  });

  it('refuses a change by a member, an unknown user or role, and keeps the last admin (409 saying what to do)', async () => {
    const byMember = await lab.request('PUT', '/api/users/ann/role', tokens.max, { body: { role: 'admin' } });
    assert.strictEqual(byMember.status, 403, byMember.text);
    assert.match(errorOf(byMember).message, /needs the admin role/);
    const unknown = await lab.request('PUT', '/api/users/nobody/role', tokens.ada, { body: { role: 'member' } });
    assert.strictEqual(unknown.status, 404);
    assert.match(errorOf(unknown).message, /No user "nobody".*mllab user list/);
    const badRole = await lab.request('PUT', '/api/users/ann/role', tokens.ada, { body: { role: 'boss' } });
    assert.strictEqual(badRole.status, 400, badRole.text);
    // ada is the only admin user left: neither demoted nor removed, whoever asks
    for (const [method, url, body] of [
      ['PUT', '/api/users/ada/role', { role: 'member' }],
      ['DELETE', '/api/users/ada', undefined],
    ] as const) {
      const last = await lab.request(method, url, TEST_TOKEN, { body });
      assert.strictEqual(last.status, 409, last.text);
      assert.strictEqual(errorOf(last).code, 'last_admin');
      assert.match(
        errorOf(last).message,
        /"ada" is the last admin of the lab: make another user an admin first \("mllab user role NAME admin"\)/,
      );
    }
    assert.strictEqual(await roleOf(tokens.ada), 'admin', 'nothing was changed');
    // with a second admin, the first may step down
    assert.strictEqual(
      (await lab.request('PUT', '/api/users/ann/role', tokens.ada, { body: { role: 'admin' } })).status,
      200,
    );
    assert.strictEqual(
      (await lab.request('PUT', '/api/users/ada/role', tokens.ann, { body: { role: 'member' } })).status,
      200,
    );
    assert.strictEqual(await roleOf(tokens.ada), 'member');
    assert.strictEqual(
      (await lab.request('PUT', '/api/users/ada/role', tokens.ann, { body: { role: 'admin' } })).status,
      200,
    );
    assert.strictEqual(
      (await lab.request('PUT', '/api/users/ann/role', tokens.ada, { body: { role: 'viewer' } })).status,
      200,
    );
  });

  it('changes a role with "mllab user role NAME ROLE" and says what is wrong with a bad one', async () => {
    const env = { MLLAB_URL: lab.url, MLLAB_TOKEN: tokens.ada, MLLAB_CA_FILE: lab.caFile };
    const done = await cliAsync(['user', 'role', 'ann', 'member'], { env });
    assert.strictEqual(done.status, 0, done.stderr);
    assert.match(done.stdout, /"ann" is now a member of the lab\./);
    assert.strictEqual(await roleOf(tokens.ann), 'member');
    const json = await cliAsync(['user', 'role', 'ann', 'viewer', '--json'], { env });
    assert.strictEqual(json.status, 0, json.stderr);
    assert.strictEqual((JSON.parse(json.stdout) as User).role, 'viewer');
    const bad = await cliAsync(['user', 'role', 'ann', 'boss'], { env });
    assert.notStrictEqual(bad.status, 0);
    assert.match(bad.stderr, /takes viewer, member, admin as ROLE, not "boss"/);
    const missing = await cliAsync(['user', 'role', 'ann'], { env });
    assert.notStrictEqual(missing.status, 0);
    assert.match(missing.stderr, /mllab user role NAME admin\|member\|viewer/);
    const last = await cliAsync(['user', 'role', 'ada', 'member'], { env });
    assert.notStrictEqual(last.status, 0);
    assert.match(last.stderr, /last admin of the lab/);
  });

  it('lets only admins list and remove the containers no project owns (members get 403)', async function () {
    await requireDocker(this);
    // a container of this lab home whose service the store does not know: left by a deleted project
    const id = execFileSync(
      'docker',
      ['create', '--network', 'none', '--label', `dev.mllab.home=${lab.home}`].concat([
        '--label',
        'dev.mllab.kind=service',
        '--label',
        'dev.mllab.id=gone',
        BUSYBOX,
        'sleep',
        '300',
      ]),
      { encoding: 'utf8' },
    ).trim();
    const member = await lab.userToken('mo', 'member');
    try {
      const docker = lab.client(tokens.ada);
      for (let i = 0; i < 200 && !(await docker.dockerStatus()).available; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const method of ['GET', 'DELETE']) {
        const refused = await lab.request(method, '/api/containers/orphans', member);
        assert.strictEqual(refused.status, 403, `${method}: ${refused.text}`);
        assert.match(errorOf(refused).message, /needs the admin role; you are a member \("mo"\)/);
      }
      await assert.rejects(lab.client(member).orphanContainers(), (e: BackendError) => e.status === 403);
      const listed = (await lab.request('GET', '/api/containers/orphans', tokens.ada)).json() as OrphanContainer[];
      assert.deepStrictEqual(
        listed.map((o) => [o.id, o.kind]),
        [[id, 'service']],
        'the member removed nothing; the admin sees it',
      );
      assert.deepStrictEqual(await docker.removeOrphanContainers(), { removed: 1 });
      assert.deepStrictEqual(await docker.orphanContainers(), []);
    } finally {
      execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
    }
  });

  it("narrows an open event stream as soon as its user's role drops, without reconnecting", async () => {
    assert.strictEqual(
      (await lab.request('PUT', '/api/users/ann/role', TEST_TOKEN, { body: { role: 'admin' } })).status,
      200,
    );
    const followed = followEvents(lab.client(tokens.ada));
    try {
      await followed.next((e): e is Extract<BackendEvent, { type: 'hello' }> => e.type === 'hello', 'hello');
      assert.strictEqual(
        (await lab.request('PUT', '/api/users/ada/role', TEST_TOKEN, { body: { role: 'member' } })).status,
        200,
      );
      const hidden = (
        await lab.request('POST', '/api/projects', TEST_TOKEN, { body: { name: 'not-adas' } })
      ).json() as Project;
      const mine = (
        await lab.request('POST', '/api/projects', tokens.ada, { body: { name: 'adas' } })
      ).json() as Project;
      // events come in order: once her own project's is there, the other one's would have come first
      // (the event of its creation comes before she is its owner; the one of her membership after)
      type ProjectEvent = Extract<BackendEvent, { type: 'projectCreated' | 'projectUpdated' }>;
      await followed.next(
        (e): e is ProjectEvent =>
          (e.type === 'projectCreated' || e.type === 'projectUpdated') && e.project.id === mine.id,
        "ada's own project",
      );
      assert.ok(
        !followed.events.some((e) => e.type === 'projectCreated' && e.project.id === hidden.id),
        'a member no longer sees the projects she is not in',
      );
    } finally {
      followed.close();
    }
  });
});

describe('a deleted project leaves every event stream of a lab served to a team', function () {
  this.timeout(60000);
  let lab: ServedLab;
  const streams: FollowedEvents[] = [];

  before(async () => {
    lab = await ServedLab.start();
  });
  after(async () => {
    streams.forEach((s) => s.close());
    await lab.stop();
  });

  it('sends projectDeleted to its owner, its editor and viewer, an admin, and a user who never saw it', async () => {
    const tokens: Record<string, string> = {};
    for (const [name, role] of [
      ['alice', 'member'],
      ['bob', 'member'],
      ['carol', 'viewer'],
      ['dave', 'member'],
      ['ada', 'admin'],
    ] as const) {
      tokens[name] = await lab.userToken(name, role);
    }
    const alice = lab.client(tokens.alice);
    const project: Project = await alice.createProject('doomed');
    await alice.setMember(project.id, 'bob', 'editor');
    await alice.setMember(project.id, 'carol', 'viewer');
    const followers = Object.fromEntries(
      Object.entries(tokens).map(([name, token]) => {
        const followed = followEvents(lab.client(token));
        streams.push(followed);
        return [name, followed];
      }),
    );
    const isHello = (e: BackendEvent): e is Extract<BackendEvent, { type: 'hello' }> => e.type === 'hello';
    await Promise.all(Object.values(followers).map((f) => f.next(isHello, 'hello')));
    // bob's view lists the project until it goes
    const seenByBob = (await lab.client(tokens.bob).listProjects()).map((p) => p.id);
    assert.ok(seenByBob.includes(project.id));
    await alice.deleteProject(project.id);
    const isDeleted = (e: BackendEvent): e is Extract<BackendEvent, { type: 'projectDeleted' }> =>
      e.type === 'projectDeleted' && e.projectId === project.id;
    for (const [name, followed] of Object.entries(followers)) {
      const event = await followed.next(isDeleted, `projectDeleted reaches ${name}`);
      assert.deepStrictEqual(event, { type: 'projectDeleted', projectId: project.id }, name);
    }
    assert.deepStrictEqual(await lab.client(tokens.bob).listProjects(), [], 'and it is gone from his list');
  });
});

import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ExperimentList } from '../../src/protocol/experiment-list';
import type { MetricSeries } from '../../src/protocol/experiments';
import type { EventsAnswer, UploadedFile, UploadState } from '../../src/protocol/routes/run-upload';
import type { Role } from '../../src/protocol/users';
import type { Backend } from '../../src/backend/app';
import { HEARTBEAT_TIMEOUT_ENV } from '../../src/backend/experiments/upload/heartbeat';
import { errorOf, raw, startBackend, tempHome, type RawResponse } from './helpers';
import { ServedLab } from './served-lab';

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const metricLine = (key: string, v: number, s: number) =>
  JSON.stringify({ k: 'm', key, v, s, t: 1767225600000 + s }) + '\n';

function manifest(id: string, status = 'running'): Record<string, unknown> {
  return {
    format: 1,
    id,
    name: `uploaded ${id}`,
    project: null,
    status,
    startedAt: '2026-01-02T03:04:05.000Z',
    endedAt: status === 'running' ? null : '2026-01-02T03:05:05.000Z',
    exitCode: status === 'running' ? null : 0,
    pid: 4194303,
    operator: 'max',
    command: ['python', 'train.py'],
    cwd: '/work',
    script: null,
    host: { hostname: 'far-away-node', os: 'linux', cpus: 2, memoryBytes: 1 },
    runtime: { python: '3.11.2' },
    packages: null,
    git: null,
    params: { lr: 0.1 },
    tags: {},
  };
}

describe('runs sent over the network: manifest, events by byte offset, files by sha256', function () {
  this.timeout(60000);
  let lab: ServedLab;
  let home: string;
  let ca: Buffer;
  let port: number;
  let member: string;
  let viewer: string;

  const send = (
    method: string,
    url: string,
    token: string,
    body?: string | Buffer,
    type = 'application/octet-stream',
  ) => raw(port, method, url, { token, ca, body, headers: body === undefined ? {} : { 'content-type': type } });
  const events = (id: string, offset: number, body: string, token = member) =>
    send('POST', `/api/runs/${id}/events?offset=${offset}`, token, body, 'application/x-ndjson');
  const sizeOf = (res: RawResponse) => (res.json() as EventsAnswer).size;
  const eventsFile = (id: string) => path.join(home, 'runs', id, 'events.jsonl');

  const tokenFor = (name: string, role: Role): Promise<string> => lab.userToken(name, role);

  before(async () => {
    lab = await ServedLab.start();
    ({ home, ca, port } = lab);
    member = await tokenFor('max', 'member');
    viewer = await tokenFor('ann', 'viewer');
    const project = await raw(port, 'POST', '/api/projects', { ca, body: JSON.stringify({ name: 'Remote' }) });
    assert.strictEqual(project.status, 201, project.text);
    const projectId = (project.json() as { id: string }).id;
    const active = await raw(port, 'PUT', '/api/active-project', { ca, body: JSON.stringify({ projectId }) });
    assert.strictEqual(active.status, 200, active.text);
    // a project made by the lab's owner has no members: max sends runs to it as its editor, ann reads them
    for (const [user, role] of [
      ['max', 'editor'],
      ['ann', 'viewer'],
    ]) {
      const res = await raw(port, 'PUT', `/api/projects/${projectId}/members/${user}`, {
        ca,
        body: JSON.stringify({ role }),
      });
      assert.strictEqual(res.status, 200, res.text);
    }
  });
  after(() => lab.stop());

  it('appends events at the offset the lab holds; an exact or overlapping retry stores no line twice', async () => {
    const id = '20260102-030405-a1a1a1';
    const first = metricLine('loss', 1, 0) + metricLine('loss', 0.5, 1);
    const second = metricLine('loss', 0.25, 2);
    let res = await events(id, 0, first);
    assert.strictEqual(res.status, 200, res.text);
    assert.strictEqual(sizeOf(res), Buffer.byteLength(first));

    res = await events(id, 0, first); // the answer was lost: the same request again
    assert.strictEqual(res.status, 200, res.text);
    assert.strictEqual(sizeOf(res), Buffer.byteLength(first));
    assert.strictEqual(fs.readFileSync(eventsFile(id), 'utf8'), first, 'the exact retry appended nothing');

    res = await events(id, 0, first + second); // a retry that also carries new lines: only those go in
    assert.strictEqual(res.status, 200, res.text);
    assert.strictEqual(sizeOf(res), Buffer.byteLength(first + second));
    assert.strictEqual(fs.readFileSync(eventsFile(id), 'utf8'), first + second);

    const overlapping = metricLine('loss', 0.5, 1) + second;
    res = await events(id, Buffer.byteLength(metricLine('loss', 1, 0)), overlapping);
    assert.strictEqual(res.status, 200, 'an overlap that is all stored is an answered retry');
    assert.strictEqual(fs.readFileSync(eventsFile(id), 'utf8'), first + second);

    const state = (await send('GET', `/api/runs/${id}/upload-state`, viewer)).json() as UploadState;
    assert.strictEqual(state.eventsSize, Buffer.byteLength(first + second));
    assert.strictEqual(state.manifestSha256, null);
  });

  it('refuses a gap with 409 and the size to go on from, and bytes that differ from those stored', async () => {
    const id = '20260102-030405-b2b2b2';
    const line = metricLine('acc', 0.1, 0);
    assert.strictEqual((await events(id, 0, line)).status, 200);
    const gap = await events(id, Buffer.byteLength(line) + 10, metricLine('acc', 0.2, 1));
    assert.strictEqual(gap.status, 409, gap.text);
    assert.strictEqual(sizeOf(gap), Buffer.byteLength(line));
    assert.strictEqual(errorOf(gap).code, 'offset_ahead');
    assert.match(errorOf(gap).message, new RegExp(`send the events again from byte ${Buffer.byteLength(line)}`));

    const unknown = await events('20260102-030405-b2b2b3', 100, line);
    assert.strictEqual(unknown.status, 409, 'a run the lab does not hold starts at 0');
    assert.strictEqual(sizeOf(unknown), 0);
    assert.ok(!fs.existsSync(path.join(home, 'runs', '20260102-030405-b2b2b3')));

    const differ = await events(id, 0, metricLine('acc', 0.9, 0));
    assert.strictEqual(differ.status, 409);
    assert.strictEqual(errorOf(differ).code, 'events_differ');
    const partial = await events(id, Buffer.byteLength(line), '{"k":"m","key":"acc"');
    assert.strictEqual(partial.status, 400);
    assert.match(errorOf(partial).message, /whole lines/);
    assert.strictEqual(fs.readFileSync(eventsFile(id), 'utf8'), line, 'nothing refused was stored');
  });

  it('stores a file only when its sha256 matches, and answers one already stored without its body', async () => {
    const id = '20260102-030405-c3c3c3';
    const content = Buffer.from('weights '.repeat(10000));
    const url = `/api/runs/${id}/files/artifacts/nested/model.bin`;
    const wrong = await send('PUT', `${url}?sha256=${sha256('other')}`, member, content);
    assert.strictEqual(wrong.status, 400, wrong.text);
    assert.match(errorOf(wrong).message, /nothing was stored/);
    assert.ok(!fs.existsSync(path.join(home, 'runs', id)), 'not even the run directory was made');
    assert.deepStrictEqual(fs.readdirSync(path.join(home, 'tmp')), [], 'no temp file left');

    const missing = await send('GET', `${url}?sha256=${sha256(content)}`, viewer);
    assert.strictEqual(missing.status, 404);
    const put = await send('PUT', `${url}?sha256=${sha256(content)}`, member, content);
    assert.strictEqual(put.status, 200, put.text);
    assert.deepStrictEqual(put.json() as UploadedFile, {
      path: 'artifacts/nested/model.bin',
      size: content.length,
      sha256: sha256(content),
    });
    assert.ok(fs.readFileSync(path.join(home, 'runs', id, 'artifacts', 'nested', 'model.bin')).equals(content));
    const head = await send('HEAD', `${url}?sha256=${sha256(content)}`, viewer);
    assert.strictEqual(head.status, 200);
    // already stored: answered from the hash alone (a body that would not match is never read)
    const again = await send('PUT', `${url}?sha256=${sha256(content)}`, member, Buffer.from('not it'));
    assert.strictEqual(again.status, 200, again.text);
    assert.ok(fs.readFileSync(path.join(home, 'runs', id, 'artifacts', 'nested', 'model.bin')).equals(content));
    const state = (await send('GET', `/api/runs/${id}/upload-state`, member)).json() as UploadState;
    assert.deepStrictEqual(state.files, [
      { path: 'artifacts/nested/model.bin', size: content.length, sha256: sha256(content) },
    ]);
  });

  it('refuses paths that leave the run directory, absolute ones, and bad run ids', async () => {
    const id = '20260102-030405-d4d4d4';
    const hash = sha256('x');
    for (const bad of ['..%2F..%2Fdb%2Fx', 'a/../../x', '%2Fetc%2Fpasswd', 'a//b', 'run.json', 'a%5Cb', 'a%00b']) {
      const res = await send('PUT', `/api/runs/${id}/files/${bad}?sha256=${hash}`, member, 'x');
      assert.strictEqual(res.status, 400, `${bad}: ${res.text}`);
      assert.ok(errorOf(res).message.length > 0);
    }
    assert.ok(!fs.existsSync(path.join(home, 'db', 'x')) && !fs.existsSync(path.join(home, 'x')));
    assert.ok(!fs.existsSync(path.join(home, 'runs', id)), 'no run directory was made for a refused path');
    const badId = await events('..', 0, metricLine('a', 1, 0));
    assert.ok(badId.status === 400 || badId.status === 404, badId.text);
    const badHash = await send('PUT', `/api/runs/${id}/files/a.txt?sha256=XYZ`, member, 'x');
    assert.strictEqual(badHash.status, 400);
    const linked = path.join(home, 'runs', '20260102-030405-e5e5e5');
    fs.symlinkSync(path.join(home, 'db'), linked);
    const through = await events('20260102-030405-e5e5e5', 0, metricLine('a', 1, 0));
    assert.strictEqual(through.status, 409, 'a run directory that is a link is not written through');
    fs.unlinkSync(linked);
  });

  it("refuses a viewer's uploads with 403 and stores nothing", async () => {
    const id = '20260102-030405-f6f6f6';
    const refused = [
      await events(id, 0, metricLine('loss', 1, 0), viewer),
      await send('PUT', `/api/runs/${id}/manifest`, viewer, JSON.stringify(manifest(id)), 'application/json'),
      await send('PUT', `/api/runs/${id}/files/a.txt?sha256=${sha256('a')}`, viewer, 'a'),
    ];
    for (const res of refused) {
      assert.strictEqual(res.status, 403, res.text);
      assert.match(errorOf(res).message, /needs the member role; you are a viewer/);
    }
    assert.ok(!fs.existsSync(path.join(home, 'runs', id)));
  });

  it('refuses a manifest of another run, or one without a known status', async () => {
    const id = '20260102-030405-a7a7a7';
    const other = await send(
      'PUT',
      `/api/runs/${id}/manifest`,
      member,
      JSON.stringify(manifest('20260102-030405-000000')),
      'application/json',
    );
    assert.strictEqual(other.status, 400);
    assert.match(errorOf(other).message, /not of 20260102-030405-a7a7a7/);
    const noStatus = await send(
      'PUT',
      `/api/runs/${id}/manifest`,
      member,
      JSON.stringify({ ...manifest(id), status: 'x' }),
      'application/json',
    );
    assert.strictEqual(noStatus.status, 400);
    const big = await send(
      'PUT',
      `/api/runs/${id}/manifest`,
      member,
      JSON.stringify({ ...manifest(id), pad: 'x'.repeat(3 << 20) }),
      'application/json',
    );
    assert.strictEqual(big.status, 413);
    assert.ok(!fs.existsSync(path.join(home, 'runs', id, 'run.json')));
  });

  it('appends an output log by byte offset in any pieces; a retry stores nothing twice; a bad log name is refused', async () => {
    const id = '20260102-030405-10a10a';
    const log = (offset: number, body: string, name = 'stdout.log') =>
      send('POST', `/api/runs/${id}/events?offset=${offset}&log=${name}`, member, body, 'text/plain');
    let res = await log(0, 'epoch 1 ... ');
    assert.strictEqual(res.status, 200, res.text);
    assert.strictEqual(sizeOf(res), 12, 'not a whole line, taken all the same');
    res = await log(0, 'epoch 1 ... 10%\r');
    assert.strictEqual(sizeOf(res), 16, 'a retry from 0 appends only what is new');
    res = await log(16, 'done\n');
    assert.strictEqual(sizeOf(res), 21);
    const gap = await log(30, 'more\n');
    assert.strictEqual(gap.status, 409);
    assert.strictEqual(sizeOf(gap), 21);
    assert.match(errorOf(gap).message, /of this run's stdout\.log, not 30: send the stdout\.log again from byte 21/);
    assert.strictEqual(fs.readFileSync(path.join(home, 'runs', id, 'stdout.log'), 'utf8'), 'epoch 1 ... 10%\rdone\n');
    for (const bad of ['..%2Fx.log', 'events.jsonl', 'run.json', '.hidden.log', 'a%2Fb.log']) {
      const refused = await log(0, 'x', bad);
      assert.strictEqual(refused.status, 400, `${bad}: ${refused.text}`);
    }
    const state = (await send('GET', `/api/runs/${id}/upload-state`, viewer)).json() as UploadState;
    assert.deepStrictEqual(state.files, [{ path: 'stdout.log', size: 21, sha256: sha256('epoch 1 ... 10%\rdone\n') }]);
    assert.strictEqual(state.eventsSize, 0, 'the log went to its own file, not to the events');
  });

  it('lists an uploaded run with all its points, as the ingest reads a local run directory', async () => {
    const id = '20260102-030405-abcdef';
    const text = JSON.stringify(manifest(id), null, 2);
    let res = await send('PUT', `/api/runs/${id}/manifest`, member, text, 'application/json');
    assert.strictEqual(res.status, 200, res.text);
    assert.deepStrictEqual(res.json(), { sha256: sha256(text) });
    let offset = 0;
    for (let chunk = 0; chunk < 5; chunk++) {
      let lines = '';
      for (let s = chunk * 200; s < (chunk + 1) * 200; s++) {
        lines += metricLine('loss', 1 / (s + 1), s);
      }
      res = await events(id, offset, lines);
      assert.strictEqual(res.status, 200, res.text);
      offset = sizeOf(res);
      if (chunk === 2) {
        assert.strictEqual((await events(id, offset - Buffer.byteLength(lines), lines)).status, 200, 'a retry');
      }
    }
    const log = Buffer.from('epoch 1\nepoch 2\n');
    res = await send('PUT', `/api/runs/${id}/files/stdout.log?sha256=${sha256(log)}`, member, log);
    assert.strictEqual(res.status, 200, res.text);
    const end = JSON.stringify({ k: 'status', status: 'completed', exitCode: 0, t: 1767225700000 }) + '\n';
    assert.strictEqual((await events(id, offset, end)).status, 200);
    const finished = JSON.stringify(manifest(id, 'completed'), null, 2);
    res = await send('PUT', `/api/runs/${id}/manifest`, member, finished, 'application/json');
    assert.strictEqual(res.status, 200, res.text);
    assert.strictEqual(fs.readFileSync(path.join(home, 'runs', id, 'run.json'), 'utf8'), finished, 'stored as sent');
    const mode = fs.statSync(path.join(home, 'runs', id)).mode & 0o777;
    assert.strictEqual(mode, 0o700);

    let listed: ExperimentList | undefined;
    const deadline = Date.now() + 30000;
    for (;;) {
      const list = await send('GET', '/api/experiments', viewer);
      listed = list.json() as ExperimentList;
      const found = listed.rows.find((r) => r[0] === id);
      if (found && found[2] === 'completed' && found[10].some((m) => m[0] === 'loss' && m[1] === 1000)) {
        break;
      }
      assert.ok(Date.now() < deadline, `the uploaded run is listed with 1000 points: ${list.text.slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const series = (await send('GET', `/api/experiments/${id}/metrics/loss`, viewer)).json() as MetricSeries;
    assert.strictEqual(series.total, 1000);
    assert.deepStrictEqual(
      series.steps,
      Array.from({ length: 1000 }, (_, i) => i),
    );
    const state = (await send('GET', `/api/runs/${id}/upload-state`, viewer)).json() as UploadState;
    assert.deepStrictEqual(state, {
      eventsSize: fs.statSync(eventsFile(id)).size,
      manifestSha256: sha256(finished),
      files: [{ path: 'stdout.log', size: log.length, sha256: sha256(log) }],
    });
  });
});

describe('a run sent to the lab after it had settled there', function () {
  this.timeout(60000);

  it('is read again at once: the ingest hears of changes inside a run directory sent over the network', async () => {
    const { home, cleanup } = tempHome();
    let backend = await startBackend(home);
    try {
      const call = (method: string, url: string, body?: string, type = 'application/x-ndjson') =>
        raw(backend.port, method, url, { body, headers: body === undefined ? {} : { 'content-type': type } });
      const project = await call('POST', '/api/projects', JSON.stringify({ name: 'Lab' }), 'application/json');
      const projectId = (project.json() as { id: string }).id;
      await call('PUT', '/api/active-project', JSON.stringify({ projectId }), 'application/json');
      const id = '20260102-030405-0a0b0c';
      // recorded on this machine by a process that is gone: the lab marks it interrupted and settles it
      const running = { ...manifest(id), host: { hostname: os.hostname() } };
      assert.strictEqual((await call('PUT', `/api/runs/${id}/manifest`, JSON.stringify(running))).status, 200);
      let lines = '';
      for (let s = 0; s < 100; s++) {
        lines += metricLine('loss', s, s);
      }
      assert.strictEqual((await call('POST', `/api/runs/${id}/events?offset=0`, lines)).status, 200);
      const listed = async (status: string, points: number) => {
        const deadline = Date.now() + 30000;
        for (;;) {
          const rows = ((await call('GET', '/api/experiments')).json() as ExperimentList).rows;
          const row = rows.find((r) => r[0] === id);
          if (row?.[2] === status && row[10].some((m) => m[0] === 'loss' && m[1] === points)) {
            return;
          }
          assert.ok(
            Date.now() < deadline,
            `run ${id} is listed ${status} with ${points} points: ${JSON.stringify(row)}`,
          );
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await listed('interrupted', 100);
      await backend.stop('restart');
      backend = await startBackend(home); // found settled at start: no longer followed
      await listed('interrupted', 100);

      let rest = '';
      for (let s = 100; s < 150; s++) {
        rest += metricLine('loss', s, s);
      }
      rest += JSON.stringify({ k: 'status', status: 'completed', exitCode: 0, t: 1767225700000 }) + '\n';
      const res = await call('POST', `/api/runs/${id}/events?offset=${Buffer.byteLength(lines)}`, rest);
      assert.strictEqual(res.status, 200, res.text);
      await listed('completed', 150);
    } finally {
      await backend.stop('test done');
      cleanup();
    }
  });
});

describe('a running run sent over the network whose sender falls silent', function () {
  this.timeout(90000);

  it('is marked interrupted once no request came for the heartbeat timeout, lives while beats come, and ends as sent later', async () => {
    const { home, cleanup } = tempHome();
    process.env[HEARTBEAT_TIMEOUT_ENV] = '2';
    let backend: Backend | undefined;
    try {
      backend = await startBackend(home);
      const port = backend.port;
      const call = (method: string, url: string, body?: string, type = 'application/x-ndjson') =>
        raw(port, method, url, { body, headers: body === undefined ? {} : { 'content-type': type } });
      const project = await call('POST', '/api/projects', JSON.stringify({ name: 'Lab' }), 'application/json');
      const projectId = (project.json() as { id: string }).id;
      await call('PUT', '/api/active-project', JSON.stringify({ projectId }), 'application/json');
      const id = '20260102-030405-beefed';
      // recorded on another machine: its pid cannot be asked about here
      assert.strictEqual((await call('PUT', `/api/runs/${id}/manifest`, JSON.stringify(manifest(id)))).status, 200);
      let lines = '';
      for (let s = 0; s < 10; s++) {
        lines += metricLine('loss', s, s);
      }
      const offset = Buffer.byteLength(lines);
      assert.strictEqual((await call('POST', `/api/runs/${id}/events?offset=0`, lines)).status, 200);
      const statusOf = async () =>
        ((await call('GET', '/api/experiments')).json() as ExperimentList).rows.find((r) => r[0] === id)?.[2];
      const until = async (status: string) => {
        const deadline = Date.now() + 30000;
        while ((await statusOf()) !== status) {
          assert.ok(Date.now() < deadline, `run ${id} becomes ${status}: it is ${await statusOf()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await until('running');
      // twice the timeout with a heartbeat (an empty append) every 0.5 s: still running
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 500));
        const beat = await call('POST', `/api/runs/${id}/events?offset=${offset}`, '');
        assert.strictEqual(beat.status, 200, beat.text);
        assert.strictEqual((beat.json() as EventsAnswer).size, offset);
        assert.strictEqual(await statusOf(), 'running', `still running after ${(i + 1) * 0.5} s of heartbeats`);
      }
      assert.ok(fs.existsSync(path.join(home, 'runs', id, '.shipper-heartbeat')), 'the heartbeat is recorded');
      const state = (await call('GET', `/api/runs/${id}/upload-state`)).json() as UploadState;
      assert.deepStrictEqual(state.files, [], "the lab's heartbeat record is not a file of the run");
      // the sender falls silent (its process killed): interrupted, as a local run whose process died
      await until('interrupted');
      // what the sender's sync sends later: the rest of the events and the run.json it ended with
      const rest = metricLine('loss', 10, 10);
      assert.strictEqual((await call('POST', `/api/runs/${id}/events?offset=${offset}`, rest)).status, 200);
      const ended = { ...manifest(id), status: 'interrupted', endedAt: '2026-01-02T03:06:05.000Z' };
      assert.strictEqual((await call('PUT', `/api/runs/${id}/manifest`, JSON.stringify(ended))).status, 200);
      await until('interrupted');
      // the run was interrupted already: wait for the ingest of the point sent later, not the status
      const deadline = Date.now() + 30000;
      let total = 0;
      while ((total = ((await call('GET', `/api/experiments/${id}/metrics/loss`)).json() as MetricSeries).total) < 11) {
        assert.ok(Date.now() < deadline, `the points sent later are in the run: ${total} of 11`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.strictEqual(total, 11, 'the points sent later are in the run, once');
    } finally {
      delete process.env[HEARTBEAT_TIMEOUT_ENV];
      await backend?.stop('test done');
      cleanup();
    }
  });
});

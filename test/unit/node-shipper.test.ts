import * as assert from 'assert';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { startExperiment } from '../../src/client';
import { ApiClient } from '../../src/client/api-client';
import { Marker, markerPath, quoteLongIntegers } from '../../src/client/runs/journal';
import { shipClient } from '../../src/client/runs/shipper';
import { syncJournal } from '../../src/client/runs/sync';
import { readRegistration } from '../../src/common/home';
import type { ExperimentList } from '../../src/protocol/experiment-list';
import type { CreatedToken } from '../../src/protocol/users';
import { raw, REPO, tempHome } from './helpers';
import { cliAsync, waitForExit } from './process-helpers';
import { makeCertificate } from './certificate';

/**
 * The Node client and the CLI recording runs for a lab over the network: the run directory is a
 * local journal, sent by the shipper while the run goes on; `mllab sync` sends what is left. Real
 * parts only: the built lab (`mllab serve --listen` over TLS with a certificate made by openssl
 * here), a TCP proxy written here that cuts the connections, the lab killed with SIGKILL, the
 * Python client's journal.
 */

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Forwards TCP connections from a local port to the lab. `cut()` resets every open connection;
 * `loseNextAnswer()` resets the next connection whose client sent a request body (more than 16 KiB)
 * when the lab's answer to it arrives, which it never delivers: the lab did the work, the client does
 * not know it.
 */
class CuttingProxy {
  private readonly server: net.Server;
  private readonly open = new Set<net.Socket>();
  cuts = 0;
  answersLost = 0;
  private loseArmed = false;

  constructor(private readonly target: number) {
    this.server = net.createServer((front) => this.forward(front));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  private forward(front: net.Socket): void {
    const back = net.connect(this.target, '127.0.0.1');
    this.open.add(front);
    this.open.add(back);
    let sent = 0;
    const drop = () => {
      for (const s of [front, back]) {
        this.open.delete(s);
        s.destroy();
      }
    };
    front.on('data', (d: Buffer) => {
      sent += d.length;
      back.write(d);
    });
    back.on('data', (d: Buffer) => {
      if (this.loseArmed && sent > 16 * 1024) {
        this.loseArmed = false;
        this.answersLost++;
        this.reset(front, back);
        return;
      }
      front.write(d);
    });
    front.on('error', drop);
    back.on('error', drop);
    front.on('close', drop);
    back.on('close', drop);
  }

  private reset(...sockets: net.Socket[]): void {
    for (const s of sockets) {
      this.open.delete(s);
      if (!s.destroyed) {
        s.resetAndDestroy();
      }
    }
  }

  cut(): void {
    this.cuts += Math.floor(this.open.size / 2);
    this.reset(...this.open);
  }

  /** Cuts once a connection is open (the client opens one per request): true when one was cut. */
  async cutOne(): Promise<boolean> {
    for (let i = 0; i < 400 && this.open.size === 0; i++) {
      await sleep(5);
    }
    const before = this.cuts;
    this.cut();
    return this.cuts > before;
  }

  loseNextAnswer(): void {
    this.loseArmed = true;
  }

  close(): void {
    this.cut();
    this.server.close();
  }
}

interface Listed {
  readonly status: string;
  readonly steps: readonly number[];
}

describe('the Node client and mllab sync: runs recorded for a lab over the network, nothing lost', function () {
  this.timeout(180_000);
  let root: string;
  let cleanup: () => void;
  let home: string;
  let cert: string;
  let key: string;
  let tlsPort: number;
  let lab: ChildProcessWithoutNullStreams | undefined;
  let member: string;
  let viewer: string;
  let journal: string;
  const saved = { ...process.env };

  /** `mllab serve --listen` of the lab home over TLS, on the same port each time. */
  async function startLab(extraEnv: Record<string, string> = {}): Promise<void> {
    const child = spawn(
      process.execPath,
      [
        path.join(REPO, 'bin', 'mllab.js'),
        'serve',
        '--home',
        home,
        '--listen',
        `127.0.0.1:${tlsPort}`,
        '--tls-cert',
        cert,
        '--tls-key',
        key,
        '--json',
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...saved, MLLAB_URL: '', MLLAB_TOKEN: '', ...extraEnv } },
    );
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        try {
          JSON.parse(stdout);
          resolve();
        } catch {
          // not whole yet
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stdout}`)));
    });
    child.removeAllListeners('exit');
    child.stderr.resume();
    lab = child;
  }

  async function stopLab(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    if (lab) {
      lab.kill(signal);
      await waitForExit(lab);
      lab = undefined;
    }
  }

  /** A request of the lab's owner, on the plain loopback port of its registration. */
  async function asOwner(method: string, url: string, body?: unknown): Promise<unknown> {
    const r = readRegistration(home)!;
    const res = await raw(r.port, method, url, {
      token: r.token,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    assert.ok(res.status < 300, `${method} ${url}: ${res.status} ${res.text}`);
    return res.text ? res.json() : undefined;
  }

  async function tokenFor(name: string, role: string): Promise<string> {
    await asOwner('POST', '/api/users', { name, role });
    return ((await asOwner('POST', '/api/tokens', { user: name })) as CreatedToken).token;
  }

  /** Waits until the lab lists the run as ended with at least `n` points of its loss. */
  async function listed(id: string, n: number): Promise<Listed> {
    const r = readRegistration(home)!;
    const client = new ApiClient(r.port, r.token);
    try {
      for (let i = 0; ; i++) {
        const run = (await client.listExperiments()).find((e) => e.id === id);
        const count = run?.metrics.find((m) => m.key === 'loss')?.count ?? 0;
        if (run && run.status !== 'running' && count >= n) {
          return { status: run.status, steps: (await client.getMetricSeries(id, 'loss')).steps };
        }
        assert.ok(i < 600, `run ${id} is not listed as ended with ${n} points: ${JSON.stringify(run)}`);
        await sleep(100);
      }
    } finally {
      client.dispose();
    }
  }

  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const labRun = (id: string, name: string) => path.join(home, 'runs', id, name);
  const journalRun = (id: string, name: string) => path.join(journal, id, name);

  /** The environment of a client of the lab as user `token`, journaling in `journal`. */
  const labEnv = (token: string, port = tlsPort): Record<string, string> => ({
    MLLAB_URL: `https://127.0.0.1:${port}`,
    MLLAB_TOKEN: token,
    MLLAB_CA_FILE: cert,
    MLLAB_LOCAL_RUNS: journal,
    MLLAB_HOME: '',
    MLLAB_RUN_DIR: '',
    // the journal keeps the runs all sent (compared with the lab's copy) unless a test says otherwise
    MLLAB_KEEP_SHIPPED: '1',
  });

  /** Sets the environment of this process for the Node client (restored after each test). */
  function useLab(env: Record<string, string>): void {
    for (const [k, v] of Object.entries(env)) {
      if (v === '') {
        delete process.env[k];
      } else {
        process.env[k] = v;
      }
    }
  }

  before(async () => {
    ({ home, cleanup } = tempHome());
    root = path.dirname(home);
    ({ cert, key } = makeCertificate(root));
    tlsPort = await freePort();
    await startLab();
    member = await tokenFor('max', 'member');
    viewer = await tokenFor('ann', 'viewer');
    const project = (await asOwner('POST', '/api/projects', { name: 'Remote' })) as { id: string };
    await asOwner('PUT', '/api/active-project', { projectId: project.id });
    await asOwner('PUT', `/api/projects/${project.id}/members/max`, { role: 'editor' });
    await asOwner('PUT', `/api/projects/${project.id}/members/ann`, { role: 'viewer' });
  });

  after(async () => {
    await stopLab('SIGTERM');
    cleanup();
  });

  let testNumber = 0;
  beforeEach(() => {
    journal = path.join(root, `journal-${++testNumber}`);
  });

  afterEach(async () => {
    for (const k of Object.keys(process.env)) {
      if (!(k in saved)) {
        delete process.env[k];
      }
    }
    Object.assign(process.env, saved);
    if (!lab) {
      await startLab();
    }
  });

  it('sends 20,000 points logged while every connection is cut again and again: each arrives once', async () => {
    const proxy = new CuttingProxy(tlsPort);
    const port = await proxy.listen();
    try {
      useLab({ ...labEnv(member, port), MLLAB_SHIP_TIMEOUT: '120' });
      const exp = startExperiment('over a cut link', { params: { n: 20_000 } });
      assert.ok(exp.dir.startsWith(journal + path.sep), `the run is journaled locally: ${exp.dir}`);
      for (let batch = 0; batch < 40; batch++) {
        for (let i = batch * 500; i < (batch + 1) * 500; i++) {
          exp.logMetric('loss', 1 / (i + 1));
        }
        await sleep(120);
        if (batch % 4 === 1) {
          await proxy.cutOne();
        } else if (batch % 4 === 3) {
          proxy.loseNextAnswer();
        }
      }
      exp.end('completed', 0);
      assert.strictEqual(await exp.sent(), true, 'the end waited until the lab held the whole run');
      assert.ok(proxy.cuts >= 3, `connections were cut while the run was sent (${proxy.cuts})`);
      assert.ok(proxy.answersLost >= 1, 'answers of the lab were lost on the way');

      const { status, steps } = await listed(exp.id, 20_000);
      assert.strictEqual(status, 'completed');
      assert.strictEqual(steps.length, 20_000, 'every point arrived, none twice');
      assert.deepStrictEqual(steps, range(20_000));
      assert.ok(
        fs.readFileSync(labRun(exp.id, 'events.jsonl')).equals(fs.readFileSync(journalRun(exp.id, 'events.jsonl'))),
        'the lab holds the journal events byte for byte',
      );
      assert.strictEqual(
        fs.readFileSync(labRun(exp.id, 'run.json'), 'utf8'),
        fs.readFileSync(journalRun(exp.id, 'run.json'), 'utf8'),
      );
      const marker = new Marker(markerPath(journal, exp.id), `https://127.0.0.1:${port}`);
      assert.strictEqual(marker.done, true, 'the marker says the run is all sent');
      assert.strictEqual(marker.events, fs.statSync(journalRun(exp.id, 'events.jsonl')).size);
    } finally {
      proxy.close();
    }
  });

  it('loses nothing and stores nothing twice when the lab is killed (SIGKILL) and restarted mid-run', async () => {
    useLab({ ...labEnv(member), MLLAB_SHIP_TIMEOUT: '120' });
    const exp = startExperiment('through a crash');
    let step = 0;
    const logBatch = async () => {
      for (const end = step + 500; step < end; step++) {
        exp.logMetric('loss', 1 / (step + 1));
      }
      await sleep(100);
    };
    for (
      let i = 0;
      i < 100 && !(fs.statSync(labRun(exp.id, 'events.jsonl'), { throwIfNoEntry: false })?.size ?? 0);
      i++
    ) {
      await logBatch(); // until sending has begun
    }
    assert.ok(fs.statSync(labRun(exp.id, 'events.jsonl')).size > 0, 'the run reached the lab');
    await stopLab('SIGKILL');
    while (step < 12_000) {
      await logBatch(); // logged while the lab is down
    }
    await startLab();
    while (step < 20_000) {
      await logBatch();
    }
    exp.end();
    assert.strictEqual(await exp.sent(), true);
    const { status, steps } = await listed(exp.id, 20_000);
    assert.strictEqual(status, 'completed');
    assert.deepStrictEqual(steps, range(20_000), 'every point once, in order');
    assert.ok(
      fs.readFileSync(labRun(exp.id, 'events.jsonl')).equals(fs.readFileSync(journalRun(exp.id, 'events.jsonl'))),
    );
  });

  it('sends the run of a Node script that never calls end(): the process waits for the lab before it exits', async () => {
    const big = path.join(root, 'weights #1 ?.bin');
    fs.writeFileSync(big, Buffer.alloc(17 * 1024 * 1024, 7));
    const script = [
      `const mllab = require(${JSON.stringify(path.join(REPO, 'dist', 'client.js'))});`,
      `const exp = mllab.startExperiment('no end');`,
      `console.log(exp.id);`,
      `for (let i = 0; i < 3000; i++) exp.logMetric('loss', 1 / (i + 1));`,
      // bigger than what is sent from memory (16 MiB): hashed, asked for, then streamed; a name to encode
      `exp.logArtifact(${JSON.stringify(big)});`,
    ].join('\n');
    const child = spawnSync(process.execPath, ['-e', script], {
      env: { ...saved, ...labEnv(member) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.strictEqual(child.status, 0, child.stderr);
    assert.strictEqual(child.stderr, '', 'nothing was left for a sync');
    const id = child.stdout.trim();
    const { status, steps } = await listed(id, 3000);
    assert.strictEqual(status, 'completed');
    assert.deepStrictEqual(steps, range(3000));
    assert.strictEqual(new Marker(markerPath(journal, id), `https://127.0.0.1:${tlsPort}`).done, true);
    assert.ok(
      fs.readFileSync(labRun(id, 'artifacts/weights #1 ?.bin')).equals(fs.readFileSync(big)),
      'the artifact is in the lab as logged',
    );
  });

  it('"mllab run" journals a run that ended while the lab was down, and "mllab sync" sends it later', async () => {
    await stopLab('SIGTERM');
    const script = [
      `const mllab = require(${JSON.stringify(path.join(REPO, 'dist', 'client.js'))});`,
      `const exp = mllab.startExperiment('offline');`,
      `for (let i = 0; i < 700; i++) exp.logMetric('loss', 1 / (i + 1));`,
      `console.log('trained');`,
      `exp.end();`,
    ].join('\n');
    const env = { ...labEnv(member), MLLAB_SHIP_TIMEOUT: '1' };
    const run = await cliAsync(['run', '--name', 'offline', '--json', '--', process.execPath, '-e', script], { env });
    assert.strictEqual(run.status, 0, run.stderr);
    const result = run.json<{ id: string; status: string; dir: string; sent: boolean }>();
    assert.strictEqual(result.status, 'completed');
    assert.strictEqual(result.sent, false);
    assert.strictEqual(result.dir, path.join(journal, result.id));
    assert.match(
      run.stderr,
      /is not all sent to https:\/\/127\.0\.0\.1:\d+ yet: it stays in .*; "mllab sync" sends the rest/,
    );
    assert.ok(!fs.existsSync(path.join(home, 'runs', result.id)), 'the lab holds nothing of it');

    await startLab();
    const sync = await cliAsync(['sync', '--timeout', '30'], { env });
    assert.strictEqual(sync.status, 0, sync.stderr);
    assert.match(sync.stdout, /^1 run sent, 0 left\.$/m);
    assert.match(sync.stderr, new RegExp(`sent run ${result.id} to https://127\\.0\\.0\\.1:${tlsPort}`));
    const { status, steps } = await listed(result.id, 700);
    assert.strictEqual(status, 'completed');
    assert.deepStrictEqual(steps, range(700));
    assert.strictEqual(
      fs.readFileSync(labRun(result.id, 'stdout.log'), 'utf8'),
      'trained\n',
      "the command's output went with it",
    );
    const again = await cliAsync(['sync'], { env });
    assert.strictEqual(again.status, 0, again.stderr);
    assert.match(again.stdout, /^Nothing to send: the lab holds every run of /);
    const badTimeout = await cliAsync(['sync', '--timeout', 'soon'], { env });
    assert.strictEqual(badTimeout.status, 1);
    assert.match(badTimeout.stderr, /--timeout takes seconds from 0 to 86400, not "soon"/);
    const local = await cliAsync(['sync'], { env: { ...env, MLLAB_URL: '', MLLAB_TOKEN: '', MLLAB_HOME: home } });
    assert.strictEqual(local.status, 1);
    assert.match(local.stderr, /set MLLAB_URL and MLLAB_TOKEN .* or run "mllab login URL"/);
  });

  it('finishes a run journaled by the Python client with "mllab sync", and Python reads the marker it left', async function () {
    const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : undefined;
    if (!python) {
      this.skip();
    }
    await stopLab('SIGTERM');
    const env = { ...saved, ...labEnv(member), MLLAB_SHIP_TIMEOUT: '1', PYTHONPATH: path.join(REPO, 'python') };
    const code = [
      'import mllab',
      'with mllab.experiment("journaled by python") as exp:',
      '    print(exp.id, flush=True)',
      '    for i in range(300):',
      '        exp.log_metric("loss", 1.0 / (i + 1))',
    ].join('\n');
    const py = spawnSync(python!, ['-c', code], { env, encoding: 'utf8', cwd: root, timeout: 60_000 });
    assert.strictEqual(py.status, 0, py.stderr);
    const id = py.stdout.trim();
    assert.match(id, /^\d{8}-\d{6}-[0-9a-f]{6}$/);
    assert.match(py.stderr, /python -m mllab sync/, 'the Python client left it for a sync');

    await startLab();
    const sync = await cliAsync(['sync', '--timeout', '30'], { env: { ...labEnv(member) } });
    assert.strictEqual(sync.status, 0, sync.stderr);
    assert.match(sync.stdout, /^1 run sent, 0 left\.$/m);
    const { status, steps } = await listed(id, 300);
    assert.strictEqual(status, 'completed');
    assert.deepStrictEqual(steps, range(300));
    for (const name of ['run.json', 'events.jsonl', 'packages.txt']) {
      assert.ok(
        fs.readFileSync(labRun(id, name)).equals(fs.readFileSync(journalRun(id, name))),
        `${name} is in the lab as in the journal`,
      );
    }
    const pySync = spawnSync(python!, ['-m', 'mllab', 'sync'], { env, encoding: 'utf8', cwd: root, timeout: 60_000 });
    assert.strictEqual(pySync.status, 0, pySync.stderr);
    assert.match(pySync.stdout, /Nothing to send/, "the Python client takes the Node client's marker as its own");
    // the change times in ns are kept exactly, whichever client wrote them
    const text = fs.readFileSync(markerPath(journal, id), 'utf8');
    const exact = /"packages\.txt": \[\d+, (\d+),/.exec(text)![1];
    assert.strictEqual(exact, fs.statSync(journalRun(id, 'packages.txt'), { bigint: true }).mtimeNs.toString());
    assert.strictEqual(
      quoteLongIntegers('{"a": [1, 1765000000123456789, "x 12345678901234567"]}'),
      '{"a": [1, "1765000000123456789", "x 12345678901234567"]}',
    );
  });

  it("stops with the lab's 403 for a viewer's token, and the run stays in the journal", async () => {
    useLab({ ...labEnv(viewer), MLLAB_SHIP_TIMEOUT: '60' });
    const said: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      said.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    let exp;
    try {
      exp = startExperiment('not mine to write');
      for (let i = 0; i < 100; i++) {
        exp.logMetric('loss', i);
      }
      exp.end();
      assert.strictEqual(await exp.sent(), false, 'the lab refused the run');
    } finally {
      process.stderr.write = write;
    }
    const message = said.join('');
    assert.match(
      message,
      new RegExp(`run ${exp.id} is not sent to https://127\\.0\\.0\\.1:${tlsPort}: the lab refused it \\(403 `),
    );
    assert.match(message, /fix the cause, then run "mllab sync"/);
    assert.ok(!message.includes(viewer.slice(24)), 'the token is not said');
    assert.ok(fs.statSync(journalRun(exp.id, 'events.jsonl')).size > 0, 'the run stays in the journal');
    assert.strictEqual(new Marker(markerPath(journal, exp.id), `https://127.0.0.1:${tlsPort}`).done, false);
    assert.ok(!fs.existsSync(path.join(home, 'runs', exp.id)), 'the lab stored nothing of it');
  });

  it('"mllab run": the output log goes by byte offset, files the lab cannot take are skipped with a warning, and the run all sent leaves the journal', async () => {
    const script = [
      `const fs = require('fs'), path = require('path');`,
      `const dir = process.env.MLLAB_RUN_DIR;`,
      `fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/bad-'), Buffer.from([0xff]), Buffer.from('.bin')]), 'not UTF-8');`,
      `const deep = path.join(dir, ...Array(40).fill('d'));`,
      `fs.mkdirSync(deep, { recursive: true });`,
      `fs.writeFileSync(path.join(deep, 'too-deep.txt'), '40 folders down');`,
      `let i = 0;`,
      `const timer = setInterval(() => {`,
      `  console.log('epoch ' + i + ' ' + 'x'.repeat(2000));`,
      `  if (++i === 6) clearInterval(timer);`,
      `}, 1000);`,
    ].join('\n');
    const env = { ...labEnv(member), MLLAB_KEEP_SHIPPED: '0' };
    const runsOf = () => (fs.existsSync(path.join(home, 'runs')) ? fs.readdirSync(path.join(home, 'runs')) : []);
    const earlier = new Set(runsOf());
    const running = cliAsync(['run', '--name', 'chatty', '--json', '--', process.execPath, '-e', script], { env });
    // the log in the lab while the command goes on, and the same file (appended to) at its end
    let first: fs.Stats | undefined;
    for (let i = 0; i < 300 && !first; i++) {
      const runs = runsOf().filter((id) => !earlier.has(id)); // this one's
      const logs = runs.map((id) => labRun(id, 'stdout.log')).filter((f) => fs.existsSync(f));
      const found = logs.map((f) => fs.statSync(f)).find((st) => st.size > 0 && st.size < 6 * 2009);
      first = found;
      await sleep(50);
    }
    assert.ok(first, 'part of the log reached the lab while the command went on');
    const run = await running;
    assert.strictEqual(run.status, 0, run.stderr);
    const result = run.json<{ id: string; status: string; sent: boolean }>();
    assert.strictEqual(result.sent, true);
    const r = readRegistration(home)!;
    for (let i = 0; ; i++) {
      const row = ((await raw(r.port, 'GET', '/api/experiments', { token: r.token })).json() as ExperimentList).rows;
      if (row.find((x) => x[0] === result.id)?.[2] === 'completed') {
        break;
      }
      assert.ok(i < 300, `run ${result.id} is listed completed`);
      await sleep(100);
    }
    const last = fs.statSync(labRun(result.id, 'stdout.log'));
    assert.strictEqual(last.ino, first.ino, 'appended to, never replaced by a whole copy');
    const log = fs.readFileSync(labRun(result.id, 'stdout.log'), 'utf8');
    assert.deepStrictEqual(
      log.split('\n').map((l) => l.slice(0, 7)),
      ['epoch 0', 'epoch 1', 'epoch 2', 'epoch 3', 'epoch 4', 'epoch 5', ''],
      'every line once',
    );
    const audit = fs
      .readFileSync(path.join(home, 'logs', 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { method: string; path: string });
    assert.deepStrictEqual(
      audit.filter((a) => a.method === 'PUT' && a.path.endsWith(`${result.id}/files/stdout.log`)),
      [],
      'the log is not sent whole',
    );
    const details = (await raw(r.port, 'GET', `/api/experiments/${result.id}`, { token: r.token })).json() as {
      warnings?: string[];
    };
    const warnings = details.warnings ?? [];
    assert.ok(
      warnings.some((w) => w.includes('bad-\ufffd.bin') && w.includes('not valid UTF-8')),
      JSON.stringify(warnings),
    );
    assert.ok(
      warnings.some((w) => w.includes('too-deep.txt') && w.includes('41 parts')),
      JSON.stringify(warnings),
    );
    assert.strictEqual(warnings.length, 2, `each said once: ${JSON.stringify(warnings)}`);
    assert.ok(!fs.existsSync(journalRun(result.id, '')), 'the run directory is pruned from the journal');
    assert.ok(!fs.existsSync(markerPath(journal, result.id)), 'and its marker');
  });

  it('a run whose client was killed is marked interrupted by the lab (no heartbeat), and "mllab sync" sends the rest', async () => {
    await stopLab('SIGTERM');
    await startLab({ MLLAB_RUN_HEARTBEAT_TIMEOUT: '2' });
    // the module itself (an `import *` of it is a copy whose functions cannot be replaced)
    const os = module.require('os') as { hostname: () => string };
    const hostname = os.hostname;
    try {
      // recorded on "another machine": the lab cannot ask about its pid; only its heartbeat tells
      const script = [
        `require('os').hostname = () => 'far-away-node';`,
        `const mllab = require(${JSON.stringify(path.join(REPO, 'dist', 'client.js'))});`,
        `const exp = mllab.startExperiment('killed');`,
        `for (let i = 0; i < 100; i++) exp.logMetric('loss', 1 / (i + 1));`,
        `console.log(exp.id);`,
        `setInterval(() => undefined, 1000);`,
      ].join('\n');
      const child = spawn(process.execPath, ['-e', script], {
        env: { ...saved, ...labEnv(member), MLLAB_SHIP_HEARTBEAT: '0.3', MLLAB_KEEP_SHIPPED: '0' },
      });
      const id = await new Promise<string>((resolve) =>
        child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
      );
      const r = readRegistration(home)!;
      const owner = new ApiClient(r.port, r.token);
      try {
        const status = async () => (await owner.listExperiments()).find((e) => e.id === id)?.status;
        const until = async (wanted: string) => {
          for (let i = 0; (await status()) !== wanted; i++) {
            assert.ok(i < 300, `run ${id} becomes ${wanted}: it is ${await status()}`);
            await sleep(100);
          }
        };
        await until('running');
        await sleep(5000); // more than twice the lab's timeout without a point: the heartbeat keeps it running
        assert.strictEqual(await status(), 'running', 'an idle run whose client lives is not interrupted');
        child.kill('SIGKILL');
        await waitForExit(child);
        await until('interrupted');

        os.hostname = () => 'far-away-node'; // the sync runs where the run was recorded
        useLab({ ...labEnv(member), MLLAB_KEEP_SHIPPED: '0' });
        const client = shipClient({
          url: `https://127.0.0.1:${tlsPort}`,
          token: member,
          tokenFrom: 'MLLAB_TOKEN',
          ca: fs.readFileSync(cert, 'utf8'),
        });
        try {
          const result = await syncJournal(client, journal, 30, () => undefined);
          assert.deepStrictEqual(result, { sent: [id], left: [] });
        } finally {
          client.dispose();
        }
        const { status: ended, steps } = await listed(id, 100);
        assert.strictEqual(ended, 'interrupted');
        assert.deepStrictEqual(steps, range(100));
        const stored = JSON.parse(fs.readFileSync(labRun(id, 'run.json'), 'utf8')) as { status: string };
        assert.strictEqual(stored.status, 'interrupted', "the sync sent the run's end");
        assert.ok(!fs.existsSync(journalRun(id, '')), 'and pruned it from the journal');
      } finally {
        owner.dispose();
      }
    } finally {
      os.hostname = hostname;
      await stopLab('SIGTERM');
      await startLab();
    }
  });
});

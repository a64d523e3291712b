import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ApiClient } from '../../src/client/api-client';
import { readRegistration } from '../../src/common/home';
import { manifest, metricLine, until } from './experiments-helpers';
import { DIST, startBackend, tempHome, TEST_TOKEN } from './helpers';

const RUNS = 25_000;
const POINTS = 5;
const LIMIT = 1024;

/** Writes the runs as a copy would (run.json, events.jsonl), as fast as the file system allows. */
function copyRuns(runsDir: string): string[] {
  let events = '';
  for (let s = 0; s < POINTS; s++) {
    events += metricLine('loss', s / 10, s);
  }
  const ids: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const id = `20260101-${String(Math.floor(i / 3600)).padStart(2, '0')}${String(Math.floor(i / 60) % 60).padStart(2, '0')}${String(i % 60).padStart(2, '0')}-${i.toString(16).padStart(6, '0')}`;
    const dir = path.join(runsDir, id);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'run.json'),
      JSON.stringify(manifest(id, { status: 'completed', exitCode: 0, endedAt: '2026-01-02T03:14:05.000Z', pid: 1 })),
    );
    fs.writeFileSync(path.join(dir, 'events.jsonl'), events);
    ids.push(id);
  }
  return ids;
}

describe('scale: 25,000 runs ingested by a backend limited to 1,024 descriptors', function () {
  this.timeout(15 * 60_000);
  let child: ChildProcess | undefined;
  let home: string;
  let cleanup: () => void;

  before(function () {
    if (process.platform !== 'linux') {
      this.skip(); // descriptors are counted in /proc
    }
    ({ home, cleanup } = tempHome());
  });
  after(() => {
    child?.kill('SIGKILL');
    cleanup?.();
  });

  it('ingests every run and every point, with a bounded number of descriptors, and stops on SIGTERM', async () => {
    // a lab with an active project, stopped; then the runs are copied in
    const setup = await startBackend(home);
    const setupClient = new ApiClient(setup.port, TEST_TOKEN);
    await setupClient.createProject('Lab'); // the first project becomes the active one
    setupClient.dispose();
    await setup.stop('test step');
    const ids = copyRuns(path.join(home, 'runs'));

    const limited = fs.existsSync('/usr/bin/prlimit')
      ? spawn(
          'prlimit',
          [`--nofile=${LIMIT}:${LIMIT}`, process.execPath, path.join(DIST, 'backend.js'), '--home', home],
          {
            stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
          },
        )
      : spawn(
          'bash',
          [
            '-c',
            `ulimit -n ${LIMIT} && exec "$0" "$@"`,
            process.execPath,
            path.join(DIST, 'backend.js'),
            '--home',
            home,
          ],
          {
            stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
          },
        );
    child = limited;
    let stderr = '';
    limited.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      limited.once('message', (m: { type: string; port?: number; message?: string }) =>
        m.type === 'ready' ? resolve(m.port!) : reject(new Error(m.message)),
      );
      limited.once('exit', (code) => reject(new Error(`the backend exited with ${code}: ${stderr}`)));
    });
    const pid = limited.pid!;
    assert.match(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'), new RegExp(`Max open files\\s+${LIMIT}\\s+${LIMIT}`));
    const client = new ApiClient(port, readRegistration(home)!.token);
    let most = 0;
    const sampler = setInterval(() => {
      try {
        most = Math.max(most, fs.readdirSync(`/proc/${pid}/fd`).length);
      } catch {
        // gone
      }
    }, 100);
    try {
      const log = path.join(home, 'logs', 'backend.log');
      await until(
        'the backlog to be ingested',
        () => (fs.readFileSync(log, 'utf8').includes('run directories checked and ingested') ? true : undefined),
        10 * 60_000,
      );
      clearInterval(sampler);
      const listed = await client.listExperiments();
      assert.strictEqual(listed.length, RUNS, 'every run is listed');
      const byId = new Map(listed.map((e) => [e.id, e]));
      const missing = ids.filter((id) => byId.get(id)?.metrics[0]?.count !== POINTS);
      assert.deepStrictEqual(missing, [], 'every run has every point');
      for (const id of [ids[0], ids[12_345], ids[RUNS - 1]]) {
        const series = await client.getMetricSeries(id, 'loss');
        assert.deepStrictEqual(series.steps, [0, 1, 2, 3, 4]);
      }
      // following 25,000 runs costs no descriptor per run (a handful for the store, the log,
      // the sockets and the watchers, whatever the number of runs)
      assert.ok(most > 0 && most < 128, `at most ${most} descriptors open`);
      assert.ok(!/EMFILE|ENFILE/.test(fs.readFileSync(log, 'utf8')), 'never out of descriptors');
    } finally {
      clearInterval(sampler);
      client.dispose();
    }
    const code = await new Promise<number | null>((resolve) => {
      limited.once('exit', (c) => resolve(c));
      limited.kill('SIGTERM');
    });
    child = undefined;
    assert.strictEqual(code, 0);
  });
});

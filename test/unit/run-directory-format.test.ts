import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { createRunDirectory, finishRunDirectory } from '../../src/backend/jobs/run-directory';
import { RunWriter } from '../../src/client/runs/run-writer';
import type { RunManifest } from '../../src/protocol/experiments';
import { tempHome } from './helpers';

const readManifest = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunManifest;

describe('run directories: the Node client and the backend write one format', () => {
  let temp: ReturnType<typeof tempHome>;
  beforeEach(() => (temp = tempHome()));
  afterEach(() => temp.cleanup());

  it('writes run.json with the same fields in the same order from both sides, private and under runs/', () => {
    const writer = RunWriter.create({
      home: temp.home,
      name: 'local',
      project: 'p1',
      params: { lr: 0.1 },
      command: ['node', 'train.js'],
      cwd: temp.home,
    });
    const jobDir = createRunDirectory(temp.home, 'nightly', 'p1', ['python', 'train.py'], '/workspace');
    const local = readManifest(writer.dir);
    const job = readManifest(jobDir);
    assert.deepStrictEqual(Object.keys(job), Object.keys(local));
    for (const [m, dir] of [
      [local, writer.dir],
      [job, jobDir],
    ] as const) {
      assert.strictEqual(m.format, 1);
      assert.strictEqual(m.status, 'running');
      assert.strictEqual(m.endedAt, null);
      assert.strictEqual(m.exitCode, null);
      assert.strictEqual(m.pid, process.pid);
      assert.match(m.id, /^\d{8}-\d{6}-[0-9a-f]{6}$/);
      assert.strictEqual(path.dirname(dir), path.join(temp.home, 'runs'));
      assert.strictEqual(path.basename(dir), m.id);
      assert.strictEqual(fs.statSync(dir).mode & 0o777, 0o700);
      assert.strictEqual(fs.statSync(path.join(dir, 'run.json')).mode & 0o777, 0o600);
      assert.ok(fs.existsSync(path.join(dir, 'events.jsonl')));
    }
    assert.deepStrictEqual(local.params, { lr: 0.1 });
    assert.deepStrictEqual(local.runtime, { node: process.versions.node });
    assert.deepStrictEqual(job.tags, { job: 'nightly' });
    assert.deepStrictEqual(job.runtime, { container: 'docker' });
    assert.strictEqual(job.host.hostname, job.id);
    writer.finish('completed', 0);
  });

  it('records the end the same way from both sides: a status line and the final run.json', () => {
    const writer = RunWriter.create({
      home: temp.home,
      name: 'local',
      project: null,
      params: {},
      command: [],
      cwd: temp.home,
    });
    writer.finish('failed', 3);
    const jobDir = createRunDirectory(temp.home, 'nightly', 'p1', [], '/workspace');
    assert.strictEqual(finishRunDirectory(jobDir, 'failed', 3), undefined);
    for (const dir of [writer.dir, jobDir]) {
      const m = readManifest(dir);
      assert.strictEqual(m.status, 'failed');
      assert.strictEqual(m.exitCode, 3);
      assert.ok(m.endedAt !== null && !Number.isNaN(Date.parse(m.endedAt)));
      const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
      const last = JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
      assert.deepStrictEqual({ ...last, t: 0 }, { k: 'status', status: 'failed', exitCode: 3, t: 0 });
    }
  });

  it('writes a minimal run.json again when the job replaced it with something else', () => {
    const jobDir = createRunDirectory(temp.home, 'nightly', 'p1', [], '/workspace');
    fs.rmSync(path.join(jobDir, 'run.json'));
    fs.writeFileSync(path.join(jobDir, 'run.json'), 'not json');
    assert.match(finishRunDirectory(jobDir, 'completed', 0) ?? '', /was not read/);
    const m = readManifest(jobDir);
    assert.strictEqual(m.id, path.basename(jobDir));
    assert.strictEqual(m.format, 1);
    assert.strictEqual(m.status, 'completed');
  });
});

import * as assert from 'assert';
import { classifyTask, type SwarmTask, UNPLACEABLE_GRACE_MS } from '../../src/backend/jobs/engines/swarm-tasks';

/** How a job run's phase and end are read from its Swarm task and the nodes (the cluster suite runs them for real). */
describe('a Swarm job task, classified', () => {
  const now = Date.parse('2026-12-06T10:00:10Z');
  const nodes = new Map([
    ['n1', { name: 'node-1', state: 'ready' }],
    ['n2', { name: 'node-2', state: 'down' }],
  ]);
  const task = (state: string, extra: Partial<SwarmTask> & { err?: string; code?: number } = {}): SwarmTask => ({
    ID: 't',
    ServiceID: 's',
    NodeID: extra.NodeID ?? 'n1',
    CreatedAt: extra.CreatedAt ?? '2026-12-06T10:00:00Z',
    Status: {
      State: state,
      Err: extra.err,
      Timestamp: '2026-12-06T10:00:09Z',
      ContainerStatus: extra.code === undefined ? undefined : { ExitCode: extra.code },
    },
  });

  it('is starting with no task yet, and until the task runs', () => {
    assert.deepStrictEqual(classifyTask([], nodes, now), { phase: 'starting' });
    for (const state of ['new', 'pending', 'assigned', 'preparing', 'starting']) {
      assert.strictEqual(classifyTask([task(state)], nodes, now).phase, 'starting', state);
    }
    assert.strictEqual(classifyTask([task('running')], nodes, now).phase, 'running');
  });

  it('ends with the container exit code: 0 succeeded, 3 failed without another reason', () => {
    assert.deepStrictEqual(classifyTask([task('complete', { code: 0 })], nodes, now), {
      phase: 'ended',
      exitCode: 0,
      failure: null,
      finishedAt: '2026-12-06T10:00:09Z',
    });
    const failed = classifyTask([task('failed', { code: 3, err: 'task: non-zero exit (3)' })], nodes, now);
    assert.deepStrictEqual([failed.exitCode, failed.failure], [3, null]);
  });

  it('says why a task was rejected (an image no node can pull)', () => {
    const r = classifyTask([task('rejected', { err: 'No such image: x@sha256:00' })], nodes, now);
    assert.strictEqual(r.phase, 'ended');
    assert.strictEqual(r.failure, 'the cluster refused to start it: No such image: x@sha256:00');
  });

  it('is lost when the node of a running task is down, naming the node', () => {
    const r = classifyTask([task('running', { NodeID: 'n2' })], nodes, now);
    assert.deepStrictEqual([r.phase, r.lost, r.failure], ['ended', true, 'node node-2 left the cluster']);
  });

  it('fails a task pending with "no suitable node" only after the grace, with Swarm\'s words', () => {
    const err = 'no suitable node (scheduling constraints not satisfied on 3 nodes)';
    const fresh = new Date(now - UNPLACEABLE_GRACE_MS + 500).toISOString();
    assert.strictEqual(classifyTask([task('pending', { err, CreatedAt: fresh })], nodes, now).phase, 'starting');
    const r = classifyTask([task('pending', { err })], nodes, now);
    assert.deepStrictEqual([r.phase, r.failure], ['ended', `no node of the cluster can run it: ${err}`]);
    // pending for another reason (an image being pulled elsewhere) waits
    assert.strictEqual(classifyTask([task('pending', { err: 'waiting' })], nodes, now).phase, 'starting');
  });

  it('reads the newest task of the service', () => {
    const old = task('failed', { code: 1, CreatedAt: '2026-12-06T10:00:00Z' });
    const newer = task('running', { CreatedAt: '2026-12-06T10:00:05Z' });
    assert.strictEqual(classifyTask([newer, old], nodes, now).phase, 'running');
  });
});

import * as assert from 'assert';
import { ApiError } from '../../src/backend/errors';
import { Scheduler } from '../../src/backend/scheduler/service';
import { at, defineJob, FakeClock, FakeRunner, PROJECT, schedulerStore } from './scheduler-helpers';

describe('pipelines: job dependencies (fake runner)', () => {
  let ctx: Awaited<ReturnType<typeof schedulerStore>>;
  let runner: FakeRunner;
  let scheduler: Scheduler;
  const clock = new FakeClock(at('2026-10-24T12:00:00Z'));

  function newScheduler(): Scheduler {
    runner = new FakeRunner(ctx);
    return new Scheduler({
      store: ctx.store,
      jobs: ctx.jobs,
      events: ctx.events,
      log: ctx.log,
      start: runner.start,
      clock,
    });
  }

  async function jobs(...names: string[]): Promise<void> {
    for (const n of names) {
      await defineJob(ctx.jobs, n);
    }
  }

  const settled = () => scheduler.pipelines.settled();
  const after = (job: string, ...upstreams: string[]) => scheduler.setUpstreams(PROJECT, job, upstreams);
  const runs = (job: string) => ctx.jobs.runs(ctx.jobs.definition(PROJECT, job).id);

  beforeEach(async () => {
    ctx = await schedulerStore();
    scheduler = newScheduler();
    await scheduler.start();
  });
  afterEach(() => {
    scheduler.stop();
    ctx.cleanup();
  });

  it('fans in: c runs once a and b succeeded in the same execution', async () => {
    await jobs('a', 'b', 'c');
    await after('c', 'a', 'b');
    await scheduler.runPipeline(PROJECT, []);
    assert.deepStrictEqual(runner.names().sort(), ['a', 'b']);
    await runner.finish('a', 'succeeded');
    await settled();
    assert.deepStrictEqual(runner.names().sort(), ['a', 'b'], 'c waits for b');
    const b = await runner.finish('b', 'succeeded');
    await settled();
    const c = runner.runOf('c');
    assert.deepStrictEqual([c.trigger, c.triggerDetail, c.executionId], ['dependency', b.id, b.executionId]);
    await runner.finish('c', 'succeeded');
    await settled();
    assert.strictEqual(scheduler.repo.activeExecutions().length, 0);
  });

  it('fans out, and skips the dependants of a failed job with the reason', async () => {
    await jobs('a', 'b', 'c', 'd', 'e');
    await after('b', 'a');
    await after('c', 'a');
    await after('d', 'b');
    await after('e', 'd', 'c');
    await scheduler.runManually(ctx.jobs.definition(PROJECT, 'a'));
    await runner.finish('a', 'succeeded');
    await settled();
    assert.deepStrictEqual(runner.names().sort(), ['a', 'b', 'c']);
    const b = await runner.finish('b', 'failed', 3);
    await settled();
    const d = runs('d')[0];
    assert.deepStrictEqual([d.state, d.trigger, d.triggerDetail], ['skipped', 'dependency', b.id]);
    assert.strictEqual(d.reason, `skipped: the upstream job "b" failed (run ${b.id})`);
    // e cannot run in this execution any more: it is skipped at once, not when c ends
    const e = runs('e')[0];
    assert.strictEqual(e.state, 'skipped');
    assert.match(e.reason ?? '', /the upstream job "d" was skipped/);
    assert.strictEqual(scheduler.repo.activeExecutions().length, 1, 'c still runs');
    await runner.finish('c', 'succeeded');
    await settled();
    assert.strictEqual(runs('e').length, 1);
    assert.deepStrictEqual(runner.names().sort(), ['a', 'b', 'c']);
    assert.strictEqual(scheduler.repo.activeExecutions().length, 0);
    assert.ok(ctx.log.lines.some((l) => l.includes('job "d" skipped: the upstream job "b" failed')));
  });

  it('re-runs a failed job and everything downstream of it ("re-run from here")', async () => {
    await jobs('a', 'b', 'c');
    await after('b', 'a');
    await after('c', 'b');
    await scheduler.runManually(ctx.jobs.definition(PROJECT, 'a'));
    await runner.finish('a', 'succeeded');
    await settled();
    const failed = await runner.finish('b', 'failed');
    await settled();
    assert.strictEqual(runs('c')[0].state, 'skipped');
    runner.started.length = 0;
    const rerun = await scheduler.rerunFrom(PROJECT, 'b');
    assert.deepStrictEqual(
      [rerun.trigger, rerun.triggerDetail],
      ['manual', `re-run from here after run ${failed.id} (failed)`],
    );
    assert.deepStrictEqual(runner.names(), ['b'], 'a is not run again');
    await runner.finish('b', 'succeeded');
    await settled();
    await runner.finish('c', 'succeeded');
    await settled();
    assert.deepStrictEqual(
      runs('c').map((r) => r.state),
      ['succeeded', 'skipped'],
    );
    await assert.rejects(
      async () => {
        await runner.start(ctx.jobs.definition(PROJECT, 'b'), { trigger: 'manual', detail: null, executionId: null });
        await scheduler.rerunFrom(PROJECT, 'b');
      },
      (e: ApiError) => e.statusCode === 409 && /is running/.test(e.message),
    );
  });

  it('refuses a cycle and names it', async () => {
    await jobs('a', 'b', 'c');
    await after('b', 'a');
    await after('c', 'b');
    await assert.rejects(after('a', 'c'), (e: ApiError) => {
      assert.strictEqual(e.statusCode, 409);
      assert.strictEqual(e.message, '"a" cannot run after "c": that makes a cycle a -> b -> c -> a.');
      return true;
    });
    await assert.rejects(after('a', 'a'), /that makes a cycle a -> a/);
    // replacing the upstreams of b is no cycle, even if its old edge would make one
    await after('b', 'c', 'a').catch((e: Error) => assert.match(e.message, /b -> c -> b/));
    assert.deepStrictEqual(
      scheduler.pipeline(PROJECT).edges.map((e) => `${e.from}->${e.to}`),
      ['a->b', 'b->c'],
    );
  });

  it('refuses a dependency on a job that does not exist, and removes the edges of a deleted job', async () => {
    await jobs('a', 'b', 'c');
    await assert.rejects(
      after('c', 'gone'),
      (e: ApiError) => e.statusCode === 404 && /"gone" does not exist/.test(e.message),
    );
    await after('b', 'a');
    await after('c', 'a', 'b');
    const a = ctx.jobs.definition(PROJECT, 'a');
    await ctx.jobs.delete(a); // publishes jobDeleted, which the scheduler follows
    await new Promise((r) => setTimeout(r, 50));
    const p = scheduler.pipeline(PROJECT);
    assert.deepStrictEqual(
      p.edges.map((e) => `${e.from}->${e.to}`),
      ['b->c'],
    );
    assert.ok(ctx.log.lines.some((l) => /a deleted job was an upstream of "b", "c"|"c", "b"/.test(l)));
  });

  it('goes on after a restart half-way through a pipeline, and runs nothing twice', async () => {
    await jobs('a', 'b', 'c', 'd');
    await after('b', 'a');
    await after('c', 'a');
    await after('d', 'b', 'c');
    await scheduler.runManually(ctx.jobs.definition(PROJECT, 'a'));
    await runner.finish('a', 'succeeded');
    await settled();
    assert.deepStrictEqual(runner.names().sort(), ['a', 'b', 'c']);
    const before = runner;
    // the backend stops; meanwhile b ends (its container's exit is recorded by the next reconcile)
    scheduler.stop();
    await before.finish('b', 'succeeded');
    await ctx.reopen();
    scheduler = newScheduler();
    await Promise.all([scheduler.start(), scheduler.resume(), scheduler.resume()]);
    await settled();
    assert.deepStrictEqual(runner.names(), [], 'nothing started again: c still runs');
    // c ends in the new backend: d starts, once
    const c = await ctx.jobs.updateRun(before.runOf('c').id, {
      state: 'succeeded',
      exitCode: 0,
      endedAt: new Date().toISOString(),
    });
    ctx.events.publish({ type: 'jobRunUpdated', run: c });
    await settled();
    await scheduler.resume();
    await settled();
    assert.deepStrictEqual(runner.names(), ['d']);
    await runner.finish('d', 'succeeded');
    await settled();
    for (const j of ['a', 'b', 'c', 'd']) {
      assert.strictEqual(runs(j).length, 1, `${j} ran once`);
    }
    assert.strictEqual(scheduler.repo.activeExecutions().length, 0);
  });

  it('starts the jobs whose upstreams ended while the backend was down', async () => {
    await jobs('a', 'b');
    await after('b', 'a');
    await scheduler.runManually(ctx.jobs.definition(PROJECT, 'a'));
    const before = runner;
    scheduler.stop();
    await before.finish('a', 'succeeded');
    await ctx.reopen();
    scheduler = newScheduler();
    await scheduler.start();
    await settled();
    assert.deepStrictEqual(runner.names(), ['b']);
    assert.strictEqual(runner.runOf('b').triggerDetail, before.runOf('a').id);
  });
});

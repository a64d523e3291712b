import * as assert from 'assert';
import { ApiClient } from '../../src/client/api-client';
import type { JobRun } from '../../src/protocol/containers';
import { startBackend, TEST_TOKEN } from './helpers';
import { dockerLabPerTest, BUSYBOX, until, waitForRun } from './docker-helpers';

const ENDED = ['succeeded', 'failed', 'stopped', 'skipped'] as const;

describe('pipelines and schedules of jobs on the real Docker Engine', function () {
  this.timeout(120000);
  const lab = dockerLabPerTest();

  const job = (name: string, script: string) =>
    lab.client.createJob({ name, image: BUSYBOX, command: ['sh', '-c', script] });

  /** The runs of a job once it has `count` runs that all ended. */
  const endedRuns = (name: string, count = 1) =>
    until(
      async () => {
        const runs = await lab.client.jobRuns(name);
        return runs.length >= count && runs.every((r) => (ENDED as readonly string[]).includes(r.state))
          ? runs
          : undefined;
      },
      60000,
      `${count} ended runs of ${name}`,
    );

  it('runs a three-job pipeline with fan-in (a -> c, b -> c): c once, after both', async () => {
    await job('a', 'sleep 1; echo a');
    await job('b', 'sleep 2; echo b');
    await job('c', 'echo c');
    await lab.client.setJobUpstreams('c', ['a', 'b']);
    const started = await lab.client.runPipeline();
    assert.strictEqual(started.length, 2);
    const [c] = await endedRuns('c');
    const [a] = await endedRuns('a');
    const [b] = await endedRuns('b');
    assert.deepStrictEqual([a.state, b.state, c.state, c.exitCode], ['succeeded', 'succeeded', 'succeeded', 0]);
    assert.strictEqual(c.trigger, 'dependency');
    assert.strictEqual(c.triggerDetail, b.id, 'triggered by the upstream that ended last');
    assert.ok(a.executionId && a.executionId === b.executionId && b.executionId === c.executionId);
    assert.ok(Date.parse(c.startedAt!) >= Date.parse(b.endedAt!), `${c.startedAt} after ${b.endedAt}`);
    await new Promise((r) => setTimeout(r, 500));
    assert.strictEqual((await lab.client.jobRuns('c')).length, 1, 'c ran once');
  });

  it('skips the dependant of a failing middle job, and re-runs from it', async () => {
    await job('first', 'echo first');
    await job('middle', 'echo failing; exit 3');
    await job('last', 'echo last');
    await lab.client.setJobUpstreams('middle', ['first']);
    await lab.client.setJobUpstreams('last', ['middle']);
    const first = await lab.client.runJob('first');
    assert.strictEqual(first.trigger, 'manual');
    const [last] = await endedRuns('last');
    const [middle] = await lab.client.jobRuns('middle');
    assert.deepStrictEqual(
      [middle.state, middle.exitCode, middle.trigger, middle.triggerDetail],
      ['failed', 3, 'dependency', first.id],
    );
    assert.deepStrictEqual([last.state, last.trigger, last.triggerDetail], ['skipped', 'dependency', middle.id]);
    assert.strictEqual(last.reason, `skipped: the upstream job "middle" failed (run ${middle.id})`);

    const rerun = await lab.client.rerunFrom('middle');
    assert.strictEqual(rerun.trigger, 'manual');
    assert.match(rerun.triggerDetail ?? '', /re-run from here after run .* \(failed\)/);
    const lasts = await endedRuns('last', 2);
    assert.deepStrictEqual(
      lasts.map((r) => r.state),
      ['skipped', 'skipped'],
    );
    assert.strictEqual((await lab.client.jobRuns('first')).length, 1, 'the upstream of the re-run is not run again');
  });

  it('goes on with a pipeline after a lab.backend restart half-way, and runs nothing twice', async () => {
    await job('extract', 'sleep 2; echo extract');
    await job('train', 'echo train');
    await job('report', 'echo report');
    await lab.client.setJobUpstreams('train', ['extract']);
    await lab.client.setJobUpstreams('report', ['train']);
    const extract = await lab.client.runJob('extract');
    // the lab.backend stops while extract runs; extract ends while no lab.backend watches
    lab.client.dispose();
    await lab.backend.stop('test restart');
    await new Promise((r) => setTimeout(r, 3000));
    lab.backend = await startBackend(lab.home);
    lab.client = new ApiClient(lab.backend.port, TEST_TOKEN);
    const [report] = await endedRuns('report');
    const runs = async (name: string): Promise<JobRun[]> => lab.client.jobRuns(name);
    const [e] = await runs('extract');
    const [t] = await runs('train');
    assert.deepStrictEqual([e.id, e.state], [extract.id, 'succeeded']);
    assert.deepStrictEqual([t.state, t.triggerDetail], ['succeeded', e.id]);
    assert.deepStrictEqual([report.state, report.triggerDetail], ['succeeded', t.id]);
    await new Promise((r) => setTimeout(r, 500));
    for (const name of ['extract', 'train', 'report']) {
      assert.strictEqual((await runs(name)).length, 1, `${name} ran once`);
    }
  });

  it('runs a job on a six-field cron schedule, recording the trigger', async () => {
    await job('tick', 'echo tick');
    await lab.client.scheduleJob('tick', { cron: '*/2 * * * * *', timeZone: 'UTC' });
    const run = await until(async () => (await lab.client.jobRuns('tick'))[0], 10000, 'a cron run');
    await lab.client.unscheduleJob('tick');
    assert.deepStrictEqual([run.trigger, run.triggerDetail], ['cron', '*/2 * * * * * (UTC)']);
    const ended = await waitForRun(lab.client, run.id, ['succeeded', 'failed']);
    assert.strictEqual(ended.state, 'succeeded');
  });

  it("records a clear failure when a scheduled job's image is missing, and goes on firing", async () => {
    await lab.client.createJob({ name: 'ghost', image: 'mllab-test/does-not-exist:1', command: ['true'] });
    await lab.client.scheduleJob('ghost', { cron: '* * * * * *', timeZone: 'UTC' });
    // a fire's run is queued for a moment, until the engine says the image is missing
    const failed = await until(async () => {
      const r = (await lab.client.jobRuns('ghost')).filter((x) => x.state === 'failed');
      return r.length >= 2 ? r : undefined;
    }, 20000);
    const schedule = await lab.client.getSchedule('ghost');
    await lab.client.unscheduleJob('ghost');
    assert.deepStrictEqual([failed[0].trigger, failed[1].trigger], ['cron', 'cron']);
    assert.match(
      failed[0].reason ?? '',
      /could not start: The image "mllab-test\/does-not-exist:1" is not found locally/,
    );
    assert.match(schedule.lastError ?? '', /not found locally/);
  });
});

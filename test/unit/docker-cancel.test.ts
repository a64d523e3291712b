import * as assert from 'assert';
import Docker from 'dockerode';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import { DockerRuntime } from '../../src/backend/runtime/docker';
import type { ContainerEvent } from '../../src/backend/runtime/runtime';
import { BUSYBOX, dockerLabPerTest, until } from './docker-helpers';

/** dockerode's container class, whose `logs` the test watches to see the engine's answer stream. */
const DockerContainer = require('dockerode/lib/container') as {
  prototype: { logs(this: unknown, ...args: unknown[]): Promise<unknown> };
};

/** Records the streams of the engine's log requests made while `fn` runs. */
async function watchingLogStreams<T>(fn: (streams: Readable[]) => Promise<T>): Promise<T> {
  const streams: Readable[] = [];
  const original = DockerContainer.prototype.logs;
  DockerContainer.prototype.logs = function (...args: unknown[]) {
    const answer = original.apply(this, args);
    void answer.then((s) => s instanceof Readable && streams.push(s)).catch(() => undefined);
    return answer;
  };
  try {
    return await fn(streams);
  } finally {
    DockerContainer.prototype.logs = original;
  }
}

/** Cancellation of the engine's long calls: a closed request stops what it asked for. */
describe('Docker cancellation (real Docker Engine)', function () {
  this.timeout(120_000);

  describe('a log stream', () => {
    const lab = dockerLabPerTest();

    it('followed through the API, closes its engine connection when the client closes the request', async () => {
      await lab.client.deployService({
        name: 'ticker',
        image: BUSYBOX,
        command: ['sh', '-c', 'while true; do echo tick; sleep 0.2; done'],
      });
      await until(async () => ((await lab.client.getService('ticker')).status === 'running' ? true : undefined));
      await watchingLogStreams(async (streams) => {
        const output = await lab.client.serviceLogs('ticker', true);
        const first = await new Promise<string>((resolve) => output.once('data', (c: Buffer) => resolve(String(c))));
        assert.match(first, /tick/);
        assert.strictEqual(streams.length, 1, 'one follow request to the engine');
        assert.strictEqual(streams[0].destroyed, false, 'following while the client reads');
        output.destroy();
        // the container prints forever: only the closed request can end the engine's stream
        await until(async () => (streams[0].destroyed ? true : undefined), 30_000, 'the engine’s log stream closed');
      });
      const service = await lab.client.getService('ticker');
      assert.strictEqual(service.status, 'running', 'the service itself goes on');
    });
  });

  describe('a build', () => {
    const runtime = new DockerRuntime();
    const docker = new Docker();
    const tag = `mllab-test/cancelled:${process.pid}`;
    let dir: string;
    before(function () {
      if (!fs.existsSync('/var/run/docker.sock')) {
        this.skip();
      }
    });
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-cancel-'))));
    afterEach(async () => {
      await runtime.removeImage(tag).catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('cancelled mid-way stops: the step’s container is killed and no image is tagged', async () => {
      fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${BUSYBOX}\nRUN sleep 30\n`);
      const events: ContainerEvent[] = [];
      const stream = (await docker.getEvents({
        filters: { type: ['container'], event: ['die'] },
      })) as NodeJS.ReadableStream;
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        const lines = (partial + String(chunk)).split('\n');
        partial = lines.pop() ?? ''; // a line cut between two chunks waits for its end
        for (const line of lines.filter(Boolean)) {
          const e = JSON.parse(line) as { Actor: { ID: string; Attributes: Record<string, string> } };
          events.push({
            containerId: e.Actor.ID,
            action: 'die',
            exitCode: Number(e.Actor.Attributes.exitCode),
            labels: e.Actor.Attributes,
          });
        }
      });
      try {
        const controller = new AbortController();
        const lines: string[] = [];
        let step: string | undefined;
        const build = runtime.build(
          dir,
          tag,
          'Dockerfile',
          (line) => {
            lines.push(line);
            step ??= /Running in ([0-9a-f]{12})/.exec(line)?.[1];
            if (step) {
              controller.abort();
            }
          },
          controller.signal,
        );
        await assert.rejects(build, (e: Error & { code?: string }) => e.code === 'cancelled');
        const aborted = Date.now();
        assert.ok(step, lines.join('\n'));
        // its end, from the engine's die event or (should the event stream miss it) from the container,
        // or the container removed (or being removed) by the engine: then it ended well before `sleep 30` could
        const died = await until(
          async () => {
            const event = events.find((e) => e.containerId.startsWith(step!));
            if (event) {
              return { exitCode: event.exitCode };
            }
            const c = (await docker.listContainers({ all: true })).find((x) => x.Id.startsWith(step!));
            if (c?.State === 'running' || c?.State === 'created') {
              return undefined;
            }
            const code = c ? /Exited \((\d+)\)/.exec(c.Status)?.[1] : undefined;
            // no code to read: removed, or being removed ("Removal In Progress", "Dead")
            return code === undefined
              ? { exitCode: null, goneAfterMs: Date.now() - aborted }
              : { exitCode: Number(code) };
          },
          60_000,
          `the build step's container ${step} stopped`,
        );
        if (died.exitCode === null) {
          assert.ok(died.goneAfterMs! < 20_000, `removed ${died.goneAfterMs} ms after the cancel: it ran to its end`);
        } else {
          assert.notStrictEqual(died.exitCode, 0, 'killed, not run to its end');
        }
        await until(
          async () =>
            (await docker.listContainers({ all: true })).some((c) => c.Id.startsWith(step!)) ? undefined : true,
          60_000,
          'the build step’s container removed',
        );
        assert.strictEqual(await runtime.image(tag), undefined);
      } finally {
        (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
      }
    });

    it('refuses at once a signal already aborted, without building', async () => {
      fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${BUSYBOX}\nRUN true\n`);
      const lines: string[] = [];
      await assert.rejects(
        runtime.build(dir, tag, 'Dockerfile', (l) => lines.push(l), AbortSignal.abort()),
        /Cancelled: the request to build the image/,
      );
      assert.deepStrictEqual(lines, []);
      assert.strictEqual(await runtime.image(tag), undefined);
    });
  });
});

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DockerRuntime } from '../../src/backend/runtime/docker';
import { LABELS, type ContainerEvent } from '../../src/backend/runtime/runtime';
import { BUSYBOX, readStream, requireDocker } from './docker-helpers';

/** The Docker implementation of ContainerRuntime on its own, against the real engine. */
describe('DockerRuntime (real Docker Engine)', function () {
  this.timeout(60000);
  const runtime = new DockerRuntime();
  const tag = `mllab-test/built:${process.pid}`;
  const labels = { [LABELS.home]: `/runtime-test/${process.pid}`, [LABELS.kind]: 'job' };
  let dir: string;

  before(async function () {
    await requireDocker(this);
  });
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-runtime-'))));
  afterEach(async () => {
    for (const c of await runtime.list(labels)) {
      await runtime.remove(c.id);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
  after(() => runtime.removeImage(tag).catch(() => undefined));

  it('builds an image from a Dockerfile, honouring .dockerignore, and streams the build output', async () => {
    fs.writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${BUSYBOX}\nCOPY . /app\nCMD ["ls", "/app"]\n`);
    fs.writeFileSync(path.join(dir, 'kept.txt'), 'kept');
    fs.writeFileSync(path.join(dir, 'secret.env'), 'secret');
    fs.writeFileSync(path.join(dir, '.dockerignore'), 'secret.env\n');
    const lines: string[] = [];
    await runtime.build(dir, tag, 'Dockerfile', (l) => lines.push(l));
    assert.ok(
      lines.some((l) => /Step 1\/3 : FROM/.test(l)),
      lines.join('\n'),
    );
    assert.ok(await runtime.image(tag));

    const seen: ContainerEvent[] = [];
    const sub = await runtime.events(labels, (e) => seen.push(e));
    const id = await runtime.create({
      image: tag,
      command: [],
      env: {},
      workingDir: null,
      labels: { ...labels, [LABELS.id]: 'r1' },
      mounts: [],
      ports: [],
      cpus: 0.5,
      memoryBytes: 64 * 1024 * 1024,
      gpus: 0,
      restart: 'no',
    });
    const output = await runtime.attach(id);
    await runtime.start(id);
    assert.deepStrictEqual((await readStream(output)).split('\n').filter(Boolean).sort(), ['Dockerfile', 'kept.txt']);
    for (let i = 0; i < 100 && !seen.some((e) => e.action === 'die'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    sub.close();
    const die = seen.find((e) => e.action === 'die');
    assert.deepStrictEqual([die?.containerId, die?.exitCode, die?.labels[LABELS.id]], [id, 0, 'r1']);
    const info = await runtime.inspect(id);
    assert.deepStrictEqual([info?.state, info?.exitCode], ['exited', 0]);
    assert.deepStrictEqual(
      (await runtime.list(labels)).map((c) => c.id),
      [id],
    );
  });

  it('says clearly when an image cannot be pulled, or Docker cannot be reached', async () => {
    await assert.rejects(runtime.pull('mllab-test/not-there:1'), /is not found locally and could not be pulled/);
    const nowhere = new DockerRuntime({ host: `unix://${path.join(dir, 'no.sock')}` });
    await assert.rejects(nowhere.ping(), /Docker is not running or cannot be reached .*: start it and press Retry/);
  });
});

import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { addDataset } from '../../src/backend/datasets/add';
import { DatasetRepository } from '../../src/backend/datasets/repository';
import { BlobStore } from '../../src/backend/files/blob-store';
import { registerModel } from '../../src/backend/models/register';
import { ModelRepository } from '../../src/backend/models/repository';
import { ProjectRepository } from '../../src/backend/projects/repository';
import type { RuntimeConnection } from '../../src/backend/runtime/connection';
import { DockerRuntime } from '../../src/backend/runtime/docker';
import { Images } from '../../src/backend/runtime/images';
import { containerRuntime } from '../../src/backend/runtime/setup';
import { ServiceManager } from '../../src/backend/services/manager';
import { ServiceRepository } from '../../src/backend/services/repository';
import type { BackendEvent } from '../../src/protocol/api';
import { BUSYBOX, removeContainersOf, requireDocker } from './docker-helpers';
import { defineJob, PROJECT, schedulerStore } from './scheduler-helpers';

/**
 * A change publishes its event from the layer that makes it, so that every caller (a route, the
 * scheduler, the ingest of runs) is heard by the windows alike. Here the services are called
 * directly, with the real event bus and store and no HTTP.
 */

type Lab = Awaited<ReturnType<typeof schedulerStore>> & {
  /** the events published since the last call */
  taken: () => BackendEvent[];
};

/** Gives each test a fresh store and event bus (`schedulerStore`) whose events it records. */
function storePerTest(): Lab {
  const lab = {} as Lab;
  beforeEach(async () => {
    const seen: BackendEvent[] = [];
    Object.assign(lab, await schedulerStore(), { taken: () => seen.splice(0) });
    lab.events.subscribe((e) => seen.push(e));
  });
  afterEach(() => lab.cleanup());
  return lab;
}

describe('events: published by the repositories and services that make the changes', () => {
  const lab = storePerTest();

  it('projects: created (and made active when none is), updated, made active, deleted', async () => {
    const projects = new ProjectRepository(lab.store, lab.events);
    const { project: a } = await projects.create('A');
    assert.deepStrictEqual(lab.taken(), [
      { type: 'projectCreated', project: a },
      { type: 'activeProjectChanged', projectId: a.id },
    ]);
    const { project: b } = await projects.create('B');
    assert.deepStrictEqual(lab.taken(), [{ type: 'projectCreated', project: b }], 'only the first becomes active');
    const renamed = await projects.update(b.id, { name: 'B2' });
    assert.deepStrictEqual(lab.taken(), [{ type: 'projectUpdated', project: renamed }]);
    await projects.setActive(b.id);
    assert.deepStrictEqual(lab.taken(), [{ type: 'activeProjectChanged', projectId: b.id }]);
    await projects.delete(a.id);
    assert.deepStrictEqual(lab.taken(), [{ type: 'projectDeleted', projectId: a.id }]);
    await projects.delete(b.id);
    assert.deepStrictEqual(lab.taken(), [
      { type: 'projectDeleted', projectId: b.id },
      { type: 'activeProjectChanged', projectId: null },
    ]);
  });

  it('jobs: changed when created or replaced, deleted', async () => {
    const { id, spec } = await defineJob(lab.jobs, 'train');
    assert.deepStrictEqual(lab.taken(), [{ type: 'jobChanged', job: lab.jobs.get(PROJECT, 'train') }]);
    const { job, outcome } = await lab.jobs.save(PROJECT, { ...spec, command: ['python', 'train.py'] }, null, true);
    assert.strictEqual(outcome, 'updated');
    assert.deepStrictEqual(job.command, ['python', 'train.py']);
    assert.deepStrictEqual(lab.taken(), [{ type: 'jobChanged', job }]);
    await lab.jobs.delete(job);
    assert.deepStrictEqual(lab.taken(), [{ type: 'jobDeleted', projectId: PROJECT, jobId: id }]);
  });

  it("datasets: an add's progress under its operation id, then the version added; the version deleted", async () => {
    const blobs = new BlobStore(lab.dir);
    const datasets = new DatasetRepository(lab.store, blobs, lab.events);
    const file = path.join(lab.dir, 'iris.csv');
    fs.writeFileSync(file, 'a,b\n1,2\n');
    const operation = { id: 'op-1', signal: new AbortController().signal };
    const deps = { blobs, datasets, events: lab.events, log: lab.log };
    const version = await addDataset(deps, PROJECT, { path: file }, operation);
    const events = lab.taken();
    assert.deepStrictEqual(events.pop(), { type: 'datasetVersionAdded', version });
    assert.ok(events.length > 0, 'the add reports its progress');
    for (const e of events) {
      assert.ok(e.type === 'operationProgress' && e.progress.operationId === 'op-1', JSON.stringify(e));
    }
    await datasets.deleteVersion(version);
    assert.deepStrictEqual(lab.taken(), [
      { type: 'datasetVersionDeleted', projectId: PROJECT, name: 'iris.csv', version: 1 },
    ]);
  });

  it('models: changed by each registration and change, deleted with its last version; a run registers once', async () => {
    const blobs = new BlobStore(lab.dir);
    const models = new ModelRepository(lab.store, blobs, lab.events);
    const deps = { blobs, models, log: lab.log };
    const file = path.join(lab.dir, 'model.pkl');
    fs.writeFileSync(file, 'weights');
    const changed = () => ({ type: 'modelChanged', model: models.get(PROJECT, 'iris') });

    const { version: v1 } = await registerModel(deps, PROJECT, { name: 'iris', path: file });
    assert.deepStrictEqual(lab.taken(), [changed()]);
    // as the ingest registers a run's `model` event: the same event again changes nothing
    const fromRun = { name: 'iris', path: file, sourceKey: 'run-1:0' };
    const { version: v2 } = await registerModel(deps, PROJECT, fromRun);
    assert.deepStrictEqual(lab.taken(), [changed()]);
    assert.strictEqual((await registerModel(deps, PROJECT, fromRun)).added, false);
    assert.deepStrictEqual(lab.taken(), []);

    const aliased = await models.setAlias(models.get(PROJECT, 'iris'), 'production', 1);
    assert.deepStrictEqual(lab.taken(), [{ type: 'modelChanged', model: aliased }]);
    const described = await models.update(aliased, { description: 'flowers' });
    assert.deepStrictEqual(lab.taken(), [{ type: 'modelChanged', model: described }]);
    const unaliased = await models.removeAlias(described, 'production');
    assert.deepStrictEqual(lab.taken(), [{ type: 'modelChanged', model: unaliased }]);

    await models.deleteVersion(v1);
    assert.deepStrictEqual(lab.taken(), [changed()]);
    await models.deleteVersion(v2);
    assert.deepStrictEqual(lab.taken(), [
      { type: 'modelDeleted', projectId: PROJECT, modelId: v2.modelId, name: 'iris' },
    ]);
  });
});

describe('events: published by the image and service layers, in a real Docker Engine', function () {
  this.timeout(60000);
  const lab = storePerTest();
  let connection: RuntimeConnection;
  before(async function () {
    await requireDocker(this);
  });
  beforeEach(async () => {
    connection = containerRuntime(lab.dir, undefined, lab.events, lab.log);
    await connection.start(10_000);
    connection.requireAvailable();
    lab.taken(); // dockerStatus
  });
  afterEach(async () => {
    connection.close();
    await removeContainersOf(lab.dir);
  });

  it("images: a build's output lines", async () => {
    const context = path.join(lab.dir, 'image');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'Dockerfile'), `FROM ${BUSYBOX}\nRUN echo built > /built.txt\n`);
    const tag = `mllab-test/events-image:${process.pid}`;
    try {
      const image = await new Images(connection, lab.events).build({ context, tag });
      assert.ok(image.tags.includes(tag));
    } finally {
      await new DockerRuntime().removeImage(tag).catch(() => undefined);
    }
    const events = lab.taken();
    assert.ok(
      events.length > 0 && events.every((e) => e.type === 'imageBuildOutput' && e.tag === tag),
      JSON.stringify(events),
    );
    assert.ok(events.some((e) => e.type === 'imageBuildOutput' && /RUN echo built/.test(e.line)));
  });

  it('services: updated once deployed, deleted once removed', async () => {
    const manager = new ServiceManager({
      home: lab.dir,
      repo: new ServiceRepository(lab.store),
      connection,
      events: lab.events,
      log: lab.log,
    });
    try {
      const service = await manager.deploy(PROJECT, { name: 'idle', image: BUSYBOX, command: ['sleep', '60'] });
      const updates = lab.taken().filter((e) => e.type === 'serviceUpdated');
      assert.deepStrictEqual(updates.at(-1), { type: 'serviceUpdated', service }, 'the deployed service comes last');
      await manager.remove(service);
      assert.deepStrictEqual(
        lab.taken().filter((e) => e.type === 'serviceDeleted'),
        [{ type: 'serviceDeleted', projectId: PROJECT, serviceId: service.id }],
      );
    } finally {
      manager.close();
    }
  });
});

import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BUSYBOX, dockerLabPerTest, readStream, until, waitForRun } from './docker-helpers';

/** Every file under `dir` (not following links). */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => {
    const st = fs.lstatSync(path.join(dir, f));
    return st.isFile();
  });
}

describe('hostile jobs: links in a run directory are never followed on the host', function () {
  this.timeout(90000);
  const lab = dockerLabPerTest();
  let outside: string;

  beforeEach(() => {
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-host-'));
  });
  afterEach(() => fs.rmSync(outside, { recursive: true, force: true }));

  it('a job linking host files as a model, through a linked folder, by absolute path, as events.jsonl and run.json reads and writes nothing of the host', async () => {
    const secret = path.join(outside, 'secret.bin');
    fs.writeFileSync(secret, `private key ${Math.random()}\n`);
    fs.mkdirSync(path.join(outside, 'dir'));
    fs.copyFileSync(secret, path.join(outside, 'dir', 'model.pkl'));
    // a host file that looks like events and a manifest: neither may be read nor written
    const hostEvents = path.join(outside, 'events.jsonl');
    const eventsText = `${JSON.stringify({ k: 'param', key: 'stolen', v: 'secret', t: 1 })}\n`.repeat(200);
    fs.writeFileSync(hostEvents, eventsText);
    const hostManifest = path.join(outside, 'run.json');
    const manifestText = JSON.stringify({ format: 1, id: 'x', name: 'stolen', status: 'completed', params: {} });
    fs.writeFileSync(hostManifest, manifestText);
    const model = (name: string, p: string) => JSON.stringify({ k: 'model', name, path: p, t: 1 });
    const script = [
      'cd $MLLAB_RUN_DIR',
      'mkdir -p artifacts',
      `ln -s ${secret} artifacts/model.pkl`,
      `ln -s ${path.join(outside, 'dir')} linked`,
      `echo '${JSON.stringify({ k: 'artifact', path: 'artifacts/model.pkl', source: 'x', t: 1 })}' >> events.jsonl`,
      `echo '${model('linked-file', 'artifacts/model.pkl')}' >> events.jsonl`,
      `echo '${model('linked-folder', 'linked/model.pkl')}' >> events.jsonl`,
      `echo '${model('absolute', secret)}' >> events.jsonl`,
      `echo '${model('dotdot', '../../../' + secret)}' >> events.jsonl`,
      `echo '${JSON.stringify({ k: 'm', key: 'loss', v: 0.5, s: 0, t: 1 })}' >> events.jsonl`,
      'sleep 2',
      `rm events.jsonl && ln -s ${hostEvents} events.jsonl`,
      `rm run.json && ln -s ${hostManifest} run.json`,
      'sleep 1',
    ].join(' && ');
    await lab.client.createJob({ name: 'hostile', image: BUSYBOX, command: ['sh', '-c', script] });
    const run = await waitForRun(lab.client, (await lab.client.runJob('hostile')).id, ['succeeded', 'failed']);
    assert.strictEqual(
      run.state,
      'succeeded',
      `${run.reason}: ${await readStream(await lab.client.jobRunLogs(run.id))}`,
    );
    const id = path.basename(run.runDir);
    let last: unknown;
    const details = await until(async () => {
      const d = await lab.client.getExperiment(id).catch((e: Error) => e.message);
      last = d;
      return typeof d === 'object' && d.status === 'completed' ? d : undefined;
    }).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify(last)}`);
    });
    // the lines written before the links were ingested; nothing of the host files was
    assert.deepStrictEqual(
      details.metrics.map((m) => m.key),
      ['loss'],
    );
    assert.strictEqual(details.params.stolen, undefined);
    assert.notStrictEqual(details.name, 'stolen');
    assert.deepStrictEqual(await lab.client.listModels(), []);
    const warnings = (details.warnings ?? []).join('\n');
    assert.match(warnings, /"linked-file".*symbolic link/);
    assert.match(warnings, /"linked-folder".*symbolic link/);
    assert.match(warnings, /"absolute".*not a path inside the run directory/);
    assert.match(warnings, /"dotdot".*outside/);
    assert.match(warnings, /events\.jsonl is a symbolic link: links are not followed: it was not read/);
    // no host file was written: the end went into a new run.json, not through the links
    assert.strictEqual(fs.readFileSync(hostEvents, 'utf8'), eventsText);
    assert.strictEqual(fs.readFileSync(hostManifest, 'utf8'), manifestText);
    assert.strictEqual(
      fs.readFileSync(secret, 'utf8'),
      fs.readFileSync(path.join(outside, 'dir', 'model.pkl'), 'utf8'),
    );
    const manifest = JSON.parse(fs.readFileSync(path.join(run.runDir, 'run.json'), 'utf8')) as { status: string };
    assert.strictEqual(manifest.status, 'completed');
    assert.ok(fs.lstatSync(path.join(run.runDir, 'events.jsonl')).isSymbolicLink());
    // nothing outside was copied into the blob store
    const digest = createHash('sha256').update(fs.readFileSync(secret)).digest('hex');
    const blobs = filesUnder(path.join(lab.home, 'blobs'));
    assert.ok(!blobs.some((b) => b.replace(/[\\/]/g, '').endsWith(digest)), blobs.join(', '));
    assert.ok(!blobs.some((b) => fs.readFileSync(path.join(lab.home, 'blobs', b)).equals(fs.readFileSync(secret))));
  });

  it('a regular model file of the run is still registered', async () => {
    const script = [
      'cd $MLLAB_RUN_DIR',
      'mkdir -p artifacts',
      'echo weights > artifacts/model.pkl',
      `echo '${JSON.stringify({ k: 'model', name: 'fine', path: 'artifacts/model.pkl', t: 1 })}' >> events.jsonl`,
    ].join(' && ');
    await lab.client.createJob({ name: 'honest', image: BUSYBOX, command: ['sh', '-c', script] });
    const run = await waitForRun(lab.client, (await lab.client.runJob('honest')).id, ['succeeded', 'failed']);
    assert.strictEqual(run.state, 'succeeded');
    const models = await until(async () => {
      const list = await lab.client.listModels();
      return list.length > 0 ? list : undefined;
    });
    assert.deepStrictEqual(
      models.map((m) => m.name),
      ['fine'],
    );
  });

  it("a job sees only its project's datasets, read-only, not the blob store", async () => {
    const mine = path.join(outside, 'mine.csv');
    fs.writeFileSync(mine, 'a,b\n1,2\n');
    const theirs = path.join(outside, 'theirs.csv');
    fs.writeFileSync(theirs, 'x,y\n3,4\n');
    const other = await lab.client.createProject('Other');
    const v = await lab.client.addDataset({ path: mine, name: 'mine' });
    await lab.client.addDataset({ path: theirs, name: 'theirs', project: other.id });
    // a model is in the blob store too: a job must not read it
    fs.writeFileSync(path.join(outside, 'm.pkl'), 'model weights');
    await lab.client.registerModel({ name: 'm', path: path.join(outside, 'm.pkl') });
    const script =
      'cd $MLLAB_HOME/blobs && find . -type f | sort; cat ./sha256/*/*; touch sha256/x 2>/dev/null || echo read-only';
    await lab.client.createJob({ name: 'reader', image: BUSYBOX, command: ['sh', '-c', script] });
    const run = await waitForRun(lab.client, (await lab.client.runJob('reader')).id, ['succeeded', 'failed']);
    const logs = await readStream(await lab.client.jobRunLogs(run.id));
    assert.strictEqual(
      logs,
      // the blob of the project's one dataset, and the index naming it (for mllab.dataset() inside)
      `./datasets.json\n./sha256/${v.sha256.slice(0, 2)}/${v.sha256.slice(2)}\na,b\n1,2\nread-only\n`,
      'only the project dataset, read-only',
    );
    // the per-run folder is gone once the run ended
    assert.ok(!fs.existsSync(path.join(lab.home, 'jobs', run.id, 'blobs')));

    // MLLAB_DATASETS narrows it to what the job names
    await lab.client.addDataset({ path: theirs, name: 'mine' }); // v2 of "mine"
    await lab.client.createJob({
      name: 'narrow',
      image: BUSYBOX,
      command: ['sh', '-c', 'cd $MLLAB_HOME/blobs && cat ./sha256/*/*'],
      env: { MLLAB_DATASETS: 'mine:v1' },
    });
    const narrow = await waitForRun(lab.client, (await lab.client.runJob('narrow')).id, ['succeeded', 'failed']);
    assert.strictEqual(await readStream(await lab.client.jobRunLogs(narrow.id)), 'a,b\n1,2\n');
  });
});

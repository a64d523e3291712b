// Start after a crash with a long journal: the metadata store replays the transactions of ingesting
// 100,000 small runs (each seen running, then finished: an INSERT of the experiment with its metric
// summaries, then an UPDATE of it with the summaries again), written by the real repository code and
// never checkpointed, as when snapshots kept failing. Side by side with two references on the same
// journal: reading it and JSON.parse of every record (the floor of any replay), and sql.js executing
// the same statements directly (prepared once per SQL text, one transaction, no checksums).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import type { Statement as SqlStatement } from 'sql.js';
import { ExperimentRepository, KeyState, RunRecord, emptyLogged } from '../src/backend/experiments/repository';
import { MemoryLogger } from '../src/backend/log';
import { ProjectRepository } from '../src/backend/projects/repository';
import { Store } from '../src/backend/store/database';
import { journalName } from '../src/backend/store/recovery';
import { loadSqlJs } from '../src/backend/store/sqljs';
import type { RunManifest } from '../src/protocol/experiments';
import { median, report } from './stats';
import { EventBus } from '../src/backend/events';

const RUNS = Number(process.env.MLLAB_BENCH_REPLAY_RUNS ?? 100_000);
const TIMES = Number(process.env.MLLAB_BENCH_REPLAY_TIMES ?? 3);
/** bump when the generated journal changes, so a cached one is not reused */
const VERSION = 3;
const KEYS = ['loss', 'accuracy', 'lr'];

function manifest(id: string, startedAt: string, done: boolean): RunManifest {
  return {
    format: 1,
    id,
    name: id,
    project: null,
    status: done ? 'completed' : 'running',
    startedAt,
    endedAt: done ? startedAt : null,
    exitCode: done ? 0 : null,
    pid: 4242,
    operator: 'bench',
    command: ['python', 'train.py', '--epochs', '3'],
    cwd: '/home/user/project',
    script: { path: '/home/user/project/train.py', copy: 'code/train.py' },
    host: { hostname: 'bench-host', os: 'linux', cpus: 2, memoryBytes: 8589934592, gpus: [] },
    runtime: { python: '3.11.7' },
    packages: null,
    git: null,
    params: { lr: 0.01, batch: 32, optimizer: 'adam' },
    tags: { kind: 'bench' },
  };
}

function keysAt(step: number, seed: number): Map<string, KeyState> {
  return new Map(
    KEYS.map((key, index) => {
      const v = ((seed * 7919 + index * 104729) % 1000) / 1000;
      return [key, { index, count: step + 1, last: v, lastRaw: v, lastStep: step, min: v / 2, max: v * 2 }];
    }),
  );
}

/** The journal of ingesting RUNS runs, with its ack marker, as a kill -9 leaves them (cached between runs). */
async function crashedStore(root: string): Promise<string> {
  const cached = path.join(root, `store-replay-v${VERSION}-${RUNS}`);
  if (fs.existsSync(path.join(cached, 'complete'))) {
    return cached;
  }
  fs.rmSync(cached, { recursive: true, force: true });
  const work = path.join(root, `store-replay-writing-${process.pid}`);
  fs.rmSync(work, { recursive: true, force: true });
  const t0 = performance.now();
  const store = await Store.open(work, new MemoryLogger(), { checkpointBytes: Number.MAX_SAFE_INTEGER });
  await ingestRuns(store);
  // the state of a kill -9 now: copy the files while the store is open (close() would checkpoint)
  fs.mkdirSync(cached, { recursive: true });
  for (const f of fs.readdirSync(work)) {
    fs.copyFileSync(path.join(work, f), path.join(cached, f));
  }
  store.close();
  fs.rmSync(work, { recursive: true, force: true });
  fs.writeFileSync(path.join(cached, 'complete'), '');
  const size = fs.statSync(path.join(cached, journalName(0))).size;
  process.stdout.write(
    `(generated the journal of ${RUNS.toLocaleString('en-US')} runs, ${(size / 1048576).toFixed(1)} MiB, in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
  );
  return cached;
}

/**
 * Saves RUNS runs as the ingest does, each seen running and then finished. Returns a save of an
 * update of run i (its metrics changed), for writing on after them.
 */
async function ingestRuns(store: Store): Promise<(i: number) => Promise<void>> {
  const { project } = await new ProjectRepository(store, new EventBus()).create('bench');
  const repo = new ExperimentRepository(store, '/home/user/project/.mllab/runs');
  const records: RunRecord[] = [];
  const pending: Promise<void>[] = [];
  for (let i = 0; i < RUNS; i++) {
    const id = `20260101-${String(i).padStart(6, '0')}-abcdef`;
    const startedAt = new Date(Date.UTC(2026, 0, 1) + i * 60000).toISOString();
    const running = manifest(id, startedAt, false);
    const record: RunRecord = {
      id,
      projectId: project.id,
      name: id,
      status: 'running',
      startedAt,
      endedAt: null,
      exitCode: null,
      operator: 'bench',
      dir: `/home/user/project/.mllab/runs/${id}`,
      manifestText: JSON.stringify(running),
      manifest: running,
      logged: { ...emptyLogged(), params: { seed: i } },
      offset: 1200,
      corruptLines: 0,
      skippedPoints: 0,
    };
    let keys = keysAt(9, i);
    pending.push(store.write((tx) => repo.save(tx, record, keys, keys.keys(), { isNew: true, manifestChanged: true })));
    const done = manifest(id, startedAt, true);
    Object.assign(record, {
      status: 'completed',
      endedAt: startedAt,
      exitCode: 0,
      manifest: done,
      manifestText: JSON.stringify(done),
      offset: 3600,
    });
    record.logged.final = { status: 'completed', exitCode: 0, t: Date.parse(startedAt) };
    keys = keysAt(29, i + 1);
    pending.push(
      store.write((tx) => repo.save(tx, record, keys, keys.keys(), { isNew: false, manifestChanged: true })),
    );
    records.push(record);
    if (pending.length >= 1000) {
      await Promise.all(pending.splice(0));
    }
  }
  await Promise.all(pending);
  return (i: number) => {
    const record = records[i % RUNS];
    const keys = keysAt(30 + Math.floor(i / RUNS), i);
    return store.write((tx) => repo.save(tx, record, keys, keys.keys(), { isNew: false, manifestChanged: false }));
  };
}

/**
 * The longest journal a crash can leave with the default checkpoints: RUNS runs ingested, then their
 * metrics updated until the journal is just short of the size that starts the next checkpoint (half
 * the database's), and the files copied as a kill -9 leaves them.
 */
async function worstCrash(root: string): Promise<{ dir: string; journalBytes: number; databaseBytes: number }> {
  const work = path.join(root, `store-replay-worst-${process.pid}`);
  fs.rmSync(work, { recursive: true, force: true });
  const store = await Store.open(work, new MemoryLogger());
  const update = await ingestRuns(store);
  const journalBytes = () => fs.statSync(path.join(work, journalName(store.currentGeneration))).size;
  const threshold = () => Math.max(4 * 1048576, store.size() / 2);
  for (let i = 0; journalBytes() < 0.97 * threshold();) {
    await store.settled();
    const batch: Promise<void>[] = [];
    for (let k = 0; k < 200; k++) {
      batch.push(update(i++));
    }
    await Promise.all(batch);
  }
  await store.settled();
  const dir = path.join(root, `store-replay-worst-copy-${process.pid}`);
  copyStore(work, dir);
  const result = { dir, journalBytes: journalBytes(), databaseBytes: store.size() };
  store.close();
  fs.rmSync(work, { recursive: true, force: true });
  return result;
}

function copyStore(from: string, to: string): void {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const f of fs.readdirSync(from)) {
    if (f !== 'complete') {
      fs.copyFileSync(path.join(from, f), path.join(to, f));
    }
  }
}

/** The journal's records as JSON texts are parsed: the floor of any replay. */
function forEachRecord(file: string, fn: (statements: [string, (string | number | null)[]][]) => void): number {
  const data = fs.readFileSync(file);
  let records = 0;
  let start = data.indexOf(0x0a) + 1; // the header
  for (;;) {
    const nl = data.indexOf(0x0a, start);
    if (nl < 0) {
      break;
    }
    fn(JSON.parse(data.toString('utf8', start + 17, nl)) as [string, (string | number | null)[]][]);
    records++;
    start = nl + 1;
  }
  return records;
}

async function sqljsDirect(file: string): Promise<{ ms: number; rows: number }> {
  const SQL = await loadSqlJs();
  const t0 = performance.now();
  const db = new SQL.Database();
  const cache = new Map<string, SqlStatement>();
  db.exec('BEGIN');
  forEachRecord(file, (statements) => {
    for (const [sql, params] of statements) {
      let stmt = cache.get(sql);
      if (!stmt) {
        stmt = db.prepare(sql);
        cache.set(sql, stmt);
      }
      stmt.run(params);
    }
  });
  db.exec('COMMIT');
  const ms = performance.now() - t0;
  const rows = Number(db.exec('SELECT COUNT(*) FROM experiments')[0].values[0][0]);
  cache.forEach((s) => s.free());
  db.close();
  return { ms, rows };
}

export async function storeReplayBench(): Promise<void> {
  const root = path.join(os.tmpdir(), 'mllab-bench-data');
  fs.mkdirSync(root, { recursive: true });
  const source = await crashedStore(root);
  const dir = path.join(root, `store-replay-open-${process.pid}`);
  const journal = path.join(source, journalName(0));
  const records = forEachRecord(journal, () => undefined);
  const ours: number[] = [];
  const parse: number[] = [];
  const direct: number[] = [];
  const clean: number[] = [];
  let peak = 0;
  try {
    for (let i = 0; i < TIMES; i++) {
      copyStore(source, dir);
      const log = new MemoryLogger();
      let t0 = performance.now();
      const store = await Store.open(dir, log);
      const n = Number(store.get('SELECT COUNT(*) AS n FROM experiments')?.n);
      ours.push(performance.now() - t0);
      peak = Math.max(peak, process.memoryUsage().rss);
      if (n !== RUNS) {
        throw new Error(`replay gave ${n} experiments, expected ${RUNS}:\n${log.lines.join('\n')}`);
      }
      store.close(); // a checkpoint: the next start loads the snapshot
      t0 = performance.now();
      const again = await Store.open(dir, new MemoryLogger());
      clean.push(performance.now() - t0);
      again.close();
      t0 = performance.now();
      forEachRecord(journal, () => undefined);
      parse.push(performance.now() - t0);
      const d = await sqljsDirect(journal);
      if (d.rows !== RUNS) {
        throw new Error(`sql.js directly gave ${d.rows} experiments`);
      }
      direct.push(d.ms);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const size = (fs.statSync(journal).size / 1048576).toFixed(0);
  const what = `start after a crash: replay ${records.toLocaleString('en-US')} journaled transactions of ${RUNS.toLocaleString('en-US')} runs (${size} MiB, median of ${TIMES})`;
  report(what, median(ours), median(parse), 'ms', 'read + JSON.parse of the same records');
  report(
    what,
    median(ours),
    median(direct),
    'ms',
    'sql.js running the same statements, prepared once, one transaction',
  );
  process.stdout.write(
    `start after a clean stop (snapshot of the same state): ${median(clean).toFixed(2)} ms; peak RSS during the replay: ${(peak / 1048576).toFixed(0)} MiB\n`,
  );

  // the longest journal a crash can leave with the default checkpoints
  const worst = await worstCrash(root);
  const afterCrash: number[] = [];
  const afterStop: number[] = [];
  try {
    for (let i = 0; i < TIMES; i++) {
      copyStore(worst.dir, dir);
      let t0 = performance.now();
      const store = await Store.open(dir, new MemoryLogger());
      afterCrash.push(performance.now() - t0);
      if (Number(store.get('SELECT COUNT(*) AS n FROM experiments')?.n) !== RUNS) {
        throw new Error('the worst-case replay lost runs');
      }
      store.close();
      t0 = performance.now();
      (await Store.open(dir, new MemoryLogger())).close();
      afterStop.push(performance.now() - t0);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(worst.dir, { recursive: true, force: true });
  }
  report(
    `start after a crash at the worst moment with the default checkpoints (${RUNS.toLocaleString('en-US')} runs: ${(worst.databaseBytes / 1048576).toFixed(0)} MiB database, ${(worst.journalBytes / 1048576).toFixed(0)} MiB journal, median of ${TIMES})`,
    median(afterCrash),
    median(afterStop),
    'ms',
    'start after a clean stop, the same state from its snapshot',
  );
}

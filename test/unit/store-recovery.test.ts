import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MemoryLogger } from '../../src/backend/log';
import { Store, StoreCorruptError } from '../../src/backend/store/database';
import { homePaths } from '../../src/common/home';
import { tempHome } from './helpers';
import { spawnBackend, waitForExit } from './process-helpers';

/**
 * The store damage matrix: each kind of damage to the store's files, after a kill -9 of a real
 * backend process and after a clean stop, with the outcome each must have: recovered with a log line
 * naming the files, or refused with a message naming the files and what to do (and nothing changed).
 */

const journalName = (g: number) => `journal-${String(g).padStart(6, '0')}.log`;
const snapshotName = (g: number) => `snapshot-${String(g).padStart(6, '0')}.sqlite`;

interface Template {
  dir: string;
  acknowledged: string[];
  /** the newest generation */
  gen: number;
}

/** Runs a real backend, makes acknowledged writes that cross checkpoints, then kills or stops it. */
async function makeTemplate(home: string, stop: 'kill' | 'clean'): Promise<Template> {
  const { child, client } = await spawnBackend(home, { MLLAB_STORE_CHECKPOINT_BYTES: '3000' });
  const db = homePaths(home).db;
  const acknowledged: string[] = [];
  const newest = () =>
    Math.max(
      ...fs
        .readdirSync(db)
        .filter((f) => f.startsWith('journal-'))
        .map(generationOf),
    );
  // at least two generations, and acknowledged writes in the newest journal
  for (let i = 0; acknowledged.length < 20 || newest() < 2 || records(path.join(db, journalName(newest()))) < 3; i++) {
    await client.createProject(`${stop}-${i}`);
    acknowledged.push(`${stop}-${i}`);
  }
  if (stop === 'kill') {
    child.kill('SIGKILL');
  } else {
    await client.shutdown();
  }
  await waitForExit(child);
  client.dispose();
  return { dir: db, acknowledged, gen: newest() };
}

const generationOf = (f: string) => Number(/(\d{6})/.exec(f)![1]);

function lines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
}

/** Whole records after the header. */
function records(file: string): number {
  return lines(file).length - 1;
}

/** Byte offset just after line `n` (0 = the header). */
function endOfLine(file: string, n: number): number {
  return lines(file)
    .slice(0, n + 1)
    .reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
}

/**
 * Rewrites lines of a format 2 journal (0 = the header) with valid chained checksums; returns the
 * checksum of each line.
 */
function rewriteLines(file: string, edit: (line: number, json: string) => string): string[] {
  const out: string[] = [];
  const sums: string[] = [];
  for (const [i, line] of lines(file).entries()) {
    const json = edit(i, line.slice(17));
    const sum = createHash('sha256')
      .update(sums[i - 1] ?? 'mllab journal format 2') // the header's seed
      .update(json)
      .digest('hex')
      .slice(0, 16);
    out.push(`${sum} ${json}`);
    sums.push(sum);
  }
  fs.writeFileSync(file, out.map((l) => `${l}\n`).join(''));
  return sums;
}

/**
 * Replaces the record after journal g's first project insert by a copy of that insert, and makes
 * everything that vouches for the journal agree (the next journal's header, the ack marker): the
 * journal is then exactly what a store would have written and acknowledged had it journaled a
 * statement that cannot be replayed (a UNIQUE constraint fails). Which record that is depends on what
 * the migrations journal first, so it is found, not assumed.
 */
function journalUnreplayableRecord(dir: string, g: number): void {
  const file = path.join(dir, journalName(g));
  const records = lines(file).map((l) => l.slice(17));
  const insert = records.findIndex((json, k) => k > 0 && json.includes('INSERT INTO projects'));
  assert.ok(insert > 0 && insert + 1 < records.length, `a project insert with a record after it in ${file}`);
  const sums = new Map<number, string[]>();
  sums.set(
    g,
    rewriteLines(file, (k, json) => (k === insert + 1 ? records[insert] : json)),
  );
  const next = path.join(dir, journalName(g + 1));
  if (fs.existsSync(next)) {
    sums.set(
      g + 1,
      rewriteLines(next, (k, json) => {
        if (k !== 0) {
          return json;
        }
        const header = JSON.parse(json) as { previous: { records: number; last: string } };
        header.previous.last = sums.get(g)![header.previous.records];
        return JSON.stringify(header);
      }),
    );
  }
  const ackFile = path.join(dir, 'acknowledged');
  const ack = JSON.parse(fs.readFileSync(ackFile, 'utf8').trimEnd().slice(17)) as {
    generation: number;
    records: number;
    last: string;
  };
  if (sums.has(ack.generation)) {
    ack.last = sums.get(ack.generation)![ack.records];
    const json = JSON.stringify(ack);
    const line = `${createHash('sha256').update(json).digest('hex').slice(0, 16)} ${json}`;
    fs.writeFileSync(ackFile, `${line.padEnd(255)}\n`);
  }
}

/** name -> sha256 of every file under dir, to show that a refusal changed nothing. */
function fingerprint(dir: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const f of fs.readdirSync(dir).sort()) {
    result[f] = createHash('sha256')
      .update(fs.readFileSync(path.join(dir, f)))
      .digest('hex');
  }
  return result;
}

const names = (store: Store) => new Set(store.all('SELECT name FROM projects').map((r) => String(r.name)));

type Outcome = { recovered: RegExp[] } | { refused: RegExp[]; acceptLoss: boolean };

interface Case {
  name: string;
  damage: (dir: string, t: Template) => void;
  kill: Outcome;
  clean: Outcome;
}

const J = (t: Template, back = 0) => journalName(t.gen - back);
const S = (t: Template, back = 0) => snapshotName(t.gen - back);
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The journal that holds the writes: the newest after a kill, the previous one after a clean stop. */
const writesJournal = (dir: string, t: Template) =>
  records(path.join(dir, J(t))) > 0 ? path.join(dir, J(t)) : path.join(dir, J(t, 1));

const CASES: Case[] = [
  {
    name: 'newest journal deleted',
    damage: (dir, t) => fs.rmSync(path.join(dir, J(t))),
    kill: {
      refused: [
        /journal-\d+\.log is missing: it held the writes made after snapshot-\d+\.sqlite \(\d+ acknowledged writes\)/,
      ],
      acceptLoss: true,
    },
    clean: {
      recovered: [
        /journal-\d+\.log is missing, but no write had been acknowledged after snapshot-\d+\.sqlite: nothing was lost/,
      ],
    },
  },
  {
    name: 'newest snapshot deleted',
    damage: (dir, t) => fs.rmSync(path.join(dir, S(t))),
    kill: {
      recovered: [
        /warn store: snapshot-\d+\.sqlite is missing/,
        /error store: recovered the metadata store from generation/,
      ],
    },
    clean: {
      recovered: [
        /warn store: snapshot-\d+\.sqlite is missing/,
        /error store: recovered the metadata store from generation/,
      ],
    },
  },
  {
    name: 'newest snapshot corrupted',
    damage: (dir, t) => {
      const file = path.join(dir, S(t));
      const bytes = fs.readFileSync(file);
      bytes.fill(0x42, 100, 2000);
      fs.writeFileSync(file, bytes);
    },
    kill: {
      recovered: [
        /snapshot-\d+\.sqlite is damaged \(its checksum/,
        /error store: recovered the metadata store from generation/,
      ],
    },
    clean: {
      recovered: [
        /snapshot-\d+\.sqlite is damaged \(its checksum/,
        /error store: recovered the metadata store from generation/,
      ],
    },
  },
  {
    name: 'journal cut in the middle of a record',
    damage: (dir, t) => {
      const file = writesJournal(dir, t);
      fs.truncateSync(file, endOfLine(file, 1) + 20); // record 2 cut after 20 bytes, later records gone
    },
    kill: {
      refused: [
        /journal-\d+\.log was cut short: it holds 1 whole records, but \d+ had been acknowledged \(as recorded in the file acknowledged\)/,
      ],
      acceptLoss: true,
    },
    clean: {
      recovered: [
        /the previous generation, kept to recover from a damaged newest snapshot, is damaged \(journal-\d+\.log is damaged or cut short\)/,
      ],
    },
  },
  {
    name: 'journal cut at a record boundary',
    damage: (dir, t) => {
      const file = writesJournal(dir, t);
      fs.truncateSync(file, endOfLine(file, records(file) - 1)); // the last whole record removed
    },
    kill: {
      refused: [/journal-\d+\.log was cut short: it holds \d+ whole records, but \d+ had been acknowledged/],
      acceptLoss: true,
    },
    clean: { recovered: [/previous generation.*is damaged \(journal-\d+\.log is damaged or cut short\)/] },
  },
  {
    name: 'torn last line (a write that was never acknowledged)',
    damage: (dir, t) => fs.appendFileSync(path.join(dir, J(t)), '0123456789abcdef [["INSERT INTO projects'),
    kill: { recovered: [/warn store: ignored \d+ bytes of an unfinished write at the end of journal-\d+\.log/] },
    clean: { recovered: [/warn store: ignored \d+ bytes of an unfinished write at the end of journal-\d+\.log/] },
  },
  {
    name: 'record corrupted (checksum)',
    damage: (dir, t) => {
      const file = writesJournal(dir, t);
      const all = lines(file);
      all[2] = `${all[2].slice(0, 40)}${all[2][40] === 'x' ? 'y' : 'x'}${all[2].slice(41)}`; // one byte changed
      fs.writeFileSync(file, all.map((l) => `${l}\n`).join(''));
    },
    kill: {
      refused: [/journal-\d+\.log is damaged at record 2: it holds 1 whole records, but \d+ had been acknowledged/],
      acceptLoss: true,
    },
    clean: { recovered: [/previous generation.*is damaged \(journal-\d+\.log is damaged or cut short\)/] },
  },
  {
    name: 'record that fails on replay (valid checksum, constraint violated)',
    // a record inserts the project of the record before it again: valid checksums, a UNIQUE constraint fails
    damage: (dir, t) => journalUnreplayableRecord(dir, generationOf(path.basename(writesJournal(dir, t)))),
    kill: {
      refused: [/record \d+ of journal-\d+\.log could not be replayed \(UNIQUE constraint failed/],
      acceptLoss: true,
    },
    // the newest generation does not need the older journal, and its checksums are valid
    clean: { recovered: [/info store: opened generation/] },
  },
  {
    name: 'record that fails on replay, in the journal a damaged newest snapshot needs',
    damage: (dir, t) => {
      journalUnreplayableRecord(dir, t.gen - 1);
      fs.rmSync(path.join(dir, S(t)));
    },
    kill: {
      refused: [
        /snapshot-\d+\.sqlite is missing/,
        /record \d+ of journal-\d+\.log could not be replayed \(UNIQUE constraint failed/,
      ],
      acceptLoss: true,
    },
    clean: {
      refused: [
        /snapshot-\d+\.sqlite is missing/,
        /record \d+ of journal-\d+\.log could not be replayed \(UNIQUE constraint failed/,
      ],
      acceptLoss: true,
    },
  },
  {
    name: 'both generations damaged',
    damage: (dir, t) => {
      fs.writeFileSync(path.join(dir, S(t)), 'garbage');
      fs.writeFileSync(path.join(dir, S(t, 1)), 'garbage');
    },
    kill: {
      refused: [
        /is damaged and no good state could be recovered/,
        /snapshot-\d+\.sqlite is damaged.*snapshot-\d+\.sqlite is damaged/,
        /move the folder aside/,
      ],
      acceptLoss: false,
    },
    clean: {
      refused: [
        /is damaged and no good state could be recovered/,
        /snapshot-\d+\.sqlite is damaged.*snapshot-\d+\.sqlite is damaged/,
        /move the folder aside/,
      ],
      acceptLoss: false,
    },
  },
  {
    name: 'extra unknown files',
    damage: (dir) => {
      fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
      fs.writeFileSync(path.join(dir, 'snapshot-000001.sqlite.bak'), 'old');
      fs.writeFileSync(path.join(dir, journalName(99)), 'not ours');
      fs.writeFileSync(path.join(dir, snapshotName(98)), 'not ours');
    },
    kill: {
      recovered: [
        /info store: ignoring files that are not part of the metadata store: .*notes\.txt/,
        /journal-000099\.log, snapshot-000098\.sqlite are newer than the last generation the store acknowledged/,
        /moved journal-000099\.log, snapshot-000098\.sqlite to damaged-/,
      ],
    },
    clean: {
      recovered: [
        /info store: ignoring files that are not part of the metadata store: .*snapshot-000001\.sqlite\.bak/,
        /journal-000099\.log, snapshot-000098\.sqlite are newer/,
      ],
    },
  },
  {
    name: 'newest journal emptied (zero length)',
    damage: (dir, t) => fs.writeFileSync(path.join(dir, J(t)), ''),
    kill: {
      refused: [
        /journal-\d+\.log is unreadable: it is empty: it held the writes made after snapshot-\d+\.sqlite \(\d+ acknowledged writes\)/,
      ],
      acceptLoss: true,
    },
    clean: { recovered: [/journal-\d+\.log is unreadable: it is empty, but no write had been acknowledged/] },
  },
  {
    name: 'newest snapshot emptied (zero length)',
    damage: (dir, t) => fs.writeFileSync(path.join(dir, S(t)), ''),
    kill: {
      recovered: [/snapshot-\d+\.sqlite is damaged \(it is empty\)/, /recovered the metadata store from generation/],
    },
    clean: {
      recovered: [/snapshot-\d+\.sqlite is damaged \(it is empty\)/, /recovered the metadata store from generation/],
    },
  },
  {
    name: 'acknowledged emptied (zero length)',
    damage: (dir) => fs.writeFileSync(path.join(dir, 'acknowledged'), ''),
    kill: {
      recovered: [
        /warn store: acknowledged is empty: a journal cut at a record boundary or a deleted newest journal cannot be detected this time/,
      ],
    },
    clean: { recovered: [/warn store: acknowledged is empty/] },
  },
  {
    name: 'acknowledged deleted',
    damage: (dir) => fs.rmSync(path.join(dir, 'acknowledged')),
    kill: {
      recovered: [
        /warn store: acknowledged is missing, so whether journal-\d+\.log was cut at a record boundary cannot be checked/,
      ],
    },
    clean: { recovered: [/warn store: acknowledged is missing/] },
  },
  {
    name: 'previous journal deleted',
    damage: (dir, t) => fs.rmSync(path.join(dir, J(t, 1))),
    kill: {
      recovered: [
        /previous generation.*is damaged \(journal-\d+\.log is missing\).*nothing was lost; writing a checkpoint/,
      ],
    },
    clean: { recovered: [/previous generation.*is damaged \(journal-\d+\.log is missing\)/] },
  },
  {
    name: 'newest journal and snapshot deleted (the whole newest generation)',
    damage: (dir, t) => {
      fs.rmSync(path.join(dir, J(t)));
      fs.rmSync(path.join(dir, S(t)));
    },
    kill: {
      refused: [/snapshot-\d+\.sqlite is missing/, /journal-\d+\.log is missing: it held the writes made after/],
      acceptLoss: true,
    },
    clean: {
      refused: [
        /snapshot-\d+\.sqlite is missing/,
        /journal-\d+\.log is missing: no write had been acknowledged in it, but it was needed to check that journal-\d+\.log is whole/,
      ],
      acceptLoss: true,
    },
  },
];

describe('store damage matrix (real backend killed or stopped, then a damaged file, then the real Store)', function () {
  this.timeout(120000);
  let root: string;
  const templates: Partial<Record<'kill' | 'clean', Template>> = {};
  const cleanups: Array<() => void> = [];

  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-store-matrix-'));
    for (const stop of ['kill', 'clean'] as const) {
      const { home, cleanup } = tempHome();
      cleanups.push(cleanup);
      templates[stop] = await makeTemplate(home, stop);
    }
  });
  after(() => {
    cleanups.forEach((c) => c());
    fs.rmSync(root, { recursive: true, force: true });
  });

  for (const [index, kase] of CASES.entries()) {
    for (const stop of ['kill', 'clean'] as const) {
      const outcome = kase[stop];
      const what = 'recovered' in outcome ? 'recovered' : 'refused';
      it(`${kase.name}, after ${stop === 'kill' ? 'kill -9' : 'a clean stop'}: ${what}`, async () => {
        const t = templates[stop]!;
        const dir = path.join(root, `${stop}-${index}`);
        fs.cpSync(t.dir, dir, { recursive: true });
        kase.damage(dir, t);
        const log = new MemoryLogger();
        if ('recovered' in outcome) {
          const store = await Store.open(dir, log);
          const text = log.lines.join('\n');
          for (const re of outcome.recovered) {
            assert.match(text, re);
          }
          const stored = names(store);
          const lost = t.acknowledged.filter((n) => !stored.has(n));
          assert.deepStrictEqual(lost, [], `acknowledged writes lost:\n${text}`);
          // the recovered store takes writes and opens cleanly afterwards
          await store.write((tx) => {
            tx.run("INSERT INTO projects (id, name, created_at, updated_at) VALUES ('after', 'after', 'now', 'now')");
          });
          const reopenLog = new MemoryLogger();
          const again = await Store.open(dir, reopenLog);
          assert.ok(names(again).has('after'));
          assert.strictEqual(t.acknowledged.filter((n) => !names(again).has(n)).length, 0);
          assert.deepStrictEqual(
            reopenLog.lines.filter((l) => /^(warn|error)/.test(l) && !/ignoring files/.test(l)),
            [],
            'the second start finds nothing wrong',
          );
          again.close();
        } else {
          const before = fingerprint(dir);
          let message = '';
          await assert.rejects(Store.open(dir, log), (e: Error) => {
            assert.ok(e instanceof StoreCorruptError, e.stack);
            message = e.message;
            return true;
          });
          for (const re of outcome.refused) {
            assert.match(message, re);
          }
          assert.match(message, /ML Lab did not start/);
          assert.match(message, /restore the files named above from a backup/i);
          assert.deepStrictEqual(fingerprint(dir), before, 'a refusal changes nothing');
          if (outcome.acceptLoss) {
            assert.match(message, /create an empty file named accept-loss in that folder/);
            fs.writeFileSync(path.join(dir, 'accept-loss'), '');
            const acceptLog = new MemoryLogger();
            const store = await Store.open(dir, acceptLog);
            const text = acceptLog.lines.join('\n');
            assert.match(
              text,
              /error store: accept-loss accepts losing acknowledged writes: .*Started from .*; the store's files were moved to damaged-/,
            );
            const folder = fs.readdirSync(dir).find((f) => f.startsWith('damaged-'))!;
            assert.ok(folder, fs.readdirSync(dir).join(', '));
            const kept = fs.readdirSync(path.join(dir, folder));
            assert.ok(kept.includes('accept-loss') && kept.some((f) => f.startsWith('journal-')), kept.join(', '));
            assert.ok(t.acknowledged.some((n) => !names(store).has(n)) || stop === 'clean', 'the loss was real');
            store.close();
            const afterLog = new MemoryLogger();
            (await Store.open(dir, afterLog)).close();
            assert.deepStrictEqual(
              afterLog.lines.filter((l) => /^(warn|error)/.test(l)),
              [],
            );
          } else {
            assert.doesNotMatch(message, /accept-loss/);
          }
        }
      });
    }
  }

  it('a backend process refuses to start on a cut journal, says what to do, and starts after accept-loss', async () => {
    const t = templates.kill!;
    const { home, cleanup } = tempHome();
    try {
      fs.mkdirSync(home, { recursive: true });
      fs.cpSync(t.dir, homePaths(home).db, { recursive: true });
      const file = path.join(homePaths(home).db, J(t));
      fs.truncateSync(file, endOfLine(file, records(file) - 1));
      await assert.rejects(
        spawnBackend(home),
        new RegExp(`${esc(J(t))} was cut short.*ML Lab did not start.*create an empty file named accept-loss`, 's'),
      );
      fs.writeFileSync(path.join(homePaths(home).db, 'accept-loss'), '');
      const { child, client } = await spawnBackend(home);
      const stored = new Set((await client.listProjects()).map((p) => p.name));
      assert.strictEqual(stored.size, t.acknowledged.length - 1, 'all but the cut write');
      await client.shutdown();
      await waitForExit(child);
      client.dispose();
      assert.match(fs.readFileSync(homePaths(home).log, 'utf8'), /accept-loss accepts losing acknowledged writes/);
    } finally {
      cleanup();
    }
  });
});

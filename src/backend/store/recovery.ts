import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Database, SqlJsStatic } from 'sql.js';
import type { Logger } from '../log';
import { fsyncDir } from '../../common/fsync';
import { ACK_FILE, AckMarker, AckState } from './ack';
import { JournalContents, JournalPosition, JournalUnreadableError, readJournal } from './journal';
import { Replayer } from './replay';

export class StoreCorruptError extends Error {}

/** An empty file of this name in the store's folder accepts the loss the store refused to start with. */
export const ACCEPT_LOSS_FILE = 'accept-loss';

export const snapshotName = (g: number) => `snapshot-${String(g).padStart(6, '0')}.sqlite`;
export const journalName = (g: number) => `journal-${String(g).padStart(6, '0')}.log`;
const SNAPSHOT = /^snapshot-(\d{6})\.sqlite$/;
const JOURNAL = /^journal-(\d{6})\.log$/;
export const isGenerationFile = (f: string) => SNAPSHOT.test(f) || JOURNAL.test(f);
export const generationOf = (f: string) => Number((SNAPSHOT.exec(f) ?? JOURNAL.exec(f))?.[1] ?? NaN);

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The state rebuilt from the files, and what the store must do before it takes writes. */
export interface Recovered {
  readonly db: Database;
  /** the journal to append to, read whole; absent when a fresh generation must be written at once */
  readonly head?: { readonly file: string; readonly contents: JournalContents };
  /** the generation to continue from (the head's, or the one a fresh generation follows) */
  readonly generation: number;
  /** checkpoints to write at once (a damaged snapshot or fallback, an old journal format) */
  readonly checkpoints: number;
  readonly replayed: number;
  /**
   * Files to move into a damaged-<date> folder once the fresh generation is on disk (not before: a
   * crash in between must still find a store, never an empty folder), and what to log then.
   */
  readonly setAsideAfterStart?: { readonly files: string[]; readonly message?: (folder: string) => string };
}

/** What is known to have been acknowledged in a journal, and who says so. */
interface Requirement extends JournalPosition {
  readonly source: string;
}

interface Attempt {
  db?: Database;
  /** what the rebuilt state contains, for the message that offers to accept the loss */
  reached: string;
  /** the base snapshot could not be used: an older generation may still do */
  snapshotUnusable: boolean;
  complete: boolean;
  replayed: number;
  /** the head journal is unreadable, but nothing had been acknowledged in it */
  headLostEmpty: boolean;
}

/** sqlite's page cache while replaying, in KiB (negative: a size, not a count of pages) */
const REPLAY_CACHE_SIZE = -65536;

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/**
 * Rebuilds the metadata store from its files (see docs/ARCHITECTURE.md, "Durability of the metadata
 * store"). Every journal is checked against what is known to have been acknowledged in it (the next
 * generation's header, the ack marker), so that a deleted, cut or damaged journal is never taken for
 * a crash that lost nothing. Returns undefined for a folder without a store. Throws
 * StoreCorruptError, having changed nothing, when acknowledged writes cannot all be rebuilt, unless
 * an accept-loss file says to start from what can be.
 */
export function recoverStore(SQL: SqlJsStatic, dir: string, log: Logger): Recovered | undefined {
  return new Recovery(SQL, dir, log).run();
}

class Recovery {
  private readonly problems: string[] = [];
  private readonly notes: Array<['info' | 'warn', string]> = [];
  private readonly journals = new Map<number, JournalContents | string>();
  private readonly snapshots = new Set<number>();
  private readonly journalFiles = new Set<number>();
  private readonly unknown: string[] = [];
  private ack: AckState | undefined;
  private ackProblem: string | undefined;
  private acceptLoss = false;
  /** files left out of the store: set aside when it starts */
  private readonly aside: string[] = [];
  /** a journal of an interrupted checkpoint: removed when the store starts */
  private readonly remove: string[] = [];

  constructor(
    private readonly SQL: SqlJsStatic,
    private readonly dir: string,
    private readonly log: Logger,
  ) {}

  run(): Recovered | undefined {
    this.inventory();
    if (this.unknown.length > 0) {
      this.log.info(`store: ignoring files that are not part of the metadata store: ${this.unknown.join(', ')}`);
    }
    const ackRead = AckMarker.read(path.join(this.dir, ACK_FILE));
    if (typeof ackRead === 'string') {
      this.ackProblem = `${ACK_FILE} ${ackRead}`;
    } else {
      this.ack = ackRead;
    }
    const ackProblem = this.ackProblem;
    if (this.snapshots.size === 0 && this.journalFiles.size === 0 && !this.ack) {
      if (ackProblem === undefined) {
        return undefined;
      }
      this.problems.push(ackProblem, 'no snapshot or journal is left');
      this.refuse([]);
    }
    if (ackProblem !== undefined) {
      this.notes.push([
        'warn',
        `${ackProblem}: a journal cut at a record boundary or a deleted newest journal cannot be detected this time; it is written anew`,
      ]);
    }
    const head = this.headGeneration();
    const attempts: Attempt[] = [];
    let chosen: Attempt | undefined;
    const oldest = Math.min(head, ...this.journalFiles, ...this.snapshots);
    for (let base = head; base >= oldest; base--) {
      const a = this.attempt(base, head);
      attempts.push(a);
      if (a.complete) {
        chosen = a;
        break;
      }
      if (!a.snapshotUnusable) {
        break; // the journals are damaged: an older snapshot replays the same journals
      }
    }
    if (!chosen) {
      const partial = attempts.find((a) => a.db);
      if (!partial || !this.acceptLoss) {
        attempts.forEach((a) => a.db?.close());
        this.refuse(partial ? [partial.reached] : []);
      }
      return this.acceptTheLoss(partial!, head, attempts);
    }
    attempts.filter((a) => a !== chosen).forEach((a) => a.db?.close());
    return this.start(chosen, head, attempts.length - 1);
  }

  private inventory(): void {
    for (const f of fs.readdirSync(this.dir)) {
      if (SNAPSHOT.test(f)) {
        this.snapshots.add(generationOf(f));
      } else if (JOURNAL.test(f)) {
        this.journalFiles.add(generationOf(f));
      } else if (f === ACCEPT_LOSS_FILE) {
        this.acceptLoss = true;
      } else if (f !== ACK_FILE && !f.includes('.tmp-') && !f.startsWith('damaged-')) {
        this.unknown.push(f);
      }
    }
  }

  private journal(g: number): JournalContents | string {
    let c = this.journals.get(g);
    if (c === undefined) {
      if (!this.journalFiles.has(g)) {
        c = 'is missing';
      } else {
        try {
          c = readJournal(path.join(this.dir, journalName(g)));
          if (c.header.generation !== g) {
            c = `belongs to generation ${c.header.generation}, not ${g}`;
          }
        } catch (e) {
          c =
            e instanceof JournalUnreadableError
              ? `is unreadable: ${e.message}`
              : `is unreadable (${(e as Error).message})`;
        }
      }
      this.journals.set(g, c);
    }
    return c;
  }

  /**
   * The newest generation of the store. With the ack marker it is the marker's generation, or the
   * next one when a checkpoint had committed its journal before the marker was updated; files of
   * later generations are not part of the store. Without the marker it is the newest file.
   */
  private headGeneration(): number {
    let head: number;
    if (this.ack) {
      head = this.ack.generation;
      const next = head + 1;
      if (this.journalFiles.has(next)) {
        const c = this.journal(next);
        if (typeof c === 'string') {
          this.aside.push(journalName(next));
          this.notes.push(['warn', `${journalName(next)} ${c}; nothing had been acknowledged in it`]);
        } else if (!this.snapshots.has(next) && c.records === 0) {
          // created by a checkpoint that did not get to write its snapshot (journal first, then snapshot)
          this.remove.push(journalName(next));
          this.notes.push([
            'info',
            `a checkpoint was interrupted before it wrote ${snapshotName(next)}; nothing was lost, ${journalName(next)} is removed`,
          ]);
        } else {
          head = next;
        }
      }
      const later = [...this.journalFiles].filter((g) => g > head && !this.remove.includes(journalName(g)));
      const laterSnapshots = [...this.snapshots].filter((g) => g > head);
      const foreign = [...later.map(journalName), ...laterSnapshots.map(snapshotName)].filter(
        (f) => !this.aside.includes(f),
      );
      if (foreign.length > 0) {
        this.aside.push(...foreign);
        this.notes.push([
          'warn',
          `${foreign.join(', ')} ${foreign.length === 1 ? 'is' : 'are'} newer than the last generation the store acknowledged (${head}), so not part of it`,
        ]);
      }
      for (const g of [...later, ...laterSnapshots]) {
        this.journalFiles.delete(g);
        this.snapshots.delete(g);
      }
    } else {
      head = Math.max(...this.journalFiles, ...this.snapshots);
    }
    return head;
  }

  /** What is known to have been acknowledged in journal g. */
  private requirements(g: number, head: number): Requirement[] {
    const r: Requirement[] = [];
    if (g < head) {
      const next = this.journal(g + 1);
      if (typeof next !== 'string' && next.header.previous && next.header.previous.generation === g) {
        r.push({ ...next.header.previous, source: `the header of ${journalName(g + 1)}` });
      }
    }
    if (this.ack && this.ack.generation === g) {
      r.push({ ...this.ack, source: `the file ${ACK_FILE}` });
    }
    return r;
  }

  /** Loads snapshot `base` and replays journals base..head, stopping at the first problem. */
  private attempt(base: number, head: number): Attempt {
    const a: Attempt = {
      reached: '',
      snapshotUnusable: true,
      complete: false,
      replayed: 0,
      headLostEmpty: false,
    };
    const own = this.journal(base);
    let expected: string | null;
    if (typeof own !== 'string') {
      expected = own.header.snapshotSha256;
    } else if (this.ack && this.ack.generation === base) {
      expected = this.ack.snapshotSha256;
    } else {
      this.problem(this.lostJournal(base, own, head));
      return a;
    }
    const growth = this.replayBytes(base, head);
    if (expected === null) {
      a.db = growth > 0 ? this.roomyDatabase(this.emptyImage(), growth) : new this.SQL.Database();
      a.reached = 'an empty store';
    } else {
      const file = path.join(this.dir, snapshotName(base));
      if (!this.snapshots.has(base)) {
        this.problem(`${snapshotName(base)} is missing`);
        return a;
      }
      const data = fs.readFileSync(file);
      if (sha256(data) !== expected) {
        this.problem(
          `${snapshotName(base)} is damaged (${data.length === 0 ? 'it is empty' : 'its checksum does not match the one recorded when it was written'})`,
        );
        return a;
      }
      a.db = this.roomyDatabase(data, growth);
      a.reached = snapshotName(base);
    }
    a.snapshotUnusable = false;
    for (let g = base; g <= head; g++) {
      const c = this.journal(g);
      const required = this.requirements(g, head);
      if (typeof c === 'string') {
        if (g === head && g === base && this.ack?.generation === g && this.ack.records === 0) {
          a.headLostEmpty = true; // the snapshot is the state that was acknowledged
          this.notes.push([
            'warn',
            `${journalName(g)} ${c}, but no write had been acknowledged after ${snapshotName(g)}: nothing was lost`,
          ]);
          break;
        }
        this.problem(this.lostJournal(g, c, head));
        return a;
      }
      const n = c.records;
      let replayable = n;
      let stop = false;
      for (const r of required) {
        if (n < r.records) {
          const how = c.damagedAt !== null && !c.tornTail ? `is damaged at record ${c.damagedAt}` : 'was cut short';
          this.problem(
            `${journalName(g)} ${how}: it holds ${n} whole records, but ${r.records} had been acknowledged (as recorded in ${r.source}), so ${plural(r.records - n, 'acknowledged write')} cannot be replayed`,
          );
          stop = true;
          break;
        }
        if (c.checksums[r.records] !== r.last) {
          this.problem(
            `${journalName(g)} is not the journal that was acknowledged (its record ${r.records} is not the one recorded in ${r.source}): it was replaced or rewritten`,
          );
          replayable = 0;
          stop = true;
          break;
        }
      }
      if (!stop && c.damagedAt !== null) {
        const extra = c.totalBytes - c.ends[n];
        if (c.tornTail) {
          this.notes.push([
            'warn',
            `ignored ${extra} bytes of an unfinished write at the end of ${journalName(g)} (a crash during a write that was never acknowledged)`,
          ]);
        } else if (required.length > 0) {
          this.notes.push([
            'warn',
            `ignored ${extra} damaged bytes at the end of ${journalName(g)}, after its last acknowledged record (${n}): writes that were never acknowledged`,
          ]);
        } else {
          this.problem(
            `${journalName(g)} is damaged at record ${c.damagedAt}: the records from there on cannot be replayed`,
          );
          stop = true;
        }
      }
      const failed = this.replay(a, c, replayable, g);
      if (failed !== undefined) {
        this.problem(
          `record ${failed.record} of ${journalName(g)} could not be replayed (${failed.message}), so neither it nor the records after it can be`,
        );
        return a;
      }
      if (stop) {
        return a;
      }
    }
    a.complete = true;
    return a;
  }

  /** The bytes of journal records to replay from `base` to `head`: about what the DB will grow by. */
  private replayBytes(base: number, head: number): number {
    let bytes = 0;
    for (let g = base; g <= head; g++) {
      const c = this.journal(g);
      if (typeof c !== 'string') {
        bytes += c.ends[c.records] - c.ends[0];
      }
    }
    return bytes;
  }

  /** The image of an empty database (one page: a header with nothing in it). */
  private emptyImage(): Uint8Array {
    const db = new this.SQL.Database();
    try {
      db.run('PRAGMA user_version = 0');
      return db.export();
    } finally {
      db.close();
    }
  }

  /**
   * A DB loaded from `image` in a file with room to grow by `growth` bytes. sql.js keeps the DB in a
   * file in memory that grows by an eighth each time it is full, copying all of it: replaying a
   * journal of 600 MB spent a third of its time there. sqlite ignores the zeros after its last page
   * (the header says how many pages there are), and an export holds only its pages.
   */
  private roomyDatabase(image: Uint8Array, growth: number): Database {
    if (growth < 1024 * 1024) {
      return new this.SQL.Database(image);
    }
    const data = new Uint8Array(image.length + growth);
    data.set(image);
    return new this.SQL.Database(data);
  }

  private lostJournal(g: number, why: string, head: number): string {
    const required = this.requirements(g, head);
    const count =
      required.length > 0 ? ` (${plural(Math.max(...required.map((r) => r.records)), 'acknowledged write')})` : '';
    if (required.length > 0 && required.every((r) => r.records === 0)) {
      return `${journalName(g)} ${why}: no write had been acknowledged in it, but it was needed to check that ${journalName(g - 1)} is whole`;
    }
    return `${journalName(g)} ${why}: it held the writes made after ${snapshotName(g)}${count}`;
  }

  /**
   * Replays records 1..count of journal g onto the attempt's DB, all in one transaction (committing
   * each record on its own cost more than running it). When record k fails, the transaction is
   * rolled back and records 1..k-1 are replayed again, so the state is the one before record k.
   */
  private replay(
    a: Attempt,
    journal: JournalContents,
    count: number,
    g: number,
  ): { record: number; message: string } | undefined {
    const db = a.db!;
    let failed: { record: number; message: string } | undefined;
    const replayer = new Replayer(this.SQL, db);
    // the rollback journal of the replay's transaction in memory, not in sql.js's in-memory file, and
    // a page cache large enough that index pages are not written out to that file again and again
    const cacheSize = Number(db.exec('PRAGMA cache_size')[0]?.values[0]?.[0] ?? -2000);
    db.exec('PRAGMA journal_mode = MEMORY');
    db.exec(`PRAGMA cache_size = ${REPLAY_CACHE_SIZE}`);
    const run = (records: number) => {
      db.exec('BEGIN');
      for (let k = 1; k <= records; k++) {
        try {
          replayer.run(journal.transaction(k));
        } catch (e) {
          db.exec('ROLLBACK');
          failed = { record: k, message: e instanceof Error ? e.message : String(e) };
          return;
        }
      }
      db.exec('COMMIT');
    };
    try {
      run(count);
      if (failed) {
        const f: { record: number; message: string } = failed;
        failed = undefined;
        run(f.record - 1); // what the records before it give (as deterministic as the first time)
        failed ??= f;
      }
    } finally {
      replayer.free();
      db.exec('PRAGMA journal_mode = DELETE');
      db.exec(`PRAGMA cache_size = ${Number.isFinite(cacheSize) ? cacheSize : -2000}`);
    }
    const done = failed ? failed.record - 1 : count;
    a.replayed += done;
    if (done > 0) {
      a.reached += ` and ${plural(done, 'record')} of ${journalName(g)}`;
    }
    return failed;
  }

  private problem(p: string): void {
    if (!this.problems.includes(p)) {
      this.problems.push(p);
    }
  }

  private refuse(reached: string[]): never {
    const where = `The metadata store in ${this.dir}`;
    const list = this.problems.join('; ');
    if (reached.length === 0) {
      throw new StoreCorruptError(
        `${where} is damaged and no good state could be recovered (${list}). ML Lab did not start, so nothing was overwritten: ` +
          `restore the files named above from a backup, or move the folder aside to start with an empty store.`,
      );
    }
    throw new StoreCorruptError(
      `${where} cannot be opened without losing acknowledged writes: ${list}. ML Lab did not start and changed nothing. ` +
        `Restore the files named above from a backup and start again. Or, to start from the last state that can be rebuilt ` +
        `(${reached[0]}) and lose the writes after it, create an empty file named ${ACCEPT_LOSS_FILE} in that folder and start again: ` +
        `the store's files are then moved to a folder damaged-<date> inside it. Or move the folder aside to start with an empty store.`,
    );
  }

  private flushNotes(): void {
    for (const [level, note] of this.notes) {
      this.log[level](`store: ${note}`);
    }
  }

  private start(chosen: Attempt, head: number, fallbacks: number): Recovered {
    this.flushNotes();
    const base = head - fallbacks;
    let checkpoints = 0;
    if (fallbacks > 0) {
      for (const p of this.problems) {
        this.log.warn(`store: ${p}`);
      }
      this.log.error(
        `store: recovered the metadata store from generation ${base} after damage (see the warnings above); writing a fresh snapshot`,
      );
      checkpoints = 2; // the second makes a good generation the fallback again
    }
    const contents = this.journal(head);
    if (typeof contents !== 'string') {
      if ((contents.header.format ?? 1) < 2) {
        this.log.info(
          'store: the journal is in the format of an earlier version; writing a checkpoint in the current one',
        );
        checkpoints = Math.max(checkpoints, 1);
      } else if (!this.ack && !this.ackProblem) {
        this.log.warn(
          `store: ${ACK_FILE} is missing, so whether ${journalName(head)} was cut at a record boundary cannot be checked this time; it is written anew`,
        );
      }
      if (fallbacks === 0 && this.fallbackDamaged(head, contents)) {
        checkpoints = Math.max(checkpoints, 1);
      }
    }
    if (this.acceptLoss) {
      this.log.info(`store: nothing was lost, so ${ACCEPT_LOSS_FILE} is ignored and removed`);
      this.remove.push(ACCEPT_LOSS_FILE);
    }
    setAside(this.dir, this.aside, this.log);
    for (const f of this.remove) {
      fs.rmSync(path.join(this.dir, f), { force: true });
    }
    if (this.remove.length > 0) {
      fsyncDir(this.dir);
    }
    if (chosen.headLostEmpty) {
      return {
        db: chosen.db!,
        generation: head,
        checkpoints: 1,
        replayed: chosen.replayed,
        setAsideAfterStart: { files: [journalName(head)] },
      };
    }
    return {
      db: chosen.db!,
      head: { file: path.join(this.dir, journalName(head)), contents: contents as JournalContents },
      generation: head,
      checkpoints,
      replayed: chosen.replayed,
    };
  }

  /** Checks that the previous generation, the fallback for a damaged newest snapshot, is whole. */
  private fallbackDamaged(head: number, contents: JournalContents): boolean {
    const previous = contents.header.previous;
    if (!previous) {
      return false;
    }
    const g = previous.generation;
    const damage: string[] = [];
    const c = this.journal(g);
    if (typeof c === 'string') {
      damage.push(`${journalName(g)} ${c}`);
    } else {
      if (c.records < previous.records || c.checksums[previous.records] !== previous.last) {
        damage.push(`${journalName(g)} is damaged or cut short`);
      }
      if (c.header.snapshotSha256 !== null && !this.snapshots.has(g)) {
        damage.push(`${snapshotName(g)} is missing`);
      }
    }
    if (damage.length === 0) {
      return false;
    }
    this.log.warn(
      `store: the previous generation, kept to recover from a damaged newest snapshot, is damaged (${damage.join('; ')}); ` +
        `the newest generation ${head} is whole, nothing was lost; writing a checkpoint so that a whole generation is kept again`,
    );
    return true;
  }

  private acceptTheLoss(partial: Attempt, head: number, attempts: Attempt[]): Recovered {
    attempts.filter((a) => a !== partial).forEach((a) => a.db?.close());
    this.flushNotes();
    // files of later generations first: the fresh generation must not overwrite them
    setAside(this.dir, this.aside, this.log);
    // (the ack marker is not among them: the fresh generation replaces it)
    const files = fs.readdirSync(this.dir).filter((f) => isGenerationFile(f) || f === ACCEPT_LOSS_FILE);
    const problems = this.problems.join('; ');
    return {
      db: partial.db!,
      generation: head,
      checkpoints: 1,
      replayed: partial.replayed,
      setAsideAfterStart: {
        files,
        message: (folder) =>
          `${ACCEPT_LOSS_FILE} accepts losing acknowledged writes: ${problems}. ` +
          `Started from ${partial.reached}; the store's files were moved to ${folder}`,
      },
    };
  }
}

/** Moves files of the store's folder into a new damaged-<date> folder, keeping them for a closer look. */
export function setAside(dir: string, files: string[], log: Logger): string | undefined {
  const present = files.filter((f) => fs.existsSync(path.join(dir, f)));
  if (present.length === 0) {
    return undefined;
  }
  const folder = `damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  fs.mkdirSync(path.join(dir, folder), { recursive: true, mode: 0o700 });
  for (const f of present) {
    fs.renameSync(path.join(dir, f), path.join(dir, folder, f));
  }
  fsyncDir(dir);
  log.warn(`store: moved ${present.join(', ')} to ${folder}`);
  return folder;
}

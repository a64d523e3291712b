import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Database, SqlValue } from 'sql.js';
import type { Logger } from '../log';
import { writeFileAtomic } from '../../common/fsync';
import { ACK_FILE, AckMarker } from './ack';
import { CheckpointAbandoned, DescriptorReserve } from './descriptors';
import { JOURNAL_FORMAT, JournalHeader, JournalWriter, positionOf, Statement } from './journal';
import { MIGRATIONS } from './migrations';
import {
  generationOf,
  isGenerationFile,
  journalName,
  recoverStore,
  setAside,
  sha256,
  snapshotName,
  StoreCorruptError,
} from './recovery';
import { loadSqlJs } from './sqljs';

export { StoreCorruptError };

export type Param = string | number | null;
export type Row = Record<string, SqlValue>;

export interface ReadTx {
  all(sql: string, params?: readonly Param[]): Row[];
  get(sql: string, params?: readonly Param[]): Row | undefined;
}

export interface WriteTx extends ReadTx {
  /** Executes a statement and records it for the journal. Returns the number of changed rows. */
  run(sql: string, params?: readonly Param[]): number;
}

export interface StoreOptions {
  /**
   * checkpoint when the journal grows past this many bytes; by default past half the database's
   * size, and at least 4 MiB (so the work of all checkpoints grows in proportion to the writes)
   */
  readonly checkpointBytes?: number;
  /** a quick close skips its checkpoint from this database size on (default 32 MiB; tests) */
  readonly quickCloseBytes?: number;
  /** the clock of the checkpoint retries (tests) */
  readonly now?: () => number;
}

/** After a failed snapshot the next is tried after 1 s, then twice as long each time up to 5 minutes. */
export const SNAPSHOT_RETRY_FIRST_MS = 1000;
export const SNAPSHOT_RETRY_MAX_MS = 5 * 60 * 1000;

const MIN_CHECKPOINT_BYTES = 4 * 1024 * 1024;

/** A transaction committed in memory while a checkpoint runs, journaled once it has finished. */
interface Held {
  readonly statements: readonly Statement[];
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** The sha256 of `data` in slices of 8 MiB, giving the thread back between them. */
async function sha256InSlices(data: Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  for (let at = 0; at < data.length; at += 8 * 1024 * 1024) {
    hash.update(data.subarray(at, Math.min(data.length, at + 8 * 1024 * 1024)));
    await new Promise((r) => setImmediate(r));
  }
  return hash.digest('hex');
}

/**
 * The metadata store: sql.js in memory, made durable by a journal of committed transactions and
 * periodic atomic snapshots (see docs/ARCHITECTURE.md, "Durability of the metadata store").
 *
 * Files in `dir`: snapshot-N.sqlite (a plain SQLite file), journal-N.log (a header naming the
 * snapshot's sha256 and where the previous journal ended, then one line per transaction since that
 * snapshot) and `acknowledged` (how far the newest journal had been acknowledged). Generation N is
 * committed once its journal header is on disk. The previous generation is kept, so a damaged newest
 * snapshot is recovered from the older one plus both journals, losing nothing. How a damaged or
 * missing file is told apart from a crash is in recovery.ts.
 */
export class Store {
  private journal: JournalWriter;
  private generation: number;
  private closed = false;
  /** failed snapshots since the last one written, the error codes already logged, when to try again */
  private failures = 0;
  private readonly failureCodes = new Set<string>();
  private retryDelay = 0;
  private retryAt = 0;
  private readonly reserve: DescriptorReserve;
  /** the checkpoint running beside requests, and the transactions committed since it began */
  private background: { held: Held[]; abandoned: boolean; done: Promise<void> } | undefined;
  /** the database's size at the last snapshot (sets the default checkpoint interval) */
  private databaseBytes = 0;
  /** files of old generations being removed in the background (a close finishes the job) */
  private readonly removing = new Set<string>();
  /** checkpoints begun (tests) */
  checkpointAttempts = 0;
  /** set when a transaction committed in memory could not be journaled: no write is taken after it */
  private broken: Error | undefined;

  private constructor(
    private readonly db: Database,
    private readonly dir: string,
    private readonly log: Logger,
    private readonly options: StoreOptions,
    private readonly ack: AckMarker,
    journal: JournalWriter,
  ) {
    this.journal = journal;
    this.generation = journal.header.generation;
    this.reserve = new DescriptorReserve(dir);
  }

  static async open(dir: string, log: Logger, options: StoreOptions = {}): Promise<Store> {
    const SQL = await loadSqlJs();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ackFile = path.join(dir, ACK_FILE);
    const recovered = recoverStore(SQL, dir, log);
    if (!recovered) {
      log.info(`store: creating a new metadata store in ${dir}`);
      const header: JournalHeader = { generation: 0, snapshotSha256: null, format: JOURNAL_FORMAT, previous: null };
      const journal = JournalWriter.create(path.join(dir, journalName(0)), header);
      const ack = AckMarker.create(ackFile, { generation: 0, snapshotSha256: null, ...journal.position });
      const store = new Store(new SQL.Database(), dir, log, options, ack, journal.withAck(ack));
      await store.migrate();
      await store.settled(); // a checkpoint the migrations started has finished
      return store;
    }
    const { db, head } = recovered;
    let store: Store;
    if (head) {
      const { header } = head.contents;
      const ack = AckMarker.openOrCreate(ackFile, {
        generation: header.generation,
        snapshotSha256: header.snapshotSha256,
        ...positionOf(head.contents),
      });
      store = new Store(db, dir, log, options, ack, JournalWriter.open(head.file, head.contents, ack));
      log.info(
        `store: opened generation ${recovered.generation}, replayed ${recovered.replayed} journaled transactions`,
      );
    } else {
      // nothing to append to (the journal was lost with nothing acknowledged in it, or the loss was
      // accepted): start a generation of its own, which must succeed before anything is written
      const data = db.export();
      const next = recovered.generation + 1;
      const { journal, ack } = Store.writeGeneration(dir, next, data, null, undefined);
      store = new Store(db, dir, log, options, ack, journal);
      log.info(`store: started generation ${next} from the recovered state (${data.length} bytes)`);
      const aside = recovered.setAsideAfterStart;
      if (aside) {
        const folder = setAside(dir, aside.files, log);
        if (aside.message) {
          log.error(`store: ${aside.message(folder ?? '')}`);
        }
      }
    }
    for (let i = 0; i < recovered.checkpoints; i++) {
      store.checkpoint();
    }
    store.databaseBytes = store.size();
    await store.migrate();
    await store.settled(); // a checkpoint the migrations started has finished
    return store;
  }

  /**
   * Writes generation `g`: its journal first (the commit point, naming the snapshot's sha256 and
   * where the previous journal ended), then the snapshot, then the ack marker. A crash between the
   * first two leaves a journal without writes or snapshot, which the next start recognizes and
   * removes; a snapshot without its journal is therefore always a sign of a deleted journal.
   */
  private static writeGeneration(
    dir: string,
    g: number,
    data: Uint8Array,
    previous: JournalHeader['previous'],
    ack: AckMarker | undefined,
    reserve?: DescriptorReserve,
  ): { journal: JournalWriter; ack: AckMarker } {
    const sha = sha256(data);
    const header: JournalHeader = { generation: g, snapshotSha256: sha, format: JOURNAL_FORMAT, previous };
    const journalFile = path.join(dir, journalName(g));
    const journal = JournalWriter.create(journalFile, header, ack, reserve);
    try {
      const file = path.join(dir, snapshotName(g));
      if (reserve) {
        reserve.writeAtomic(file, data, false);
      } else {
        writeFileAtomic(file, data);
      }
    } catch (e) {
      // not acknowledged to the marker: the generation in use is still the previous one
      journal.withAck(undefined).closeSync();
      fs.rmSync(journalFile, { force: true });
      throw e;
    }
    const state = { generation: g, snapshotSha256: sha, ...journal.position };
    if (ack) {
      try {
        ack.writeDurably(state);
      } catch {
        // the generation is committed; the marker catches up at the next fdatasync (see AckMarker)
      }
      return { journal, ack };
    }
    const created = AckMarker.create(path.join(dir, ACK_FILE), state);
    return { journal: journal.withAck(created), ack: created };
  }

  private async migrate(): Promise<void> {
    const current = Number(this.get('PRAGMA user_version')?.user_version ?? 0);
    for (let v = current; v < MIGRATIONS.length; v++) {
      await this.write((tx) => {
        MIGRATIONS[v](tx);
        tx.run(`PRAGMA user_version = ${v + 1}`);
      });
      this.log.info(`store: migrated the schema to version ${v + 1}`);
    }
  }

  /** The database's size in bytes, as a snapshot of it would be. */
  size(): number {
    const row = this.get('SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()');
    return Number(row?.bytes ?? 0);
  }

  get schemaVersion(): number {
    return Number(this.get('PRAGMA user_version')?.user_version ?? 0);
  }

  all(sql: string, params: readonly Param[] = []): Row[] {
    const stmt = this.db.prepare(sql, params as Param[]);
    try {
      const rows: Row[] = [];
      while (stmt.step()) {
        rows.push(stmt.getAsObject());
      }
      return rows;
    } finally {
      stmt.free();
    }
  }

  get(sql: string, params: readonly Param[] = []): Row | undefined {
    return this.all(sql, params)[0];
  }

  /**
   * Runs `fn` as one transaction. The returned promise resolves once the transaction is on disk: only
   * then may the caller acknowledge it. If `fn` throws, nothing is changed or journaled.
   */
  async write<T>(fn: (tx: WriteTx) => T): Promise<T> {
    if (this.closed) {
      throw new Error('the store is closed');
    }
    if (this.broken) {
      throw this.broken;
    }
    const statements: Statement[] = [];
    const tx: WriteTx = {
      all: (sql, params) => this.all(sql, params),
      get: (sql, params) => this.get(sql, params),
      run: (sql, params = []) => {
        this.db.run(sql, params as Param[]);
        statements.push([sql, params]);
        return this.db.getRowsModified();
      },
    };
    this.db.exec('BEGIN');
    let result: T;
    let durable: Promise<void> | undefined;
    try {
      result = fn(tx);
      // journal first: if the disk refuses the record, the transaction is rolled back in memory too
      // (while a checkpoint runs, the record waits for its new journal: see checkpointInBackground)
      if (statements.length > 0) {
        const held = this.background?.held;
        durable = held
          ? new Promise<void>((resolve, reject) => held.push({ statements, resolve, reject }))
          : this.journal.append(statements);
      }
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
    if (durable) {
      if (!this.background && this.journal.size > this.checkpointBytes() && this.now() >= this.retryAt) {
        this.checkpointInBackground();
      }
      await durable;
    }
    return result;
  }

  private checkpointBytes(): number {
    return this.options.checkpointBytes ?? Math.max(MIN_CHECKPOINT_BYTES, this.databaseBytes / 2);
  }

  /** Resolves once no checkpoint runs in the background (tests, and a stop that waits for one). */
  async settled(): Promise<void> {
    while (this.background) {
      await this.background.done;
    }
  }

  /**
   * The checkpoint of a growing journal, beside requests: the database is copied at once, then the
   * copy is hashed and written as the next generation off the thread while reads and writes go on.
   * Transactions committed meanwhile are applied in memory at once and journaled (and acknowledged)
   * in the new generation's journal once it is committed, or in the current one if the checkpoint
   * fails: no record is ever in two journals, and the new journal holds nothing until its snapshot
   * is on disk (the invariant recovery relies on; see writeGeneration).
   */
  private checkpointInBackground(): void {
    this.checkpointAttempts++;
    const next = this.generation + 1;
    const old = this.journal;
    let data: Uint8Array | undefined;
    try {
      data = this.db.export();
    } catch (e) {
      this.snapshotFailed(e as Error);
      return;
    }
    const previous = { generation: this.generation, ...old.position };
    const state: { held: Held[]; abandoned: boolean; done: Promise<void> } = {
      held: [],
      abandoned: false,
      done: Promise.resolve(),
    };
    const abandoned = () => state.abandoned;
    const size = data.length;
    const run = async (): Promise<{ journal: JournalWriter; sha: string }> => {
      await old.durable(); // the snapshot's state must never be ahead of the old journal on disk
      const sha = await sha256InSlices(data!);
      const header: JournalHeader = { generation: next, snapshotSha256: sha, format: JOURNAL_FORMAT, previous };
      const journal = await JournalWriter.createInBackground(
        path.join(this.dir, journalName(next)),
        header,
        this.reserve,
        abandoned,
      );
      try {
        await this.reserve.writeAtomicInBackground(path.join(this.dir, snapshotName(next)), data!, false, abandoned);
      } catch (e) {
        journal.closeSync();
        if (!state.abandoned) {
          fs.rmSync(journal.file, { force: true }); // not committed: the marker still names this generation
        }
        throw e;
      }
      return { journal, sha };
    };
    state.done = run().then(
      ({ journal, sha }) => {
        data = undefined;
        if (state.abandoned) {
          journal.closeSync();
          return;
        }
        try {
          this.ack.writeDurably({ generation: next, snapshotSha256: sha, ...journal.position });
        } catch {
          // the generation is committed; the marker catches up at the next fdatasync (see AckMarker)
        }
        old.withAck(undefined).closeDurable();
        this.journal = journal.withAck(this.ack);
        this.generation = next;
        this.databaseBytes = size;
        this.background = undefined;
        this.reserve.refill();
        this.dropOldGenerations(next);
        this.checkpointWritten(next, size);
        this.journalHeld(state.held);
      },
      (e: Error) => {
        data = undefined;
        if (state.abandoned) {
          return;
        }
        this.background = undefined;
        this.reserve.refill();
        if (!(e instanceof CheckpointAbandoned)) {
          this.snapshotFailed(e);
        }
        this.journalHeld(state.held);
      },
    );
    this.background = state;
  }

  /** Stops a checkpoint in the background (it renames nothing from now on); its held writes are journaled now. */
  private abandonBackground(): void {
    const state = this.background;
    if (state) {
      state.abandoned = true;
      this.background = undefined;
      this.journalHeld(state.held);
    }
  }

  /** Journals the transactions held during a checkpoint, in their order, into the journal in use. */
  private journalHeld(held: readonly Held[]): void {
    for (const h of held) {
      if (this.broken) {
        h.reject(this.broken);
        continue;
      }
      try {
        this.journal.append(h.statements).then(h.resolve, h.reject);
      } catch (e) {
        // committed in memory but not on disk: taking later writes would journal them without it
        this.broken = new Error(
          `the store could not journal a write (${(e as Error).message}); restart ML Lab once the disk has room`,
        );
        this.log.error(`store: ${this.broken.message}`);
        h.reject(this.broken);
      }
    }
  }

  /**
   * Writes a snapshot of the current state as the next generation and starts its journal. The old
   * journal is synced first (it is the fallback if the new snapshot is ever found damaged) and stays
   * in use when anything fails (a full disk, no descriptor left): a failed checkpoint loses nothing.
   * After a failure the journal's growth tries again only after a delay that doubles with each
   * failure (1 s up to 5 minutes), and each kind of failure is logged once, not once per try.
   * The files are opened with descriptors reserved from the start (see DescriptorReserve).
   */
  checkpoint(): boolean {
    this.abandonBackground();
    this.checkpointAttempts++;
    const next = this.generation + 1;
    let written: { journal: JournalWriter };
    let size: number;
    try {
      this.journal.syncSync();
      const data = this.db.export();
      size = data.length;
      const previous = { generation: this.generation, ...this.journal.position };
      written = Store.writeGeneration(this.dir, next, data, previous, this.ack, this.reserve);
    } catch (e) {
      this.snapshotFailed(e as Error);
      this.reserve.refill();
      return false;
    }
    this.journal.withAck(undefined).closeSync();
    this.journal = written.journal;
    this.generation = next;
    this.databaseBytes = size;
    this.reserve.refill(); // the old journal's descriptor is free again
    this.dropOldGenerations(next);
    this.checkpointWritten(next, size);
    return true;
  }

  private checkpointWritten(next: number, size: number): void {
    this.log.info(`store: checkpoint, generation ${next} (${size} bytes)`);
    if (this.failures > 0) {
      this.log.info(
        `store: a snapshot was written again after ${this.failures} failed ${this.failures === 1 ? 'try' : 'tries'} (${[...this.failureCodes].join(', ')})`,
      );
    }
    this.failures = 0;
    this.failureCodes.clear();
    this.retryDelay = 0;
    this.retryAt = 0;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private snapshotFailed(e: Error): void {
    const code = (e as NodeJS.ErrnoException).code ?? e.name;
    this.failures++;
    this.retryDelay = Math.min(
      this.retryDelay === 0 ? SNAPSHOT_RETRY_FIRST_MS : this.retryDelay * 2,
      SNAPSHOT_RETRY_MAX_MS,
    );
    this.retryAt = this.now() + this.retryDelay;
    if (!this.failureCodes.has(code)) {
      this.failureCodes.add(code);
      this.log.warn(
        `store: could not write a snapshot (${e.message}); the journal keeps every write. Trying again in ${this.retryDelay / 1000} s, ` +
          `then less often (at most every ${SNAPSHOT_RETRY_MAX_MS / 60000} minutes); further failures with ${code} are not logged until one succeeds`,
      );
    }
  }

  /**
   * Keeps the previous generation as the fallback for a damaged newest snapshot; drops older ones.
   * The files are removed off the thread (freeing a snapshot of 100 MB took ~100 ms).
   */
  private dropOldGenerations(next: number): void {
    let files: string[];
    try {
      files = fs.readdirSync(this.dir);
    } catch {
      files = [journalName(next - 2), snapshotName(next - 2)]; // (no descriptor to list the folder)
    }
    for (const f of files) {
      if (
        (isGenerationFile(f) && generationOf(f) < next - 1) ||
        (f.includes('.tmp-') && !f.endsWith(`.tmp-${process.pid}-bg`))
      ) {
        const file = path.join(this.dir, f);
        this.removing.add(file);
        fs.rm(file, { force: true }, () => this.removing.delete(file)); // else left for the next checkpoint
      }
    }
  }

  get currentGeneration(): number {
    return this.generation;
  }

  /**
   * Closes the store, with a checkpoint first (best effort: the journal alone restores everything; a
   * checkpoint in the background gives way). `quick` (a backend stopping) skips it for a database of
   * 32 MiB or more unless one is due: a snapshot of 150 MB takes longer than the second a stop may
   * take, and the journal it would replace replays at the next start in a fraction of that.
   */
  close(options: { readonly quick?: boolean } = {}): void {
    if (this.closed) {
      return;
    }
    const large = this.databaseBytes >= (this.options.quickCloseBytes ?? 32 * 1024 * 1024);
    if (!options.quick || !large || this.journal.size > this.checkpointBytes()) {
      this.checkpoint();
    } else {
      this.abandonBackground();
    }
    for (const file of this.removing) {
      try {
        fs.rmSync(file, { force: true });
      } catch {
        // left for the next checkpoint
      }
    }
    this.journal.closeSync();
    this.ack.close();
    this.reserve.close();
    this.db.close();
    this.closed = true;
  }
}

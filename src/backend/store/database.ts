import * as fs from 'fs';
import * as path from 'path';
import type { Database, SqlValue } from 'sql.js';
import type { Logger } from '../log';
import { writeFileAtomic } from '../../common/fsync';
import { ACK_FILE, AckMarker } from './ack';
import { DescriptorReserve } from './descriptors';
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
  /** checkpoint when the journal grows past this many bytes */
  readonly checkpointBytes?: number;
  /** the clock of the checkpoint retries (tests) */
  readonly now?: () => number;
}

/** After a failed snapshot the next is tried after 1 s, then twice as long each time up to 5 minutes. */
export const SNAPSHOT_RETRY_FIRST_MS = 1000;
export const SNAPSHOT_RETRY_MAX_MS = 5 * 60 * 1000;

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
    await store.migrate();
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
      if (statements.length > 0) {
        durable = this.journal.append(statements);
      }
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
    if (durable) {
      if (this.journal.size > (this.options.checkpointBytes ?? 4 * 1024 * 1024) && this.now() >= this.retryAt) {
        this.checkpoint();
      }
      await durable;
    }
    return result;
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
    this.reserve.refill(); // the old journal's descriptor is free again
    this.dropOldGenerations(next);
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
    return true;
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

  /** Keeps the previous generation as the fallback for a damaged newest snapshot; drops older ones. */
  private dropOldGenerations(next: number): void {
    let files: string[];
    try {
      files = fs.readdirSync(this.dir);
    } catch {
      files = [journalName(next - 2), snapshotName(next - 2)]; // (no descriptor to list the folder)
    }
    for (const f of files) {
      if ((isGenerationFile(f) && generationOf(f) < next - 1) || f.includes('.tmp-')) {
        try {
          fs.rmSync(path.join(this.dir, f), { force: true });
        } catch {
          // left for the next checkpoint
        }
      }
    }
  }

  get currentGeneration(): number {
    return this.generation;
  }

  close(): void {
    if (this.closed) {
      return;
    }
    this.checkpoint(); // best effort: the journal alone restores everything
    this.journal.closeSync();
    this.ack.close();
    this.reserve.close();
    this.db.close();
    this.closed = true;
  }
}

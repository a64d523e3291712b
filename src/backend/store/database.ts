import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { Database, SqlValue } from 'sql.js';
import type { Logger } from '../log';
import { writeFileAtomic } from '../../common/fsync';
import { JournalContents, JournalWriter, readJournal, Statement } from './journal';
import { MIGRATIONS } from './migrations';
import { loadSqlJs } from './sqljs';

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

export class StoreCorruptError extends Error {}

export interface StoreOptions {
  /** checkpoint when the journal grows past this many bytes */
  readonly checkpointBytes?: number;
}

const SNAPSHOT = /^snapshot-(\d+)\.sqlite$/;
const JOURNAL = /^journal-(\d+)\.log$/;

const snapshotName = (g: number) => `snapshot-${String(g).padStart(6, '0')}.sqlite`;
const journalName = (g: number) => `journal-${String(g).padStart(6, '0')}.log`;

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The metadata store: sql.js in memory, made durable by a journal of committed transactions and
 * periodic atomic snapshots (see docs/ARCHITECTURE.md, "Durability").
 *
 * Files in `dir`: snapshot-N.sqlite (a plain SQLite file) and journal-N.log (header naming the
 * snapshot's sha256, then one line per transaction since that snapshot). Generation N is committed
 * once its journal header is on disk. The previous generation is kept, so a damaged newest snapshot
 * is recovered from the older one plus both journals, losing nothing.
 */
export class Store {
  private journal: JournalWriter;
  private generation: number;
  private closed = false;

  private constructor(
    private readonly db: Database,
    private readonly dir: string,
    private readonly log: Logger,
    private readonly options: StoreOptions,
    journal: JournalWriter,
    generation: number,
  ) {
    this.journal = journal;
    this.generation = generation;
  }

  static async open(dir: string, log: Logger, options: StoreOptions = {}): Promise<Store> {
    const SQL = await loadSqlJs();
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const files = fs.readdirSync(dir);
    const gens = (re: RegExp) =>
      files
        .map((f) => re.exec(f))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => Number(m[1]))
        .sort((a, b) => a - b);
    const journals = gens(JOURNAL);
    const snapshots = gens(SNAPSHOT);

    if (journals.length === 0) {
      if (snapshots.length > 0) {
        throw new StoreCorruptError(
          `The metadata store in ${dir} has snapshots but no journal, so its last state cannot be verified. ` +
            `Move the folder aside to start with an empty store, or restore it from a backup.`,
        );
      }
      log.info(`store: creating a new metadata store in ${dir}`);
      const journal = JournalWriter.create(path.join(dir, journalName(0)), {
        generation: 0,
        snapshotSha256: null,
      });
      const store = new Store(new SQL.Database(), dir, log, options, journal, 0);
      await store.migrate();
      return store;
    }

    const newest = journals[journals.length - 1];
    const problems: string[] = [];
    for (let i = journals.length - 1; i >= 0; i--) {
      const base = journals[i];
      const loaded = Store.tryLoad(SQL, dir, base, journals.slice(i), problems);
      if (!loaded) {
        continue;
      }
      const { db, contents } = loaded;
      const last = contents[contents.length - 1];
      const damaged = base !== newest || contents.some((c) => c.corruptAt !== null);
      for (const p of problems) {
        log.warn(`store: ${p}`);
      }
      if (last.tornTailBytes > 0) {
        log.warn(
          `store: ignored ${last.tornTailBytes} bytes of an unfinished write at the end of ${journalName(newest)} (a crash during a write that was never acknowledged)`,
        );
      }
      const lastFile = path.join(dir, journalName(newest));
      const validLength = fs.statSync(lastFile).size - last.tornTailBytes;
      const store = new Store(db, dir, log, options, JournalWriter.open(lastFile, validLength), newest);
      if (damaged) {
        log.error(
          `store: recovered the metadata store from generation ${base} after damage (see the warnings above); writing a fresh snapshot`,
        );
        store.checkpoint();
      } else {
        log.info(
          `store: opened generation ${newest}, replayed ${contents.reduce((n, c) => n + c.transactions.length, 0)} journaled transactions`,
        );
      }
      await store.migrate();
      return store;
    }
    throw new StoreCorruptError(
      `The metadata store in ${dir} is damaged and no good state could be recovered (${problems.join('; ')}). ` +
        `ML Lab did not start, so nothing was overwritten: move the folder aside to start with an empty store, or restore it from a backup.`,
    );
  }

  /** Loads snapshot `base` and replays journals `gens` (base first); undefined if base is unusable. */
  private static tryLoad(
    SQL: Awaited<ReturnType<typeof loadSqlJs>>,
    dir: string,
    base: number,
    gens: number[],
    problems: string[],
  ): { db: Database; contents: JournalContents[] } | undefined {
    const contents: JournalContents[] = [];
    for (const g of gens) {
      try {
        contents.push(readJournal(path.join(dir, journalName(g))));
      } catch (e) {
        problems.push(`${journalName(g)} is unreadable: ${(e as Error).message}`);
        return undefined;
      }
    }
    const expected = contents[0].header.snapshotSha256;
    let db: Database;
    if (expected === null) {
      db = new SQL.Database();
    } else {
      const file = path.join(dir, snapshotName(base));
      if (!fs.existsSync(file)) {
        problems.push(`${snapshotName(base)} is missing`);
        return undefined;
      }
      const data = fs.readFileSync(file);
      if (sha256(data) !== expected) {
        problems.push(
          `${snapshotName(base)} is damaged (its checksum does not match the one recorded when it was written)`,
        );
        return undefined;
      }
      db = new SQL.Database(data);
    }
    for (const [i, c] of contents.entries()) {
      for (const tx of c.transactions) {
        Store.apply(db, tx);
      }
      if (c.corruptAt !== null) {
        problems.push(
          `${journalName(gens[i])} is damaged at record ${c.corruptAt}: transactions after it could not be replayed`,
        );
        if (i < contents.length - 1) {
          // later journals build on the lost records: stop here rather than apply them out of order
          return { db, contents: contents.slice(0, i + 1) };
        }
      }
    }
    return { db, contents };
  }

  private static apply(db: Database, tx: readonly Statement[]): void {
    db.exec('BEGIN');
    try {
      for (const [sql, params] of tx) {
        db.run(sql, params as Param[]);
      }
      db.exec('COMMIT');
    } catch (e) {
      db.exec('ROLLBACK');
      throw e;
    }
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
      if (this.journal.size > (this.options.checkpointBytes ?? 4 * 1024 * 1024)) {
        this.checkpoint();
      }
      await durable;
    }
    return result;
  }

  /**
   * Writes a snapshot of the current state as the next generation and starts its journal. The old
   * journal is synced first (it is the fallback if the new snapshot is ever found damaged) and stays
   * in use when anything fails (a full disk): a failed checkpoint loses nothing and is only logged.
   */
  checkpoint(): boolean {
    const next = this.generation + 1;
    const snapshot = path.join(this.dir, snapshotName(next));
    let journal: JournalWriter;
    let size: number;
    try {
      this.journal.syncSync();
      const data = this.db.export();
      size = data.length;
      writeFileAtomic(snapshot, data);
      journal = JournalWriter.create(path.join(this.dir, journalName(next)), {
        generation: next,
        snapshotSha256: sha256(data),
      });
    } catch (e) {
      fs.rmSync(snapshot, { force: true });
      this.log.warn(`store: could not write a snapshot (${(e as Error).message}); the journal keeps every write`);
      return false;
    }
    this.journal.closeSync();
    this.journal = journal;
    this.generation = next;
    // keep the previous generation as the fallback for a damaged newest snapshot; drop older ones
    for (const f of fs.readdirSync(this.dir)) {
      const m = SNAPSHOT.exec(f) ?? JOURNAL.exec(f);
      if ((m && Number(m[1]) < next - 1) || f.includes('.tmp-')) {
        fs.rmSync(path.join(this.dir, f), { force: true });
      }
    }
    this.log.info(`store: checkpoint, generation ${next} (${size} bytes)`);
    return true;
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
    this.db.close();
    this.closed = true;
  }
}

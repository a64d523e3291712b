import type { Database, SqlJsStatic, Statement as SqlStatement } from 'sql.js';
import type { Statement } from './journal';

/** The parts of sql.js's module (exported by its build, not declared in its types) the fast path uses. */
interface SqliteModule {
  _malloc(size: number): number;
  _free(ptr: number): void;
  writeArrayToMemory(array: Uint8Array, ptr: number): void;
  UTF8ToString(ptr: number): string;
  _sqlite3_sql(stmt: number): number;
  _sqlite3_bind_text(stmt: number, pos: number, ptr: number, bytes: number, destructor: number): number;
  _sqlite3_bind_int(stmt: number, pos: number, value: number): number;
  _sqlite3_bind_double(stmt: number, pos: number, value: number): number;
  _sqlite3_bind_blob(stmt: number, pos: number, ptr: number, bytes: number, destructor: number): number;
  _sqlite3_step(stmt: number): number;
  _sqlite3_reset(stmt: number): number;
  _sqlite3_clear_bindings(stmt: number): number;
}

const SQLITE_ROW = 100;
const SQLITE_DONE = 101;
/** sqlite copies the bound text at once, so one buffer serves every value */
const SQLITE_TRANSIENT = -1;

interface Prepared {
  readonly statement: SqlStatement;
  /** sqlite's statement pointer, when the fast path could find and verify it */
  readonly ptr: number | undefined;
}

/**
 * Runs journaled statements, each SQL text prepared once (a journal of ingest repeats a handful of
 * texts 100,000s of times; preparing each anew cost as much as running it).
 *
 * Binding goes around sql.js's `bind` when possible: sql.js encodes every string to UTF-8 with a loop
 * in JavaScript, which was the largest cost of replaying a long journal (records carry whole run
 * manifests). Here Node encodes it natively into one buffer that is copied into sqlite's memory and
 * bound with SQLITE_TRANSIENT, through functions sql.js's build exports. The statement pointer this
 * needs is not public API, so it is checked (sqlite3_sql of it must give back the statement's text);
 * if it cannot be found, or any step fails, the statement runs through sql.js's own API, which also
 * makes its error messages the usual ones.
 */
export class Replayer {
  private readonly prepared = new Map<string, Prepared>();
  private readonly module: SqliteModule | undefined;
  /** statements run by the fast path and by sql.js's API (tests check the fast path is taken) */
  readonly counts = { fast: 0, api: 0 };
  private bytes = Buffer.alloc(0);
  private heap = 0;

  constructor(
    SQL: SqlJsStatic,
    private readonly db: Database,
  ) {
    const m = SQL as unknown as Partial<SqliteModule>;
    const needed: (keyof SqliteModule)[] = [
      '_malloc',
      '_free',
      'writeArrayToMemory',
      'UTF8ToString',
      '_sqlite3_sql',
      '_sqlite3_bind_text',
      '_sqlite3_bind_int',
      '_sqlite3_bind_double',
      '_sqlite3_bind_blob',
      '_sqlite3_step',
      '_sqlite3_reset',
      '_sqlite3_clear_bindings',
    ];
    this.module = needed.every((k) => typeof m[k] === 'function') ? (m as SqliteModule) : undefined;
  }

  /** Runs the statements of one journal record; throws sqlite's error of the first that fails. */
  run(statements: readonly Statement[]): void {
    for (const [sql, params] of statements) {
      if (!Array.isArray(params)) {
        this.db.run(sql); // (never written by this version: kept as earlier replays ran it)
        continue;
      }
      const p = this.prepare(sql);
      if (p.ptr !== undefined && this.runFast(p.ptr, params)) {
        this.counts.fast++;
      } else {
        this.counts.api++;
        p.statement.run(params as (string | number | null)[]);
      }
    }
  }

  /** Frees the prepared statements and the bind buffer. */
  free(): void {
    this.prepared.forEach((p) => p.statement.free());
    this.prepared.clear();
    if (this.heap !== 0) {
      this.module!._free(this.heap);
      this.heap = 0;
    }
  }

  private prepare(sql: string): Prepared {
    let p = this.prepared.get(sql);
    if (!p) {
      const statement = this.db.prepare(sql);
      p = { statement, ptr: this.pointerOf(statement, sql) };
      this.prepared.set(sql, p);
    }
    return p;
  }

  private pointerOf(statement: SqlStatement, sql: string): number | undefined {
    const m = this.module;
    if (!m) {
      return undefined;
    }
    for (const v of Object.values(statement)) {
      try {
        if (typeof v === 'number' && v > 1 && m.UTF8ToString(m._sqlite3_sql(v)) === sql) {
          return v;
        }
      } catch {
        // not a statement
      }
    }
    return undefined;
  }

  /** Binds, steps and resets; false (with the statement reset) when anything fails. */
  private runFast(ptr: number, params: readonly unknown[]): boolean {
    const m = this.module!;
    let ok = true;
    for (let i = 0; ok && i < params.length; i++) {
      const v = params[i];
      if (typeof v === 'string') {
        const at = this.encode(v);
        ok = at !== 0 && m._sqlite3_bind_text(ptr, i + 1, at, this.encoded, SQLITE_TRANSIENT) === 0;
      } else if (typeof v === 'number') {
        ok = (v === (v | 0) ? m._sqlite3_bind_int(ptr, i + 1, v) : m._sqlite3_bind_double(ptr, i + 1, v)) === 0;
      } else if (v === null) {
        ok = m._sqlite3_bind_blob(ptr, i + 1, 0, 0, 0) === 0; // NULL, as sql.js binds it
      } else {
        ok = false;
      }
    }
    if (ok) {
      const rc = m._sqlite3_step(ptr);
      ok = rc === SQLITE_ROW || rc === SQLITE_DONE;
    }
    m._sqlite3_reset(ptr);
    m._sqlite3_clear_bindings(ptr);
    return ok;
  }

  private encoded = 0;

  /** Writes `s` as UTF-8 into sqlite's memory; returns where (0: no memory), its length in `encoded`. */
  private encode(s: string): number {
    const m = this.module!;
    if (this.heap === 0 || s.length * 3 > this.bytes.length) {
      if (this.heap !== 0) {
        m._free(this.heap);
      }
      const size = Math.max(4096, s.length * 3 * 2);
      this.heap = m._malloc(size);
      this.bytes = Buffer.alloc(this.heap === 0 ? 0 : size);
      if (this.heap === 0) {
        return 0;
      }
    }
    this.encoded = this.bytes.write(s, 0, 'utf8');
    m.writeArrayToMemory(this.bytes.subarray(0, this.encoded), this.heap);
    return this.heap;
  }
}

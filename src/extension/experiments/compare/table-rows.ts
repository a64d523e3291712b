/**
 * The rows of the compare table as the host last sent them, and how they travel: a table as its
 * first rows, then in bounded chunks as the page asks for them, and later only what changed (the
 * contract: src/protocol/webviews/compare-table.ts). A lab of 100,000 runs is about 80 MB of rows:
 * as one message it would take seconds before the first row shows. No vscode here: the panel and
 * the tests use it as it is.
 */
import type { TableRowsMessage, WireRow } from '../../../protocol/webviews/compare-table';

export interface ChunkBounds {
  /** rows at most */
  readonly rows: number;
  /** characters of the rows' JSON at most (a longer row still goes, alone) */
  readonly chars: number;
}

/** The rows posted with `table`: more than a screen, so the first paint needs no second message. */
export const FIRST_CHUNK: ChunkBounds = { rows: 500, chars: 256 * 1024 };
/** Each later chunk: about a megabyte, a few milliseconds for the page to receive and decode. */
export const CHUNK: ChunkBounds = { rows: 10_000, chars: 1024 * 1024 };

/** A row as last sent, with its JSON text (to see whether it changed, and to weigh a chunk). */
interface SentRow {
  readonly wire: WireRow;
  readonly json: string;
}

/** The ids of a posted table's rows in their order then, and how far the page was sent them. */
class Stream {
  /** positions below this were sent */
  sentTo = 0;
  private positions: Map<string, number> | undefined;

  constructor(
    readonly table: number,
    readonly order: readonly string[],
  ) {}

  /** Whether a row of the table is yet to be sent in a chunk. */
  pending(id: string): boolean {
    if (this.sentTo >= this.order.length) {
      return false;
    }
    this.positions ??= new Map(this.order.map((rowId, i) => [rowId, i]));
    const at = this.positions.get(id);
    return at !== undefined && at >= this.sentTo;
  }
}

export interface FirstRows {
  readonly table: number;
  readonly rows: WireRow[];
  readonly total: number;
}

export interface RowChanges {
  readonly changed: WireRow[];
  readonly deleted: string[];
}

export class TableRows {
  private rows = new Map<string, SentRow>();
  private stream: Stream | undefined;
  private tables = 0;

  /** The rows as last sent (or to be sent with a chunk), in the order given. */
  get wires(): WireRow[] {
    return [...this.rows.values()].map((r) => r.wire);
  }

  /** The rows by id, for the CSV export. */
  byId(): Map<string, WireRow> {
    return new Map([...this.rows].map(([id, r]) => [id, r.wire]));
  }

  /** New rows for a new table (new columns or project): sent with the next `start`. */
  reset(wires: readonly WireRow[]): void {
    this.rows = new Map(wires.map((w) => [w[0], sent(w)]));
    this.stream = undefined;
  }

  /** A table is posted: its first rows; the page asks for the others with `more`. */
  start(): FirstRows {
    this.stream = new Stream(++this.tables, [...this.rows.keys()]);
    return { table: this.stream.table, rows: this.take(this.stream, 0, FIRST_CHUNK).rows, total: this.rows.size };
  }

  /** The chunk the page asked for (`moreRows`); undefined when it is about a table replaced since. */
  more(table: number, from: number): TableRowsMessage | undefined {
    const stream = this.stream;
    if (stream?.table !== table) {
      return undefined;
    }
    return { type: 'tableRows', table, from, ...this.take(stream, from, CHUNK) };
  }

  /**
   * The rows are now these (same columns): what to post. Rows that changed and ids deleted, except
   * those of the table loading that the page is yet to get: their chunk takes them as they are
   * then, or leaves them out. New runs are among the changed rows.
   */
  update(wires: readonly WireRow[]): RowChanges {
    const next = new Map<string, SentRow>();
    const changed: WireRow[] = [];
    const post = (id: string) => !this.stream?.pending(id);
    for (const w of wires) {
      const row = sent(w);
      next.set(w[0], row);
      if (this.rows.get(w[0])?.json !== row.json && post(w[0])) {
        changed.push(w);
      }
    }
    const deleted = [...this.rows.keys()].filter((id) => !next.has(id) && post(id));
    this.rows = next;
    return { changed, deleted };
  }

  clear(): void {
    this.reset([]);
  }

  /**
   * The rows from position `from` of the stream on, within `bounds`, as they are now: a run gone
   * since the table was posted is skipped. A chunk ends at the first position not taken, so each
   * position left comes in the next chunk; a row longer than the bound goes alone.
   */
  private take(stream: Stream, from: number, bounds: ChunkBounds): { rows: WireRow[]; next: number } {
    const { order } = stream;
    const rows: WireRow[] = [];
    let chars = 0;
    let next = Number.isSafeInteger(from) ? Math.max(0, Math.min(from, order.length)) : order.length;
    for (; next < order.length && rows.length < bounds.rows; next++) {
      const row = this.rows.get(order[next]);
      if (row) {
        if (rows.length > 0 && chars + row.json.length > bounds.chars) {
          break;
        }
        rows.push(row.wire);
        chars += row.json.length;
      }
    }
    stream.sentTo = Math.max(stream.sentTo, next);
    return { rows, next };
  }
}

function sent(wire: WireRow): SentRow {
  return { wire, json: JSON.stringify(wire) };
}

/**
 * The rows the host sent, decoded, with an index by id; updated in place as runs change. A table
 * arrives as its first rows, then chunk by chunk (`append`) until `total` positions are in.
 */
import { decodeRow, sameCell, type Row } from '../../src/common/compare/cells';
import type { ColumnDef, TableMessage, TableRowsMessage, WireRow } from '../../src/protocol/webviews/compare-table';

export class TableData {
  columns: readonly ColumnDef[] = [];
  rows: Row[] = [];
  columnIndex = new Map<string, number>();
  /** why the table is empty, from the host */
  empty = '';
  project: string | null = null;
  /** false until the first `table` arrives */
  loaded = false;
  /** the table being received (TableMessage.table) */
  table = -1;
  /** the position in the table where the next chunk starts (positions received so far) */
  next = 0;
  /** the table's positions in all */
  total = 0;
  /**
   * Changes whenever a run comes or goes or its name or a param changes: what run labels are made
   * of (a running run's new metrics leave it as it is).
   */
  labelVersion = 0;
  private byId = new Map<string, number>();
  /** the name and param columns */
  private labelColumns: number[] = [];

  /** Whether rows of the table are still to come. */
  get loading(): boolean {
    return this.next < this.total;
  }

  setTable(message: TableMessage): void {
    this.columns = message.columns;
    this.columnIndex = new Map(message.columns.map((c, i) => [c.id, i]));
    this.rows = message.rows.map((r) => decodeRow(r, message.columns));
    this.empty = message.empty ?? '';
    this.project = message.project;
    this.loaded = true;
    this.table = message.table;
    this.next = message.rows.length;
    this.total = message.total;
    this.labelColumns = message.columns.flatMap((c, i) => (c.id === 'name' || c.group === 'param' ? [i] : []));
    this.labelVersion++;
    this.reindex();
  }

  /**
   * Adds a chunk after the rows received; false (and nothing added) when it is not the one expected
   * (a chunk of an earlier table). A run that is here already (posted as new meanwhile) stays as it is.
   */
  append(chunk: TableRowsMessage): boolean {
    if (chunk.table !== this.table || chunk.from !== this.next) {
      return false;
    }
    const before = this.rows.length;
    for (const wire of chunk.rows) {
      if (!this.byId.has(wire[0])) {
        this.byId.set(wire[0], this.rows.length);
        this.rows.push(decodeRow(wire, this.columns));
      }
    }
    if (this.rows.length !== before) {
      this.labelVersion++;
    }
    // a chunk that does not move on ends the loading rather than asking for it again
    this.next = chunk.next > chunk.from ? chunk.next : this.total;
    return true;
  }

  /** Replaces changed rows in place; new rows (new runs) go first, as the host lists newest first. */
  upsert(wire: readonly WireRow[]): void {
    const added: Row[] = [];
    for (const w of wire) {
      const row = decodeRow(w, this.columns);
      const at = this.byId.get(row.id);
      if (at === undefined) {
        added.push(row);
      } else {
        if (this.labelColumns.some((i) => !sameCell(this.rows[at].cells[i], row.cells[i]))) {
          this.labelVersion++;
        }
        this.rows[at] = row;
      }
    }
    if (added.length > 0) {
      this.labelVersion++;
      this.rows = [...added, ...this.rows];
      this.reindex();
    }
  }

  delete(ids: readonly string[]): void {
    const gone = new Set(ids);
    const before = this.rows.length;
    this.rows = this.rows.filter((r) => !gone.has(r.id));
    if (this.rows.length !== before) {
      this.labelVersion++;
    }
    this.reindex();
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  private reindex(): void {
    this.byId = new Map(this.rows.map((r, i) => [r.id, i]));
  }
}

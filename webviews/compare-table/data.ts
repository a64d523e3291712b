/** The rows the host sent, decoded, with an index by id; updated in place as runs change. */
import { decodeRow, type Row } from '../../src/common/compare/cells';
import type { ColumnDef, TableMessage, WireRow } from '../../src/protocol/webviews/compare-table';

export class TableData {
  columns: readonly ColumnDef[] = [];
  rows: Row[] = [];
  columnIndex = new Map<string, number>();
  /** why the table is empty, from the host */
  empty = '';
  project: string | null = null;
  /** false until the first `table` arrives */
  loaded = false;
  private byId = new Map<string, number>();

  setTable(message: TableMessage): void {
    this.columns = message.columns;
    this.columnIndex = new Map(message.columns.map((c, i) => [c.id, i]));
    this.rows = message.rows.map((r) => decodeRow(r, message.columns));
    this.empty = message.empty ?? '';
    this.project = message.project;
    this.loaded = true;
    this.reindex();
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
        this.rows[at] = row;
      }
    }
    if (added.length > 0) {
      this.rows = [...added, ...this.rows];
      this.reindex();
    }
  }

  delete(ids: readonly string[]): void {
    const gone = new Set(ids);
    this.rows = this.rows.filter((r) => !gone.has(r.id));
    this.reindex();
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  private reindex(): void {
    this.byId = new Map(this.rows.map((r, i) => [r.id, i]));
  }
}

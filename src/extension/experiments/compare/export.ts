import * as fs from 'fs';
import * as path from 'path';
import { cellText, decodeRow } from '../../../common/compare/cells';
import { toCsv } from '../../../common/compare/csv';
import type { ColumnDef, WireRow } from '../../../protocol/webviews/compare-table';

/** The CSV of the given columns and rows (in the given order); ids that are gone are skipped. */
export function tableCsv(
  columns: readonly ColumnDef[],
  rows: ReadonlyMap<string, WireRow>,
  columnIds: readonly string[],
  rowIds: readonly string[],
): string {
  const index = new Map(columns.map((c, i) => [c.id, i]));
  const chosen = columnIds.flatMap((id) => (index.has(id) ? [index.get(id)!] : []));
  const lines = function* () {
    for (const id of rowIds) {
      const wire = rows.get(id);
      if (wire) {
        const row = decodeRow(wire, columns);
        yield [id, ...chosen.map((i) => cellText(row.cells[i], columns[i]))];
      }
    }
  };
  return toCsv(['id', ...chosen.map((i) => columns[i].id)], lines());
}

/**
 * Writes a file whole or not at all: into a temp file next to it, flushed, then renamed over the
 * target, so a reader (or a crash) never sees half a CSV.
 */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const handle = await fs.promises.open(temp, 'w');
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.promises.rename(temp, file);
  } catch (e) {
    await fs.promises.rm(temp, { force: true });
    throw e;
  }
}

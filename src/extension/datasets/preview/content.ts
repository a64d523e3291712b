import { countCsvRecords } from '../../../common/csv/count';
import { readCsvHead } from '../../../common/csv/head';
import { listZip } from '../../../common/zip/safe-unzip';
import type { DatasetVersion } from '../../../protocol/datasets';
import type { PreviewAction, ShowMessage } from '../../../protocol/webviews/dataset-preview';
import type { RecordTable } from '../../../protocol/webviews/record-page';
import { formatBytes, formatCount, refOf, versionDetails } from '../format';
import { previewKindOf } from './formats';

export const PREVIEW_ROWS = 200;
const MAX_COLUMNS = 300;
const MAX_CELL_CHARS = 1000;
const MAX_ENTRIES = 5000;
const ACTIONS: readonly PreviewAction[] = ['copyCode', 'copyPath', 'export'];
const TEXT_ACTIONS: readonly PreviewAction[] = ['openAsText', ...ACTIONS];
const NUMBER = /^[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

export interface PreviewContent {
  readonly show: ShowMessage;
  /** counts the rows in the background; resolves with the note that replaces "counting rows..." */
  readonly countRows?: (signal: AbortSignal) => Promise<string>;
}

/** Builds what the preview panel shows for a version: its details, and its rows or entries when it has them. */
export async function buildPreview(
  version: DatasetVersion,
  /** rows counted before, by content hash: a version previewed again needs no second pass */
  rowCounts: Map<string, number>,
): Promise<PreviewContent> {
  const kind = previewKindOf(version);
  const base = {
    type: 'show' as const,
    ref: refOf(version),
    title: refOf(version),
    fields: versionDetails(version),
    counting: false,
    actions: kind === 'text' ? TEXT_ACTIONS : ACTIONS,
  };
  if (kind === 'csv') {
    const head = await readCsvHead(version.path, { maxRows: PREVIEW_ROWS, fileName: version.fileName });
    const table = toTable(head.header, head.rows);
    const columns = Math.max(head.header.length, ...head.rows.map((r) => r.length));
    const shown = `${formatCount(head.rows.length)} row${head.rows.length === 1 ? '' : 's'}`;
    const cols = `${formatCount(columns)} column${columns === 1 ? '' : 's'}${columns > MAX_COLUMNS ? ` (first ${MAX_COLUMNS} shown)` : ''}`;
    if (head.complete) {
      return { show: { ...base, mode: 'table', table, note: `${shown} · ${cols}`, counting: false } };
    }
    const describe = (total: number) =>
      `first ${formatCount(Math.min(total, head.rows.length))} of ${formatCount(total)} rows · ${cols}`;
    const key = `${version.sha256}:${head.delimiter}`;
    const known = rowCounts.get(key);
    if (known !== undefined) {
      return { show: { ...base, mode: 'table', table, note: describe(known), counting: false } };
    }
    return {
      show: { ...base, mode: 'table', table, note: `first ${shown} · ${cols} · counting rows...`, counting: true },
      countRows: async (signal) => {
        const { records } = await countCsvRecords(version.path, { delimiter: head.delimiter, signal });
        const total = Math.max(0, records - 1);
        rowCounts.set(key, total);
        return describe(total);
      },
    };
  }
  if (kind === 'zip') {
    const entries = (await listZip(version.path)).filter((e) => !e.isDirectory);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    const shown = entries.slice(0, MAX_ENTRIES);
    const total = entries.reduce((sum, e) => sum + e.size, 0);
    return {
      show: {
        ...base,
        mode: 'entries',
        table: {
          columns: ['Name', 'Size', 'Compressed'],
          rows: shown.map((e) => [e.name, formatBytes(e.size), formatBytes(e.compressedSize)]),
          numeric: [false, true, true],
          titles: 'cells',
        },
        note:
          `${formatCount(entries.length)} file${entries.length === 1 ? '' : 's'}, ${formatBytes(total)} unpacked` +
          (entries.length > shown.length ? ` · first ${formatCount(shown.length)} shown` : ''),
      },
    };
  }
  const note =
    kind === 'text'
      ? 'A text file: Open as Text shows it in a read-only editor.'
      : `No preview for ${version.mediaType} files: use Copy Code to Load, or Export.`;
  return { show: { ...base, mode: 'details', note } };
}

/** Rows padded to the widest row, long cells cut, numeric columns detected from the sample. */
function toTable(header: readonly string[], rows: readonly string[][]): RecordTable {
  const width = Math.min(MAX_COLUMNS, Math.max(header.length, ...rows.map((r) => r.length)));
  const cut = (cell: string | undefined) =>
    cell === undefined ? '' : cell.length > MAX_CELL_CHARS ? cell.slice(0, MAX_CELL_CHARS) + '…' : cell;
  const columns = Array.from({ length: width }, (_, i) => cut(header[i]) || `(column ${i + 1})`);
  const cells = rows.map((r) => Array.from({ length: width }, (_, i) => cut(r[i])));
  const numeric = columns.map((_, i) => {
    const values = rows.map((r) => (r[i] ?? '').trim()).filter((v) => v.length > 0);
    return values.length > 0 && values.every((v) => NUMBER.test(v) || /^(nan|-?inf)$/i.test(v));
  });
  return { columns, rows: cells, numeric, titles: 'cells', rowNumbers: true };
}

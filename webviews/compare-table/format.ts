/** How cells read in the table (the CSV export keeps full precision). */
import type { Cell } from '../../src/common/compare/cells';
import { formatDuration, formatFull, formatNumber } from '../../src/protocol/number-format';
import type { ColumnDef } from '../../src/protocol/webviews/compare-table';

const dateFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});

export { formatNumber };

export function formatCell(c: Cell, column: ColumnDef): string {
  if (c === null) {
    return '';
  }
  if (typeof c === 'number') {
    if (column.kind === 'date') {
      return Number.isFinite(c) ? dateFormat.format(c) : '';
    }
    return column.id === 'duration' && Number.isFinite(c) ? formatDuration(c) : formatNumber(c);
  }
  return c;
}

/** A cell's hover: the full value of a shortened number, the text otherwise. */
export function cellTitle(c: Cell, column: ColumnDef): string {
  if (c === null) {
    return `${column.label}: no value`;
  }
  const shown = formatCell(c, column);
  const full = typeof c === 'number' && column.kind === 'number' && column.id !== 'duration' ? formatFull(c) : shown;
  return `${column.label}: ${full}`;
}

/** Pixel width of a column: run columns fixed, others by the header's length. */
export function columnWidth(c: ColumnDef): number {
  switch (c.id) {
    case 'status':
      return 100;
    case 'started':
      return 170;
    case 'duration':
      return 108;
    case 'operator':
      return 110;
    case 'runId':
      return 190;
    default:
      return Math.max(90, Math.min(220, c.label.length * 7 + 40));
  }
}

/** How cells read in the table (the CSV export keeps full precision). */
import type { Cell } from '../../src/common/compare/cells';
import type { ColumnDef } from '../../src/protocol/webviews/compare-table';

const dateFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});

export function formatDuration(ms: number): string {
  const s = ms / 1000;
  return s < 60
    ? `${s.toFixed(1)} s`
    : s < 3600
      ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
      : `${(s / 3600).toFixed(1)} h`;
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) {
    return Number.isNaN(n) ? 'NaN' : n > 0 ? '∞' : '-∞';
  }
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(6)));
}

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
    default:
      return Math.max(90, Math.min(220, c.label.length * 7 + 40));
  }
}

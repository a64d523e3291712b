/**
 * The geometry of the grid: fixed row and header heights, the pinned check box and name, where each
 * shown column goes, and which rows and columns intersect the scrolled view.
 */
import type { TableData } from './data';
import type { View } from './compute';
import { columnWidth } from './format';

export const ROW_HEIGHT = 24;
export const HEADER_HEIGHT = 28;
export const CHECK_WIDTH = 28;
export const NAME_WIDTH = 220;
export const PIN_WIDTH = CHECK_WIDTH + NAME_WIDTH;
/** rows rendered above and below the view, so a fast scroll shows no gap */
const OVERSCAN = 8;

/** The left offset and width of each shown column (after the pinned part). */
export class ColumnLayout {
  offsets: number[] = [];
  widths: number[] = [];
  totalWidth = PIN_WIDTH;

  set(data: TableData, view: View): void {
    this.widths = view.columns.map((i) => columnWidth(data.columns[i]));
    this.offsets = [];
    let x = PIN_WIDTH;
    for (const w of this.widths) {
      this.offsets.push(x);
      x += w;
    }
    this.totalWidth = x;
  }

  /** The shown columns (positions in view.columns) that intersect the horizontal view. */
  window(scrollLeft: number, clientWidth: number): [number, number] {
    const left = scrollLeft + PIN_WIDTH;
    const right = scrollLeft + Math.max(clientWidth, 800);
    let first = 0;
    while (first < this.offsets.length && this.offsets[first] + this.widths[first] <= left) {
      first++;
    }
    let last = first;
    while (last < this.offsets.length && this.offsets[last] < right) {
      last++;
    }
    return [first, last];
  }

  /** How many shown columns end beyond `right`, the right edge of the view. */
  beyond(right: number): number {
    let beyond = 0;
    for (let k = this.offsets.length - 1; k >= 0 && this.offsets[k] + this.widths[k] > right + 1; k--) {
      beyond++;
    }
    return beyond;
  }
}

/** The lines (first inclusive, last exclusive) to render for a vertical scroll position, with the overscan. */
export function rowWindow(scrollTop: number, clientHeight: number, lines: number): [number, number] {
  const height = Math.max(clientHeight, 600);
  const top = Math.max(0, scrollTop - HEADER_HEIGHT);
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(lines, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
  return [first, Math.max(first, last)];
}

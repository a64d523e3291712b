/**
 * The status line under the toolbar: how many runs are shown and selected, how many are still
 * coming, the sort, filter errors, a notice.
 */
import { el } from '../common/dom';
import type { View } from './compute';
import type { TableData } from './data';
import type { State } from './state';

export interface Notice {
  readonly level: 'info' | 'error';
  readonly text: string;
}

export interface StatusInput {
  readonly data: TableData;
  readonly view: View | undefined;
  readonly state: State;
  readonly selected: ReadonlySet<string>;
  readonly notice: Notice | undefined;
}

export function renderStatus(line: HTMLElement, { data, view, state, selected, notice }: StatusInput): void {
  const parts: HTMLElement[] = [];
  if (view) {
    const total = data.rows.length;
    const shown = view.sorted.length;
    parts.push(
      el(
        'span',
        undefined,
        `${shown === total ? total.toLocaleString() : `${shown.toLocaleString()} of ${total.toLocaleString()}`} run${total === 1 ? '' : 's'}`,
      ),
    );
    if (data.loading) {
      parts.push(
        el('span', 'loading', `loading: ${data.next.toLocaleString()} of ${data.total.toLocaleString()} received…`),
      );
    }
    if (selected.size > 0) {
      parts.push(el('span', undefined, `${selected.size.toLocaleString()} selected`));
    }
    if (state.sort.length > 0) {
      parts.push(
        el(
          'span',
          undefined,
          `sorted by ${state.sort.map((s) => `${s.column}${s.descending ? ' ↓' : ' ↑'}`).join(', ')}`,
        ),
      );
    }
    for (const error of view.errors) {
      const e = el('span', 'error', error);
      e.setAttribute('role', 'alert');
      parts.push(e);
    }
  }
  if (notice) {
    parts.push(el('span', notice.level === 'error' ? 'notice-error' : undefined, notice.text));
  }
  line.replaceChildren(...parts);
}

/**
 * The column chooser: a panel listing every column with a check box, a search field (a project can
 * have 1,000 metric keys: at most MAX_LISTED are listed at once) and "show all"/"defaults".
 */
import type { ColumnDef } from '../../src/protocol/webviews/compare-table';
import { el } from '../common/dom';
import { button, checkbox, textfield } from './controls';
import { isShown, type State } from './state';

const MAX_LISTED = 300;

export interface ChooserEvents {
  /** new visibility overrides */
  change(visibility: Record<string, boolean>): void;
  close(): void;
}

export function columnChooser(columns: readonly ColumnDef[], state: State, events: ChooserEvents): HTMLElement {
  const panel = el('div', 'chooser');
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', 'Choose columns');
  const search = textfield('Search columns', '', 'Search columns');
  const list = el('div', 'list');
  let visibility: Record<string, boolean> = { ...state.visibility };
  const choosable = columns.filter((c) => c.id !== 'name');
  const fill = () => {
    const q = search.value.trim().toLowerCase();
    const matching = choosable.filter((c) => !q || c.id.toLowerCase().includes(q));
    const current = { ...state, visibility };
    list.replaceChildren(
      ...matching.slice(0, MAX_LISTED).map((c) =>
        checkbox(c.group === 'run' ? c.label : c.id, isShown(c, current), (on) => {
          visibility = { ...visibility, [c.id]: on };
          events.change(visibility);
        }),
      ),
    );
    if (matching.length > MAX_LISTED) {
      list.append(el('div', 'muted', `${matching.length - MAX_LISTED} more: narrow the search`));
    }
  };
  search.addEventListener('input', fill);
  const setAll = (on: boolean | undefined) => {
    visibility = on === undefined ? {} : Object.fromEntries(choosable.map((c) => [c.id, on]));
    events.change(visibility);
    fill();
  };
  const actions = el('div', 'actions');
  actions.append(
    button('Show All', () => setAll(true)),
    button('Defaults', () => setAll(undefined)),
    button('Close', () => events.close(), false),
  );
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      events.close();
    }
  });
  panel.append(search, actions, list);
  fill();
  queueMicrotask(() => search.focus());
  return panel;
}

import type { ColumnDef, CompareTableState } from '../../src/protocol/webviews/compare-table';

export type State = CompareTableState;

export const DEFAULT_STATE: State = {
  sort: [],
  filterText: '',
  statuses: [],
  startedFrom: '',
  startedTo: '',
  visibility: {},
  differOnly: false,
  groupBy: '',
  collapsed: [],
  selected: [],
  view: 'table',
  parallelParams: [],
  parallelMetric: '',
  scrollTop: 0,
};

/** A saved state merged over the defaults (a state saved by an older version may lack fields). */
export function restoreState(saved: Partial<State> | undefined): State {
  return { ...DEFAULT_STATE, ...(saved ?? {}) };
}

/** Whether a column is shown unless the person chose otherwise: metric min and max are hidden at first. */
export function shownByDefault(c: ColumnDef): boolean {
  return c.group !== 'metric' || c.stat === 'last';
}

export function isShown(c: ColumnDef, state: State): boolean {
  return state.visibility[c.id] ?? shownByDefault(c);
}

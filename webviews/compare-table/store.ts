/**
 * The view state and the selection of the page, kept with getState/setState so that a panel shown
 * again looks as it was left.
 */
import type { WebviewToHostMessage } from '../../src/protocol/webviews/compare-table';
import type { VsCodeApi } from '../common/vscode-api';
import { restoreState, type State } from './state';

export class Store {
  state: State;
  /** the selected runs' ids */
  selected: Set<string>;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly api: VsCodeApi<WebviewToHostMessage, State>) {
    this.state = restoreState(api.getState());
    this.selected = new Set(this.state.selected);
  }

  save(patch: Partial<State>): void {
    this.state = { ...this.state, ...patch };
    this.api.setState(this.state);
  }

  /** Saves the selection after it changed in place. */
  saveSelection(): void {
    this.save({ selected: [...this.selected] });
  }

  /** Replaces the selection. */
  select(ids: Iterable<string>): void {
    this.selected = new Set(ids);
    this.saveSelection();
  }

  /** The grid's scroll position, saved once scrolling pauses. */
  scrolled(scrollTop: number): void {
    this.state = { ...this.state, scrollTop };
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.api.setState(this.state), 200);
  }
}

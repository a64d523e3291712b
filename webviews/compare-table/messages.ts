/**
 * What the page does with each message of the host. A table comes as its first rows, painted at
 * once, then chunk by chunk: the next chunk is asked for as soon as one is in, before the work on
 * it, so the host prepares it meanwhile. The view (filters, sort, labels over every row) is
 * recomputed when the rows have grown fourfold since it last was while more than half are still
 * to come, and once all are in: loading n rows costs at most about 1.7 recomputations of n rows,
 * however many chunks they come in (one per chunk would be quadratic: seconds for 100,000 rows).
 * Changes to runs that come meanwhile wait for the next recomputation.
 */
import type { HostToWebviewMessage, TableMessage, TableRowsMessage } from '../../src/protocol/webviews/compare-table';
import type { ComparePage } from './page';

/** How much the rows held grow between two recomputations while a table loads. */
const GROWTH = 4;

export class HostMessages {
  private painted = false;
  /** rows held at the last recomputation while loading */
  private computedRows = 0;

  constructor(private readonly page: ComparePage) {}

  receive(message: HostToWebviewMessage): void {
    const { page } = this;
    const { data, store } = page;
    switch (message.type) {
      case 'table':
        this.table(message);
        break;
      case 'tableRows':
        this.chunk(message);
        break;
      case 'rows':
        data.upsert(message.rows);
        this.changed();
        break;
      case 'deleteRows':
        data.delete(message.ids);
        this.changed();
        break;
      case 'select':
        // while rows are still coming, the ids of those not yet here are kept
        store.select(data.loading ? message.ids : message.ids.filter((id) => data.has(id)));
        page.refresh();
        break;
      case 'notice':
        page.notice = { level: message.level, text: message.text };
        page.renderStatus();
        break;
    }
  }

  private table(message: TableMessage): void {
    const { page } = this;
    page.data.setTable(message);
    this.askForMore();
    if (message.select) {
      page.store.select(message.select);
    }
    if (message.show) {
      const { view, metric } = message.show;
      page.store.save({ view, ...(metric ? { parallelMetric: metric, parallelParams: [] } : {}) });
    }
    if (!this.painted) {
      this.painted = true;
      // after the frame that shows it: the host measures from the command to here
      this.afterPaint(() => page.post({ type: 'painted', rows: message.rows.length }));
      if (page.store.state.scrollTop > 0) {
        page.restoreScroll(page.store.state.scrollTop); // a panel shown again is where it was left
      }
    }
    this.recompute();
  }

  private chunk(message: TableRowsMessage): void {
    const { data } = this.page;
    if (!data.append(message)) {
      return; // a chunk of a table replaced since
    }
    this.askForMore();
    const due = data.rows.length >= GROWTH * this.computedRows && data.next < data.total / 2;
    if (!data.loading || due) {
      this.recompute();
    } else {
      this.page.renderStatus(); // the progress
    }
  }

  /** Runs changed or went away: shown now, or with the next recomputation while loading. */
  private changed(): void {
    if (!this.page.data.loading) {
      this.page.pruneSelection();
      this.page.refresh();
    }
  }

  private askForMore(): void {
    const { data } = this.page;
    if (data.loading) {
      this.page.post({ type: 'moreRows', table: data.table, from: data.next });
    }
  }

  private recompute(): void {
    const { page } = this;
    const { data } = page;
    if (!data.loading) {
      page.pruneSelection(); // only now: a selected run may be in a later chunk
    }
    page.refresh();
    this.computedRows = data.rows.length;
    if (!data.loading) {
      const table = data.table;
      this.afterPaint(() => {
        if (data.table === table) {
          page.post({ type: 'loaded', rows: data.rows.length });
        }
      });
    }
  }

  /** Runs `f` after the next frame was painted (a task queued from requestAnimationFrame). */
  private afterPaint(f: () => void): void {
    requestAnimationFrame(() => setTimeout(f, 0));
  }
}

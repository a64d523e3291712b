/**
 * The extension host's side of the compare table for the browser tests, with the panel's own row
 * handling (src/extension/experiments/compare/table-rows.ts): it posts a table as its first rows,
 * answers each `moreRows` the page posts with the next chunk, and posts row changes as the panel
 * would. `hold()` leaves the page's requests unanswered until `release()`, to look at a page that has
 * its first rows only.
 */
import { deriveColumns, encodeRow } from '../../src/common/compare/columns';
import { TableRows } from '../../src/extension/experiments/compare/table-rows';
import type { Experiment } from '../../src/protocol/experiments';
import type {
  ColumnDef,
  HostToWebviewMessage,
  TableMessage,
  TableRowsMessage,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/compare-table';
import type { WebviewPage } from './webview-harness';

export class ChunkedHost {
  readonly columns: ColumnDef[];
  /** every table and chunk message posted, in order */
  readonly sent: (TableMessage | TableRowsMessage)[] = [];
  private readonly rows = new TableRows();
  private held: Extract<WebviewToHostMessage, { type: 'moreRows' }>[] | undefined;
  private answering = Promise.resolve();

  private constructor(
    private readonly view: WebviewPage,
    experiments: readonly Experiment[],
  ) {
    this.columns = deriveColumns(experiments);
    this.rows.reset(experiments.map((e) => encodeRow(e, this.columns)));
  }

  /** Follows what the page posts (it calls the host as soon as it posts, as VS Code delivers it). */
  static async attach(view: WebviewPage, experiments: readonly Experiment[]): Promise<ChunkedHost> {
    const host = new ChunkedHost(view, experiments);
    await view.page.exposeFunction('__compareHost', (m: WebviewToHostMessage) => host.receive(m));
    await view.page.evaluate(() => {
      const w = window as unknown as { __posted: unknown[]; __compareHost(m: unknown): void };
      const push = w.__posted.push.bind(w.__posted);
      w.__posted.push = (...items: unknown[]) => {
        items.forEach((m) => w.__compareHost(m));
        return push(...items);
      };
    });
    return host;
  }

  /** Posts the table: its columns and first rows. */
  async postTable(): Promise<TableMessage> {
    const message: TableMessage = { type: 'table', project: 'bench', columns: this.columns, ...this.rows.start() };
    await this.post(message);
    return message;
  }

  /** The rows are now those of these experiments: posts the changes, as the panel does. */
  async update(experiments: readonly Experiment[]): Promise<void> {
    const { changed, deleted } = this.rows.update(experiments.map((e) => encodeRow(e, this.columns)));
    if (deleted.length > 0) {
      await this.post({ type: 'deleteRows', ids: deleted });
    }
    if (changed.length > 0) {
      await this.post({ type: 'rows', rows: changed });
    }
  }

  /** Keeps the page's requests for more rows unanswered. */
  hold(): void {
    this.held ??= [];
  }

  /** Answers the requests held, and those to come. */
  release(): Promise<void> {
    const held = this.held ?? [];
    this.held = undefined;
    held.forEach((m) => this.answer(m));
    return this.answering;
  }

  /** How many requests for more rows wait for `release`. */
  get waiting(): number {
    return this.held?.length ?? 0;
  }

  private receive(message: WebviewToHostMessage): void {
    if (message.type !== 'moreRows') {
      return;
    }
    if (this.held) {
      this.held.push(message);
    } else {
      this.answer(message);
    }
  }

  /** One answer at a time, in order, as a panel posts them. */
  private answer(message: Extract<WebviewToHostMessage, { type: 'moreRows' }>): void {
    this.answering = this.answering.then(async () => {
      const chunk = this.rows.more(message.table, message.from);
      if (chunk) {
        await this.post(chunk);
      }
    });
  }

  private async post(message: HostToWebviewMessage): Promise<void> {
    if (message.type === 'table' || message.type === 'tableRows') {
      this.sent.push(message);
    }
    // as JSON text, as VS Code carries it between processes (an object argument would be converted value by value)
    await this.view.page.evaluate((json) => window.postMessage(JSON.parse(json), '*'), JSON.stringify(message));
  }
}

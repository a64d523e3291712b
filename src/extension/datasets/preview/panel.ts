import * as vscode from 'vscode';
import type { DatasetVersion } from '../../../protocol/datasets';
import type {
  HostToWebviewMessage,
  PreviewAction,
  RowCountMessage,
  ShowMessage,
  WebviewToHostMessage,
} from '../../../protocol/webviews/dataset-preview';
import { MutableDisposable, toDisposable } from '../../common/lifecycle';
import { WebviewPanelHost } from '../../common/webview/panel-host';
import { buildPreview } from './content';
import { PREVIEW_CSS } from './html';

/**
 * The dataset preview panel: one panel, reused for each version previewed. The row count of a big
 * CSV is computed in the background and posted when done.
 */
export class DatasetPreview extends WebviewPanelHost<HostToWebviewMessage, WebviewToHostMessage> {
  /** aborts the background row count of the version shown */
  private readonly counting = this._register(new MutableDisposable<vscode.Disposable>());
  private generation = 0;
  /** total rows by content hash and delimiter, for versions counted before */
  private readonly rowCounts = new Map<string, number>();
  private current: { version: DatasetVersion; show: ShowMessage; rowCount?: RowCountMessage } | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private readonly onAction: (action: PreviewAction, version: DatasetVersion) => void,
  ) {
    super(extensionUri, {
      viewType: 'mllab.datasetPreview',
      title: 'Dataset Preview',
      script: 'dataset-preview',
      css: PREVIEW_CSS,
    });
  }

  /** The last `show` and `rowCount` messages of the version in the panel, for tests. */
  get lastShown(): ShowMessage | undefined {
    return this.current?.show;
  }

  get lastRowCount(): RowCountMessage | undefined {
    return this.current?.rowCount;
  }

  get version(): DatasetVersion | undefined {
    return this.current?.version;
  }

  async show(version: DatasetVersion): Promise<void> {
    const mine = ++this.generation;
    const content = await buildPreview(version, this.rowCounts);
    if (mine !== this.generation || this.isDisposed) {
      return; // another preview was asked for meanwhile
    }
    const current: NonNullable<typeof this.current> = { version, show: content.show };
    this.current = current;
    this.counting.value = undefined;
    this.showPanel(content.show.title);
    this.post(content.show);
    if (content.countRows) {
      const controller = new AbortController();
      this.counting.value = toDisposable(() => controller.abort());
      content.countRows(controller.signal).then(
        (note) => this.rowCountDone(current, note),
        (e: unknown) => {
          if (!controller.signal.aborted) {
            this.rowCountDone(current, `could not count the rows: ${(e as Error).message}`);
          }
        },
      );
    }
  }

  private rowCountDone(shown: NonNullable<typeof this.current>, note: string): void {
    if (this.current === shown) {
      shown.rowCount = { type: 'rowCount', ref: shown.show.ref, note };
      this.post(shown.rowCount);
    }
  }

  protected replay(): HostToWebviewMessage[] {
    const c = this.current;
    return c ? [c.show, ...(c.rowCount ? [c.rowCount] : [])] : [];
  }

  protected onMessage(message: WebviewToHostMessage): void {
    const current = this.current;
    if (message.type === 'action' && current && message.ref === current.show.ref) {
      this.onAction(message.action, current.version);
    }
  }

  protected onPanelClosed(): void {
    this.current = undefined;
    this.counting.value = undefined;
  }
}

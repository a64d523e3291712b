import * as vscode from 'vscode';
import type { DatasetVersion } from '../../../protocol/datasets';
import type {
  HostToWebviewMessage,
  PreviewAction,
  RowCountMessage,
  ShowMessage,
  WebviewToHostMessage,
} from '../../../protocol/webviews/dataset-preview';
import { Disposable, MutableDisposable, toDisposable } from '../../common/lifecycle';
import { buildPreview } from './content';
import { previewHtml } from './html';

/**
 * The dataset preview panel: one panel, reused for each version previewed. Data is posted only after
 * the webview's `ready` (sent again each time a hidden panel is shown and its page reloads); the row
 * count of a big CSV is computed in the background and posted when done.
 */
export class DatasetPreview extends Disposable {
  private _panel: vscode.WebviewPanel | undefined;
  private readonly panelSubscriptions = this._register(new MutableDisposable<vscode.Disposable>());
  /** aborts the background row count of the version shown */
  private readonly counting = this._register(new MutableDisposable<vscode.Disposable>());
  private ready = false;
  private _lastPosted: HostToWebviewMessage | undefined;
  private generation = 0;
  private _readyCount = 0;
  /** total rows by content hash and delimiter, for versions counted before */
  private readonly rowCounts = new Map<string, number>();
  private current: { version: DatasetVersion; show: ShowMessage; rowCount?: RowCountMessage } | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly onAction: (action: PreviewAction, version: DatasetVersion) => void,
  ) {
    super();
    this._register(toDisposable(() => this._panel?.dispose()));
  }

  /** The open panel, for tests. */
  get panel(): vscode.WebviewPanel | undefined {
    return this._panel;
  }

  /** The last `show` and `rowCount` messages of the version in the panel, for tests. */
  get lastShown(): ShowMessage | undefined {
    return this.current?.show;
  }

  get lastRowCount(): RowCountMessage | undefined {
    return this.current?.rowCount;
  }

  /** The last message posted to a ready webview, for tests: proof that the handshake happened. */
  get lastPosted(): HostToWebviewMessage | undefined {
    return this._lastPosted;
  }

  /** How many times a page of the panel said `ready` (again after each hide and show), for tests. */
  get readyCount(): number {
    return this._readyCount;
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
    const panel = this.ensurePanel();
    panel.title = content.show.title;
    panel.reveal(undefined, false);
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

  private post(message: HostToWebviewMessage): void {
    if (this.ready && this._panel) {
      this._lastPosted = message;
      void this._panel.webview.postMessage(message);
    }
  }

  private ensurePanel(): vscode.WebviewPanel {
    if (this._panel) {
      return this._panel;
    }
    const panel = vscode.window.createWebviewPanel(
      'mllab.datasetPreview',
      'Dataset Preview',
      { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
      {
        enableScripts: true,
        enableFindWidget: true,
        localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webviews')],
      },
    );
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'mllab.svg');
    this.ready = false;
    this._panel = panel;
    this.panelSubscriptions.value = vscode.Disposable.from(
      panel.webview.onDidReceiveMessage((m: WebviewToHostMessage) => this.onMessage(m)),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) {
          this.ready = false; // its page is discarded; it posts `ready` again when shown
        }
      }),
      panel.onDidDispose(() => {
        this._panel = undefined;
        this.current = undefined;
        this.ready = false;
        this.counting.value = undefined;
        this.panelSubscriptions.value = undefined;
      }),
    );
    panel.webview.html = previewHtml(panel.webview, this.extensionUri);
    return panel;
  }

  private onMessage(message: WebviewToHostMessage): void {
    const current = this.current;
    if (message.type === 'ready') {
      this.ready = true;
      this._readyCount++;
      if (current) {
        this.post(current.show);
        if (current.rowCount) {
          this.post(current.rowCount);
        }
      }
    } else if (message.type === 'action' && current && message.ref === current.show.ref) {
      this.onAction(message.action, current.version);
    }
  }
}

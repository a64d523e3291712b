import * as vscode from 'vscode';
import { Disposable, MutableDisposable, toDisposable } from '../lifecycle';
import { webviewPage, WebviewPageOptions } from './page';

/** What every webview posts first, each time its script starts (first open, and after being hidden). */
export interface ReadyMessage {
  readonly type: 'ready';
}

export interface PanelOptions extends WebviewPageOptions {
  /** the panel's viewType, e.g. 'mllab.metricCharts' */
  readonly viewType: string;
  readonly title: string;
}

/**
 * One webview panel with the ready handshake every ML Lab webview follows: the host posts only after
 * the page's `ready`, and on each `ready` (again after a hidden panel is shown: its page reloads,
 * there is no retainContextWhenHidden) it replays what the page needs to render, given by
 * `replay()`. Other messages go to `onMessage`. Counters and the last posted message are exposed for
 * tests, as proof that the handshake happened.
 */
export abstract class WebviewPanelHost<ToWebview, FromWebview extends { readonly type: string }> extends Disposable {
  private _panel: vscode.WebviewPanel | undefined;
  private readonly panelSubscriptions = this._register(new MutableDisposable<vscode.Disposable>());
  private ready = false;
  private _readyCount = 0;
  private _lastPosted: ToWebview | undefined;

  constructor(
    protected readonly extensionUri: vscode.Uri,
    private readonly options: PanelOptions,
  ) {
    super();
    this._register(toDisposable(() => this._panel?.dispose()));
  }

  /** The open panel, for tests. */
  get panel(): vscode.WebviewPanel | undefined {
    return this._panel;
  }

  /** How many times a page of the panel said `ready`, for tests. */
  get readyCount(): number {
    return this._readyCount;
  }

  /** The last message posted to a ready page, for tests. */
  get lastPosted(): ToWebview | undefined {
    return this._lastPosted;
  }

  /** The messages a freshly (re)loaded page needs, in order. */
  protected abstract replay(): readonly ToWebview[];

  /** A message of the page other than `ready`. */
  protected abstract onMessage(message: FromWebview): void;

  /** Called when the person closes the panel. */
  protected onPanelClosed(): void {}

  /** Posts if the page is ready; otherwise the message reaches it through `replay()` on `ready`. */
  protected post(message: ToWebview): void {
    if (this.ready && this._panel) {
      this._lastPosted = message;
      void this._panel.webview.postMessage(message);
    }
  }

  /** Opens the panel (or reveals it) with the given title. */
  protected showPanel(title: string, preserveFocus = false): vscode.WebviewPanel {
    const panel = this._panel ?? this.createPanel();
    panel.title = title;
    panel.reveal(undefined, preserveFocus);
    return panel;
  }

  private createPanel(): vscode.WebviewPanel {
    const panel = vscode.window.createWebviewPanel(
      this.options.viewType,
      this.options.title,
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
      panel.webview.onDidReceiveMessage((m: FromWebview | ReadyMessage) => this.receive(m)),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) {
          this.ready = false; // its page is discarded; it posts `ready` again when shown
        }
      }),
      panel.onDidDispose(() => {
        this._panel = undefined;
        this.ready = false;
        this.panelSubscriptions.value = undefined;
        this.onPanelClosed();
      }),
    );
    panel.webview.html = webviewPage(panel.webview, this.extensionUri, this.options);
    return panel;
  }

  private receive(message: FromWebview | ReadyMessage): void {
    if (message.type === 'ready') {
      this.ready = true;
      this._readyCount++;
      for (const m of this.replay()) {
        this.post(m);
      }
    } else {
      this.onMessage(message as FromWebview);
    }
  }
}

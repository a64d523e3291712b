import * as vscode from 'vscode';
import { ApiClient } from '../../client/api-client';
import { connect } from '../../client/connect';
import { EventStream } from '../../client/event-stream';
import type { BackendEvent } from '../../protocol/api';
import { Disposable, MutableDisposable, toDisposable } from '../common/lifecycle';

export type BackendState =
  | { readonly kind: 'starting' }
  | { readonly kind: 'connected'; readonly client: ApiClient; readonly pid: number; readonly port: number }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'noHome' };

export interface BackendServiceOptions {
  /** the lab home, or undefined when no folder is open and no absolute mllab.home is set */
  readonly home: string | undefined;
  readonly backendScript: string;
  readonly idleExitSeconds: number;
  /** the `mllab.docker.host` setting, for a backend this window starts */
  readonly dockerHost?: string;
  readonly log: vscode.LogOutputChannel;
}

const RETRY_DELAYS_MS = [200, 500, 1000, 2000, 5000];

/**
 * The window's link to the backend of its lab home: attaches to the running backend or starts one in
 * the background, follows its event stream, and reconnects (restarting the backend if it went away).
 */
export class BackendService extends Disposable {
  private readonly _onDidChangeState = this._register(new vscode.EventEmitter<BackendState>());
  readonly onDidChangeState = this._onDidChangeState.event;
  private readonly _onDidReceiveEvent = this._register(new vscode.EventEmitter<BackendEvent>());
  readonly onDidReceiveEvent = this._onDidReceiveEvent.event;

  private _state: BackendState;
  private readonly stream = this._register(new MutableDisposable<EventStream>());
  private retries = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;

  constructor(private readonly options: BackendServiceOptions) {
    super();
    this._state = options.home ? { kind: 'starting' } : { kind: 'noHome' };
    this._register(toDisposable(() => clearTimeout(this.retryTimer)));
    this._register(toDisposable(() => this.clientOrUndefined?.dispose()));
  }

  get state(): BackendState {
    return this._state;
  }

  get home(): string | undefined {
    return this.options.home;
  }

  private get clientOrUndefined(): ApiClient | undefined {
    return this._state.kind === 'connected' ? this._state.client : undefined;
  }

  /** The API client; throws a message a person can act on when the backend is not connected. */
  get client(): ApiClient {
    const s = this._state;
    switch (s.kind) {
      case 'connected':
        return s.client;
      case 'noHome':
        throw new Error('Open a folder first: ML Lab keeps its lab home (.mllab) in the first workspace folder.');
      case 'failed':
        throw new Error(`The backend is not running (${s.message}). Run "ML Lab: Restart Backend".`);
      case 'starting':
        throw new Error('The backend is still starting: try again in a moment.');
    }
  }

  /**
   * The API client once connected: waits while the backend is starting (a command run right after
   * the window opened), and throws the actionable message of `client` when it cannot connect.
   */
  async ready(): Promise<ApiClient> {
    if (this._state.kind === 'starting') {
      await this.start();
    }
    return this.client;
  }

  /** Resolves once connected (or failed); starts the connection if needed (connected: nothing to do). */
  start(): Promise<void> {
    if (!this.options.home || this.isDisposed || this._state.kind === 'connected') {
      // (showing a view started a new connection even when one was up: every list was emptied and
      // loaded again, 1.2 s at 100,000 runs)
      return Promise.resolve();
    }
    this.connecting ??= this.connectOnce().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async restart(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retries = 0;
    const client = this.clientOrUndefined;
    if (client) {
      this.stream.value = undefined;
      await client.shutdown().catch(() => undefined);
      client.dispose();
      await waitForExit(this._state.kind === 'connected' ? this._state.pid : 0);
    }
    this.setState({ kind: 'starting' });
    await this.start();
  }

  private async connectOnce(): Promise<void> {
    const home = this.options.home!;
    if (this._state.kind !== 'starting') {
      this.setState({ kind: 'starting' });
    }
    try {
      const connection = await connect({
        home,
        backendScript: this.options.backendScript,
        idleExitSeconds: this.options.idleExitSeconds,
        dockerHost: this.options.dockerHost,
      });
      if (this.isDisposed) {
        connection.client.dispose();
        return;
      }
      const { client, registration } = connection;
      this.options.log.info(
        `${connection.started ? 'Started' : 'Attached to'} the backend of ${home} (process ${registration.pid}, port ${registration.port})`,
      );
      this.retries = 0;
      this.stream.value = new EventStream(
        client,
        (event) => this._onDidReceiveEvent.fire(event),
        (reason) => this.onStreamClosed(reason),
      );
      this.setState({ kind: 'connected', client, pid: registration.pid, port: registration.port });
    } catch (e) {
      const message = (e as Error).message;
      this.options.log.error(`Backend connection failed: ${message}`);
      this.setState({ kind: 'failed', message });
    }
  }

  private onStreamClosed(reason: string): void {
    if (this.isDisposed) {
      return;
    }
    this.options.log.warn(`Lost the backend's event stream (${reason}); reconnecting`);
    this.clientOrUndefined?.dispose();
    this.setState({ kind: 'starting' });
    const delay = RETRY_DELAYS_MS[Math.min(this.retries++, RETRY_DELAYS_MS.length - 1)];
    this.retryTimer = setTimeout(() => void this.start(), delay);
  }

  private setState(state: BackendState): void {
    this._state = state;
    this._onDidChangeState.fire(state);
  }
}

async function waitForExit(pid: number): Promise<void> {
  for (let i = 0; pid > 0 && i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

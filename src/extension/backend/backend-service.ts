import * as vscode from 'vscode';
import { ApiClient, BackendError } from '../../client/api-client';
import { connect, connectRemote } from '../../client/connect';
import { readCaFile } from '../../client/credentials';
import { EventStream } from '../../client/event-stream';
import type { BackendEvent } from '../../protocol/api';
import type { WhoAmI } from '../../protocol/routes/users';
import { Disposable, MutableDisposable, toDisposable } from '../common/lifecycle';
import {
  EditorRemoteClient,
  inEditorTerms,
  isRefusedToken,
  isUnreachable,
  notAvailableRemotely,
  REMOTE_RECONNECT_DELAYS_MS,
  type ConnectedLab,
  type RemoteRetry,
} from './lab-link';

export type { ConnectedLab } from './lab-link';

export type BackendState =
  | { readonly kind: 'starting' }
  | {
      readonly kind: 'connected';
      readonly client: ApiClient;
      /** the local backend's process and port (a lab reached by URL: 0 and the URL's port) */
      readonly pid: number;
      readonly port: number;
      /** which lab: the folder's lab home, or a lab served by URL (with who the token speaks for) */
      readonly lab: ConnectedLab;
    }
  | {
      readonly kind: 'failed';
      readonly message: string;
      /** the URL of the lab reached by URL that could not be reached (absent: the local backend) */
      readonly remote?: string;
      /** the lab refused the token: a new one is needed, retrying cannot help */
      readonly refusedToken?: boolean;
      /** the lab reached by URL is down or unreachable: tried again by itself with backoff (`remoteRetry`) */
      readonly retrying?: boolean;
    }
  | { readonly kind: 'noHome' };

/** A lab served by URL that the window talks to instead of its folder's lab home. */
export interface RemoteTarget {
  readonly url: string;
  /** the token; absent: read with `tokenOf` (SecretStorage) when connecting */
  readonly token?: string;
  /** the PEM file of the lab's CA, for a lab whose certificate this machine does not trust */
  readonly caFile?: string;
}

export interface BackendServiceOptions {
  /** the lab home, or undefined when no folder is open and no absolute mllab.home is set */
  readonly home: string | undefined;
  readonly backendScript: string;
  readonly idleExitSeconds: number;
  /** the `mllab.docker.host` setting, for a backend this window starts */
  readonly dockerHost?: string;
  readonly log: vscode.LogOutputChannel;
  /** the stored token of a lab reached by URL (SecretStorage) */
  readonly tokenOf?: (url: string) => Thenable<string | undefined>;
}

const RETRY_DELAYS_MS = [200, 500, 1000, 2000, 5000];

/**
 * The window's link to its lab: the backend of its lab home (attached to, or started in the
 * background; restarted if it went away), or a lab served by URL (no process here: its event stream
 * reconnects with backoff and replays what it missed). Follows the lab's event stream.
 */
export class BackendService extends Disposable {
  private readonly _onDidChangeState = this._register(new vscode.EventEmitter<BackendState>());
  readonly onDidChangeState = this._onDidChangeState.event;
  private readonly _onDidReceiveEvent = this._register(new vscode.EventEmitter<BackendEvent>());
  readonly onDidReceiveEvent = this._onDidReceiveEvent.event;
  /** the window now talks to another lab (one reached by URL, or back to its lab home): what was loaded is of the old one */
  private readonly _onDidSwitchLab = this._register(new vscode.EventEmitter<void>());
  readonly onDidSwitchLab = this._onDidSwitchLab.event;
  /** the event stream of a lab reached by URL dropped (a reason) or is back (undefined) */
  private readonly _onDidChangeLink = this._register(new vscode.EventEmitter<string | undefined>());
  readonly onDidChangeLink = this._onDidChangeLink.event;

  private _state: BackendState;
  private readonly stream = this._register(new MutableDisposable<EventStream>());
  private retries = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;
  /** the lab reached by URL, when the window talks to one instead of its lab home */
  private remote: RemoteTarget | undefined;
  /** grows at each switch of lab: a connection made for an earlier one is dropped */
  private generation = 0;
  private _linkDown: string | undefined;
  private _remoteRetry: RemoteRetry | undefined;

  constructor(private readonly options: BackendServiceOptions) {
    super();
    this._state = options.home ? { kind: 'starting' } : { kind: 'noHome' };
    this._register(toDisposable(() => clearTimeout(this.retryTimer)));
    this._register(toDisposable(() => this.clientOrUndefined?.dispose()));
  }

  get state(): BackendState {
    return this._state;
  }

  /** the folder's lab home (also while the window talks to a lab by URL) */
  get home(): string | undefined {
    return this.options.home;
  }

  /** the URL of the lab the window talks to, undefined for the folder's local lab */
  get remoteUrl(): string | undefined {
    return this.remote?.url;
  }

  /** the CA file of the lab reached by URL */
  get remoteCaFile(): string | undefined {
    return this.remote?.caFile;
  }

  /** the lab reached by URL could not be reached and is tried again by itself: the last attempt, the next */
  get remoteRetry(): RemoteRetry | undefined {
    return this._remoteRetry;
  }

  /** why the event stream of a lab reached by URL is down while it reconnects (undefined: it is up) */
  get linkDown(): string | undefined {
    return this._linkDown;
  }

  /**
   * The lab home on this machine for a feature that needs its files (`what`); against a lab reached
   * by URL, says it is not available yet and what to do `instead`.
   */
  localHome(what: string, instead: string): string {
    if (this.remote) {
      throw notAvailableRemotely(what, this.remote.url, instead);
    }
    if (!this.options.home) {
      throw new Error('Open a folder first: ML Lab keeps its lab home (.mllab) in the first workspace folder.');
    }
    return this.options.home;
  }

  /** Throws when the window talks to a lab by URL: `what` needs this machine's files (see `localHome`). */
  requireLocal(what: string, instead: string): void {
    if (this.remote) {
      throw notAvailableRemotely(what, this.remote.url, instead);
    }
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
        throw new Error(
          'Open a folder first: ML Lab keeps its lab home (.mllab) in the first workspace folder (or run "ML Lab: Connect to Lab..." to use a lab by URL).',
        );
      case 'failed':
        throw new Error(
          s.remote
            ? `Not connected to the lab at ${s.remote} (${s.message}). Run "ML Lab: Connect to Lab...".`
            : `The backend is not running (${s.message}). Run "ML Lab: Restart Backend".`,
        );
      case 'starting':
        throw new Error(
          this.remote
            ? `Still connecting to the lab at ${this.remote.url}: try again in a moment.`
            : 'The backend is still starting: try again in a moment.',
        );
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
    if (
      (!this.options.home && !this.remote) ||
      this.isDisposed ||
      this._state.kind === 'connected' ||
      // a refused token stays refused: a new one comes with "Connect to Lab..." (or "Restart Backend" tries again)
      (this._state.kind === 'failed' && this._state.refusedToken === true)
    ) {
      // (showing a view started a new connection even when one was up: every list was emptied and
      // loaded again, 1.2 s at 100,000 runs)
      return Promise.resolve();
    }
    if (!this.connecting) {
      const connecting = (this.remote ? this.connectRemoteOnce(this.remote) : this.connectOnce()).finally(() => {
        if (this.connecting === connecting) {
          this.connecting = undefined;
        }
      });
      this.connecting = connecting;
    }
    return this.connecting;
  }

  async restart(): Promise<void> {
    clearTimeout(this.retryTimer);
    this.retries = 0;
    if (this.remote) {
      // no process of ours: connect again
      this.switchLab(this.remote);
      await this.start();
      return;
    }
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

  /**
   * Connects to a lab served by URL and, once it answered and took the token, talks to it instead of
   * the current lab. Throws (a BackendError saying what to do) and changes nothing when it cannot.
   */
  async connectTo(target: RemoteTarget & { readonly token: string }): Promise<ConnectedLab> {
    const ca = target.caFile ? readCaFile(target.caFile) : undefined;
    const connection = await connectRemote({ url: target.url, token: target.token, tokenFrom: 'login', ca }).catch(
      (e: unknown) => {
        throw inEditorTerms(target.url, e);
      },
    );
    connection.client.dispose();
    if (this.isDisposed) {
      throw new Error('The window is closing.');
    }
    this.switchLab(target);
    this.attachRemote(target, target.token, ca, connection.me);
    const state = this._state;
    return state.kind === 'connected' ? state.lab : { kind: 'remote', url: target.url, user: '?', role: undefined };
  }

  /**
   * Talks to the lab served by URL that the workspace remembers (the token is read with `tokenOf`
   * when connecting); the connection starts with `start()`.
   */
  useStoredRemote(target: RemoteTarget): void {
    this.switchLab(target);
  }

  /** Goes back to the folder's lab home (its backend is attached to, or started). */
  async useLocal(): Promise<void> {
    this.switchLab(undefined);
    await this.start();
  }

  /** Drops the current connection and makes `target` (undefined: the lab home) the lab to connect to. */
  private switchLab(target: RemoteTarget | undefined): void {
    this.generation++;
    clearTimeout(this.retryTimer);
    this.retries = 0;
    this.connecting = undefined;
    this.stream.value = undefined;
    // a local backend is left running: it stops by itself once idle
    this.clientOrUndefined?.dispose();
    const switched = this.remote?.url !== target?.url;
    this.remote = target;
    this._remoteRetry = undefined;
    this.setLinkDown(undefined);
    if (switched) {
      this._onDidSwitchLab.fire();
    }
    this.setState(target || this.options.home ? { kind: 'starting' } : { kind: 'noHome' });
  }

  private async connectRemoteOnce(target: RemoteTarget): Promise<void> {
    const generation = this.generation;
    // while the lab is tried again by itself, the state stays "failed, retrying" (no notification per attempt)
    const retrying = this._state.kind === 'failed' && this._state.retrying === true;
    if (this._state.kind !== 'starting' && !retrying) {
      this.setState({ kind: 'starting' });
    }
    try {
      const token = target.token ?? (await this.options.tokenOf?.(target.url));
      if (!token) {
        throw new BackendError(
          0,
          'no_token',
          `No token is stored for the lab at ${target.url}: run "ML Lab: Connect to Lab..." and give yours.`,
        );
      }
      const ca = target.caFile ? readCaFile(target.caFile) : undefined;
      const connection = await connectRemote({ url: target.url, token, tokenFrom: 'login', ca });
      connection.client.dispose();
      if (this.isDisposed || generation !== this.generation) {
        return;
      }
      this.attachRemote(target, token, ca, connection.me);
    } catch (e) {
      if (this.isDisposed || generation !== this.generation) {
        return;
      }
      if (isUnreachable(e)) {
        this.retryRemote(target, e);
        return;
      }
      this.failRemote(target.url, e);
    }
  }

  /**
   * The lab reached by URL is down or unreachable (a window opened while it was stopped, a restart):
   * tried again with backoff, as its event stream is once connected, until it answers, the window
   * switches lab, or it refuses. The state says so once; each attempt updates `remoteRetry`.
   */
  private retryRemote(target: RemoteTarget, e: unknown): void {
    const reason = (e as Error).message;
    const attempt = (this._remoteRetry?.attempt ?? 0) + 1;
    const delayMs = REMOTE_RECONNECT_DELAYS_MS[Math.min(attempt - 1, REMOTE_RECONNECT_DELAYS_MS.length - 1)];
    this._remoteRetry = { attempt, delayMs, reason };
    const generation = this.generation;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.isDisposed && generation === this.generation) {
        void this.start();
      }
    }, delayMs);
    if (this._state.kind === 'failed' && this._state.retrying) {
      this.options.log.warn(`The lab at ${target.url} still does not answer (attempt ${attempt}): ${reason}`);
      this._onDidChangeLink.fire(reason);
      return;
    }
    this.options.log.error(`Could not connect to the lab at ${target.url}: ${reason}; trying again by itself`);
    this.setState({
      kind: 'failed',
      message: `${reason} Trying again by itself (the lab status bar item shows it).`,
      remote: target.url,
      retrying: true,
    });
  }

  private failRemote(url: string, e: unknown): void {
    const refusedToken = isRefusedToken(e);
    const message = (inEditorTerms(url, e) as Error).message;
    this.options.log.error(`Could not connect to the lab at ${url}: ${message}`);
    this.setState({ kind: 'failed', message, remote: url, refusedToken });
  }

  /** Follows the lab reached by URL with a client of the editor's own (a refused token says what to do here). */
  private attachRemote(target: RemoteTarget, token: string, ca: string | undefined, me: WhoAmI | undefined): void {
    const generation = this.generation;
    const client = new EditorRemoteClient({ url: target.url, token, tokenFrom: 'login', ...(ca ? { ca } : {}) });
    const lab: ConnectedLab = { kind: 'remote', url: target.url, user: me?.name ?? 'unknown user', role: me?.role };
    this.options.log.info(`Connected to the lab at ${target.url} as ${lab.user}${lab.role ? ` (${lab.role})` : ''}`);
    this.retries = 0;
    this._remoteRetry = undefined;
    this.stream.value = new EventStream(
      client,
      (event) => this.onRemoteEvent(event),
      (reason) => void this.onRemoteStreamClosed(generation, client, target.url, reason),
      {
        reconnect: { delaysMs: REMOTE_RECONNECT_DELAYS_MS },
        onReconnecting: (reason) => {
          if (generation === this.generation && !this.isDisposed) {
            if (this._linkDown === undefined) {
              this.options.log.warn(`Lost the event stream of the lab at ${target.url} (${reason}); reconnecting`);
            }
            this.setLinkDown(reason);
          }
        },
      },
    );
    this.setState({ kind: 'connected', client, pid: 0, port: client.port, lab });
  }

  private onRemoteEvent(event: BackendEvent): void {
    if (event.type === 'hello' && this._linkDown !== undefined) {
      this.setLinkDown(undefined);
      if (event.resume === 'replayed') {
        // the events missed meanwhile follow: the lists apply them as they come, nothing is reloaded
        this.options.log.info('The event stream is back; the events missed meanwhile are replayed');
        return;
      }
      this.options.log.info('The event stream is back but the lab no longer keeps what was missed: reloading');
    }
    this._onDidReceiveEvent.fire(event);
  }

  /** The stream of a lab reached by URL ended for good (refused): says why, never loops. */
  private async onRemoteStreamClosed(
    generation: number,
    client: ApiClient,
    url: string,
    reason: string,
  ): Promise<void> {
    if (this.isDisposed || generation !== this.generation) {
      return;
    }
    // the stream's refusal has no message: ask the lab why (a refused token says what to do)
    const why = await client.whoami().then(
      () =>
        new BackendError(
          0,
          'stream_refused',
          `The lab's event stream ended: ${reason}. Run "ML Lab: Connect to Lab..." to connect again.`,
        ),
      (e: unknown) => e,
    );
    if (this.isDisposed || generation !== this.generation) {
      return;
    }
    this.stream.value = undefined;
    client.dispose();
    this.setLinkDown(undefined);
    this.failRemote(url, why);
  }

  private async connectOnce(): Promise<void> {
    const home = this.options.home!;
    const generation = this.generation;
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
      if (this.isDisposed || generation !== this.generation) {
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
        (reason) => this.onStreamClosed(generation, reason),
      );
      this.setState({
        kind: 'connected',
        client,
        pid: registration.pid,
        port: registration.port,
        lab: { kind: 'local', home, pid: registration.pid, port: registration.port },
      });
    } catch (e) {
      if (this.isDisposed || generation !== this.generation) {
        return;
      }
      const message = (e as Error).message;
      this.options.log.error(`Backend connection failed: ${message}`);
      this.setState({ kind: 'failed', message });
    }
  }

  private onStreamClosed(generation: number, reason: string): void {
    if (this.isDisposed || generation !== this.generation) {
      return;
    }
    this.options.log.warn(`Lost the backend's event stream (${reason}); reconnecting`);
    this.clientOrUndefined?.dispose();
    this.setState({ kind: 'starting' });
    const delay = RETRY_DELAYS_MS[Math.min(this.retries++, RETRY_DELAYS_MS.length - 1)];
    this.retryTimer = setTimeout(() => void this.start(), delay);
  }

  private setLinkDown(reason: string | undefined): void {
    if (reason !== this._linkDown) {
      this._linkDown = reason;
      this._onDidChangeLink.fire(reason);
    }
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

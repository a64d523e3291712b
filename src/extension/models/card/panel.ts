import * as vscode from 'vscode';
import { BackendError } from '../../../client/api-client';
import type { Model, ModelVersionDetails } from '../../../protocol/models';
import type {
  CardAction,
  HostToWebviewMessage,
  ShowMessage,
  WebviewToHostMessage,
} from '../../../protocol/webviews/model-card';
import type { BackendService } from '../../backend/backend-service';
import { WebviewPanelHost } from '../../common/webview/panel-host';
import type { ModelNode } from '../nodes';
import { buildCard, modelRef } from './content';
import { CARD_CSS } from './style';

export interface CardPanelDeps {
  readonly backend: BackendService;
  /** runs an ML Lab command (deploy, set alias, playground, show experiment) */
  readonly runCommand: (command: CardAction, arg: unknown) => Thenable<unknown>;
  readonly copy: (text: string) => Thenable<void>;
  /** reveals the stored file (OS file manager on desktop) */
  readonly reveal: (file: string) => Thenable<void>;
  readonly reportError: (message: string) => void;
  /** reveals another open card of `key`, if any (one card per version); true when there was one */
  readonly revealOther?: (key: CardKey) => boolean;
}

/** A version's identity: the model's project and name and the version number. */
export interface CardKey {
  /** project id; undefined = the active project */
  readonly project: string | undefined;
  readonly name: string;
  readonly version: number;
}

/**
 * The card of one model version: everything about it, kept current while open (model and service
 * events reload it), switching to another version of the same model on request, and a "deleted"
 * state when the version or its model is deleted meanwhile.
 */
export class ModelCardPanel extends WebviewPanelHost<HostToWebviewMessage, WebviewToHostMessage> {
  private readonly _onDidClose = this._register(new vscode.EventEmitter<void>());
  readonly onDidClose = this._onDidClose.event;

  private details: ModelVersionDetails | undefined;
  private model: Model | undefined;
  private deleted: string | undefined;
  private shown: ShowMessage | undefined;
  private generation = 0;
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    extensionUri: vscode.Uri,
    private _key: CardKey,
    private readonly deps: CardPanelDeps,
  ) {
    super(extensionUri, { viewType: 'mllab.modelCard', title: 'Model', script: 'model-card', css: CARD_CSS });
    this._register({ dispose: () => clearTimeout(this.reloadTimer) });
  }

  get key(): CardKey {
    return this._key;
  }

  /** the model's id once loaded (events name models by id) */
  get modelId(): string | undefined {
    return this.details?.modelId;
  }

  /** The last `show` built (posted, or waiting for the page's `ready`), for tests. */
  get lastShown(): ShowMessage | undefined {
    return this.shown;
  }

  get isDeleted(): boolean {
    return this.deleted !== undefined;
  }

  /** Loads the version and opens (or reveals) the panel. */
  async show(preserveFocus = false): Promise<void> {
    await this.reload();
    if (!this.isDisposed) {
      this.showPanel(this.title(), preserveFocus);
    }
  }

  /** Shows another version of the same model in this panel. */
  async switchTo(version: number): Promise<void> {
    const previous = { key: this._key, deleted: this.deleted };
    this._key = { ...this._key, version };
    this.deleted = undefined;
    try {
      await this.reload(true);
    } catch (e) {
      this._key = previous.key; // the card stays on what it showed
      this.deleted = previous.deleted;
      throw e;
    }
  }

  /** Reloads shortly after an event; events in a burst cause one reload. */
  reloadSoon(): void {
    if (this.deleted || this.isDisposed) {
      return;
    }
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => {
      this.reload().catch(() => undefined); // the backend went away: a reconnect reloads again
    }, 150);
  }

  /** The version or its model is gone: the last known record stays, marked deleted, without actions. */
  markDeleted(reason: string): void {
    if (this.deleted) {
      return;
    }
    this.deleted = reason;
    this.generation++; // a reload in flight must not bring the live card back
    this.render();
  }

  /** Reloads the version shown; a version that is gone marks the card deleted (or, `switching`, is an error). */
  async reload(switching = false): Promise<void> {
    if (this.deleted) {
      return;
    }
    const mine = ++this.generation;
    const { project, name, version } = this._key;
    const client = await this.deps.backend.ready();
    let details: ModelVersionDetails;
    let model: Model | undefined;
    try {
      [details, model] = await Promise.all([
        client.getModelVersion(name, version, project),
        client.getModel(name, project).catch(() => undefined),
      ]);
    } catch (e) {
      if (e instanceof BackendError && e.status === 404 && mine === this.generation) {
        if (!this.details || switching) {
          throw new Error(`The model version ${modelRef(name, version)} does not exist (any more).`);
        }
        this.markDeleted(`${modelRef(name, version)} was deleted. This is its last known record.`);
        return;
      }
      throw e;
    }
    if (mine !== this.generation || this.isDisposed) {
      return;
    }
    this.details = details;
    this.model = model;
    this._key = { project: details.projectId, name: details.name, version: details.version };
    this.render();
  }

  /** Handles a message of the page (public so tests can drive the same path as a click). */
  async perform(message: WebviewToHostMessage): Promise<void> {
    const details = this.details;
    if (message.type === 'ready' || !details || message.ref !== modelRef(details.name, details.version)) {
      return;
    }
    if (message.type === 'switchVersion') {
      if (!this.deps.revealOther?.({ ...this._key, version: message.version })) {
        await this.switchTo(message.version);
      }
      return;
    }
    if (this.deleted) {
      return;
    }
    switch (message.action) {
      case 'openExperiment':
        await this.deps.runCommand('openExperiment', details.experimentId);
        return;
      case 'copyPath':
        this.deps.backend.requireLocal("Copying a model's path", "its file is on the lab's machine.");
        await this.deps.copy(details.path);
        return;
      case 'revealFile':
        await this.deps.reveal(details.path);
        return;
      default:
        await this.deps.runCommand(message.action, await this.node());
    }
  }

  /** The Models view's node of the version shown, as the model commands take it. */
  async node(): Promise<ModelNode> {
    const details = this.details!;
    const model = this.model ?? (await (await this.deps.backend.ready()).getModel(details.name, details.projectId));
    const version = model.versions.find((v) => v.version === details.version) ?? details;
    return { kind: 'version', model, version };
  }

  protected replay(): HostToWebviewMessage[] {
    return this.shown ? [this.shown] : [];
  }

  protected onMessage(message: WebviewToHostMessage): void {
    this.perform(message).catch((e: unknown) =>
      this.deps.reportError(`ML Lab: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  protected onPanelClosed(): void {
    this._onDidClose.fire();
  }

  private title(): string {
    const name = modelRef(this._key.name, this._key.version);
    return this.deleted ? `${name} (deleted)` : name;
  }

  private render(): void {
    if (!this.details) {
      return;
    }
    this.shown = buildCard({
      version: this.details,
      model: this.model,
      deleted: this.deleted,
      remote: this.deps.backend.remoteUrl !== undefined,
    });
    this.post(this.shown);
    if (this.panel) {
      this.panel.title = this.title();
    }
  }
}

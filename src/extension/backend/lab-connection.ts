import * as vscode from 'vscode';
import { checkToken, parseLabUrl, readCaFile } from '../../client/credentials';
import { Commands, ContextKeys } from '../common/commands';
import { Disposable } from '../common/lifecycle';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { BackendService, ConnectedLab } from './backend-service';
import { isUntrustedCertificate, labHostOf, parseStoredRemote, secretKeyOf, type StoredRemoteLab } from './lab-link';

/** workspace state: the lab reached by URL this workspace talks to (never its token) */
const REMOTE_KEY = 'mllab.remoteLab';
/** workspace state: the URL last given to "Connect to Lab...", prefilled the next time */
const LAST_URL_KEY = 'mllab.lastLabUrl';

/**
 * "ML Lab: Connect to Lab..." and "ML Lab: Disconnect from Lab": the window talks to a lab served by
 * URL instead of its folder's lab home. The token goes to SecretStorage (keyed by the URL), the URL
 * and CA file to the workspace state; opening the window again connects to the same lab.
 */
export class LabConnection extends Disposable {
  constructor(
    private readonly backend: BackendService,
    private readonly secrets: vscode.SecretStorage,
    private readonly state: vscode.Memento,
    private readonly ui: Ui,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this._register(registerCommand(Commands.connectLab, ui, () => this.connectInteractively()));
    this._register(registerCommand(Commands.disconnectLab, ui, () => this.disconnect()));
    this._register(backend.onDidChangeState(() => this.setContext()));
    this.setContext();
  }

  /** The lab reached by URL that this workspace remembers, made the backend's lab (connected by `start()`). */
  restore(): StoredRemoteLab | undefined {
    const stored = parseStoredRemote(this.state.get(REMOTE_KEY));
    if (stored) {
      this.backend.useStoredRemote(stored);
      this.setContext();
    }
    return stored;
  }

  /**
   * Connects the window to the lab at `url` with `token` (and the CA file of a lab this machine does
   * not trust): what the command does once it has its answers. Throws a message that says what to do,
   * and then changes nothing (the window keeps its lab).
   */
  async connect(url: string, token: string, caFile?: string): Promise<ConnectedLab> {
    const lab = parseLabUrl(url);
    const secret = checkToken(token);
    if (caFile !== undefined) {
      readCaFile(caFile); // a bad file is named before anything is tried
    }
    await this.state.update(LAST_URL_KEY, lab);
    const before = this.backend.remoteUrl;
    const connected = await this.backend.connectTo({ url: lab, token: secret, ...(caFile ? { caFile } : {}) });
    await this.secrets.store(secretKeyOf(lab), secret);
    if (before !== undefined && before !== lab) {
      await this.secrets.delete(secretKeyOf(before)); // the window no longer talks to that lab
    }
    await this.state.update(REMOTE_KEY, { url: lab, ...(caFile ? { caFile } : {}) } satisfies StoredRemoteLab);
    this.setContext();
    return connected;
  }

  /** Goes back to the folder's lab home and forgets the token of the lab reached by URL. */
  async disconnect(): Promise<void> {
    const url = this.backend.remoteUrl ?? parseStoredRemote(this.state.get(REMOTE_KEY))?.url;
    if (!url) {
      void this.ui.info('ML Lab: this window already talks to the local lab of its folder.');
      return;
    }
    await this.state.update(REMOTE_KEY, undefined);
    await this.secrets.delete(secretKeyOf(url));
    this.log.info(`Disconnected from the lab at ${url}; back to the local lab`);
    await this.backend.useLocal();
    this.setContext();
  }

  /** The command: asks the URL (prefilled with the last one) and the token, offers a CA file for an untrusted certificate. */
  private async connectInteractively(): Promise<ConnectedLab | undefined> {
    const last = this.backend.remoteUrl ?? this.state.get<string>(LAST_URL_KEY);
    const url = await this.ui.input({
      title: 'Connect to Lab (1/2): URL',
      prompt: 'The lab\'s address, as its admin gave it (served with "mllab serve --listen")',
      placeHolder: 'https://lab.example.com:8443',
      value: typeof last === 'string' ? last : undefined,
      ignoreFocusOut: true,
      validateInput: (text) => problemOf(() => parseLabUrl(text)),
    });
    if (url === undefined) {
      return undefined;
    }
    const lab = parseLabUrl(url);
    const token = await this.ui.input({
      title: `Connect to Lab (2/2): token for ${labHostOf(lab)}`,
      prompt:
        'Your token (an admin of the lab creates one with "mllab token create --user NAME"); kept in the editor\'s secret storage',
      password: true,
      ignoreFocusOut: true,
      validateInput: (text) => problemOf(() => checkToken(text)),
    });
    if (token === undefined) {
      return undefined;
    }
    let caFile = this.backend.remoteUrl === lab ? this.backend.remoteCaFile : undefined;
    for (;;) {
      try {
        const connected = await this.connect(lab, token, caFile);
        void this.ui.info(
          `ML Lab: connected to ${labHostOf(lab)}${connected.kind === 'remote' ? ` as ${connected.user}${connected.role ? ` (${connected.role})` : ''}` : ''}.`,
        );
        return connected;
      } catch (e) {
        if (!isUntrustedCertificate(e)) {
          throw e;
        }
        const choice = await this.ui.error(
          `ML Lab: the certificate of ${labHostOf(lab)} is not trusted by this machine. If the lab uses its own CA or a self-signed certificate, choose that CA's PEM file (its admin has it).`,
          'Choose CA File...',
        );
        if (choice !== 'Choose CA File...') {
          return undefined;
        }
        const picked = await this.ui.openDialog({
          title: `The CA certificate of ${labHostOf(lab)} (PEM)`,
          canSelectFiles: true,
          canSelectFolders: false,
          canSelectMany: false,
          filters: { 'PEM certificates': ['pem', 'crt', 'cer'], 'All files': ['*'] },
        });
        const file = picked?.[0];
        if (!file) {
          return undefined;
        }
        if (file.scheme !== 'file') {
          throw new Error('Choose a CA file on this machine.');
        }
        caFile = file.fsPath;
      }
    }
  }

  private setContext(): void {
    void vscode.commands.executeCommand('setContext', ContextKeys.remoteLab, this.backend.remoteUrl !== undefined);
  }
}

/** The message of what `check` throws, for an input box's validation (undefined: fine). */
function problemOf(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

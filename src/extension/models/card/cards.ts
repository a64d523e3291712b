import * as vscode from 'vscode';
import type { BackendEvent } from '../../../protocol/api';
import type { CardAction } from '../../../protocol/webviews/model-card';
import type { BackendService } from '../../backend/backend-service';
import { Commands, type CommandId } from '../../common/commands';
import { Disposable } from '../../common/lifecycle';
import type { Ui } from '../../common/ui';
import { versionOf, type ModelNode } from '../nodes';
import { ModelCardPanel, type CardKey } from './panel';

/** What "Show Model Card" takes: a node of the Models view, a name (and version), or nothing (a quick pick). */
export type CardArgument = ModelNode | { readonly name: string; readonly version?: number | string } | undefined;

/** The commands the card's buttons run. */
const COMMANDS: Record<Exclude<CardAction, 'revealFile' | 'copyPath'>, CommandId> = {
  deploy: Commands.deployModel,
  setAlias: Commands.setModelAlias,
  playground: Commands.openPredictionPlayground,
  openExperiment: Commands.showExperiment,
};

/** Where Reveal shows files: the OS file manager only when the editor's UI runs on the files' machine. */
async function revealFile(file: string, ui: Ui): Promise<void> {
  const uri = vscode.Uri.file(file);
  if (vscode.env.uiKind !== vscode.UIKind.Web && vscode.env.remoteName === undefined) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
  } else if (vscode.workspace.getWorkspaceFolder(uri)) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
  } else {
    await ui.copy(file);
    void ui.info(`ML Lab: the model file is outside the workspace; its path was copied: ${file}`);
  }
}

function sameKey(a: CardKey, b: CardKey): boolean {
  return a.name === b.name && a.version === b.version && (a.project === b.project || !a.project || !b.project);
}

/**
 * The model cards: one panel per model version (showing a version again reveals its panel), kept
 * current by the backend's model and service events.
 */
export class ModelCards extends Disposable {
  private readonly panels = new Set<ModelCardPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly backend: BackendService,
    private readonly ui: Ui,
  ) {
    super();
    this._register(backend.onDidReceiveEvent((event) => this.onEvent(event)));
    this._register({
      dispose: () => {
        this.panels.forEach((p) => p.dispose());
        this.panels.clear();
      },
    });
  }

  /** The open cards, for tests. */
  get open(): readonly ModelCardPanel[] {
    return [...this.panels];
  }

  /** The command: resolves its argument (asking with a quick pick when there is none) and shows the card. */
  async run(arg: CardArgument): Promise<ModelCardPanel | undefined> {
    const key = await this.resolve(arg);
    return key ? this.show(key) : undefined;
  }

  /** Opens the version's card, or reveals it when it is open. */
  async show(key: CardKey): Promise<ModelCardPanel> {
    const existing = [...this.panels].find((p) => sameKey(p.key, key));
    if (existing) {
      await existing.show();
      return existing;
    }
    const panel: ModelCardPanel = new ModelCardPanel(this.extensionUri, key, {
      backend: this.backend,
      runCommand: (action, arg) => vscode.commands.executeCommand(COMMANDS[action as keyof typeof COMMANDS], arg),
      copy: (text) => this.ui.copy(text),
      reveal: async (file) => {
        this.backend.requireLocal("Revealing a model's file", "it is stored on the lab's machine.");
        await revealFile(file, this.ui);
      },
      reportError: (message) => void this.ui.error(message),
      revealOther: (wanted): boolean => {
        const other: ModelCardPanel | undefined = [...this.panels].find((p) => p !== panel && sameKey(p.key, wanted));
        other?.show().catch(() => undefined);
        return other !== undefined;
      },
    });
    panel.onDidClose(() => {
      this.panels.delete(panel);
      panel.dispose();
    });
    this.panels.add(panel);
    try {
      await panel.show();
    } catch (e) {
      if (!panel.panel) {
        this.panels.delete(panel); // never opened: nothing to keep
        panel.dispose();
      }
      throw e;
    }
    return panel;
  }

  private async resolve(arg: CardArgument): Promise<CardKey | undefined> {
    if (arg && 'kind' in arg) {
      const version = versionOf(arg);
      if (!version) {
        throw new Error(`The model ${arg.model.name} has no versions.`);
      }
      return { project: arg.model.projectId, name: arg.model.name, version: version.version };
    }
    const client = await this.backend.ready();
    if (arg && typeof arg.name === 'string') {
      const v = await client.getModelVersion(arg.name, arg.version ?? 'latest');
      return { project: v.projectId, name: v.name, version: v.version };
    }
    const models = await client.listModels();
    const items = models.flatMap((m) =>
      [...m.versions].reverse().map((v) => ({
        label: `${m.name}:v${v.version}`,
        description: v.aliases.join(', '),
        detail: v.description || v.fileName,
        key: { project: m.projectId, name: m.name, version: v.version } as CardKey,
      })),
    );
    if (items.length === 0) {
      void this.ui.info('ML Lab: no models are registered in this project yet.');
      return undefined;
    }
    const picked = await this.ui.pick(items, { placeHolder: 'The model version to show', matchOnDescription: true });
    return picked?.key;
  }

  private onEvent(event: BackendEvent): void {
    for (const panel of this.panels) {
      if (event.type === 'modelChanged' && event.model.id === panel.modelId) {
        const exists = event.model.versions.some((v) => v.version === panel.key.version);
        if (exists) {
          panel.reloadSoon();
        } else {
          panel.markDeleted(`${panel.key.name}:v${panel.key.version} was deleted. This is its last known record.`);
        }
      } else if (event.type === 'modelDeleted' && event.modelId === panel.modelId) {
        panel.markDeleted(
          `The model ${event.name} was deleted. This is the last known record of v${panel.key.version}.`,
        );
      } else if (event.type === 'serviceUpdated' || event.type === 'serviceDeleted' || event.type === 'hello') {
        panel.reloadSoon();
      }
    }
  }
}

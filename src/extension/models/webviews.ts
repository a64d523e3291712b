import * as vscode from 'vscode';
import type { Service } from '../../protocol/containers';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import { ModelCards, type CardArgument } from './card/cards';
import type { ModelNode } from './nodes';
import { PredictionPlaygroundPanel } from './playground/panel';
import { servicesOfModel } from './playground/targets';

/** What "Open Prediction Playground" takes: a node of the Models view, a service or its name, or nothing. */
export type PlaygroundArgument = ModelNode | Service | string | undefined;

export interface ModelWebviewsDeps {
  readonly extensionUri: vscode.Uri;
  readonly backend: BackendService;
  readonly ui: Ui;
}

/** The playground, created on first use and kept for the window (one panel at a time). */
export class PredictionPlayground implements vscode.Disposable {
  private _panel: PredictionPlaygroundPanel | undefined;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly deps: ModelWebviewsDeps) {
    this.subscription = deps.backend.onDidReceiveEvent((event) => {
      if (event.type === 'serviceUpdated' || event.type === 'serviceDeleted' || event.type === 'hello') {
        this._panel?.refreshSoon();
      }
    });
  }

  /** The playground's panel host while it exists, for tests. */
  get panel(): PredictionPlaygroundPanel | undefined {
    return this._panel;
  }

  /** The command: a model node preselects its services; a service (or its name) preselects itself. */
  async run(arg?: PlaygroundArgument): Promise<PredictionPlaygroundPanel> {
    let select: string[] = [];
    let project: string | undefined;
    if (typeof arg === 'string') {
      select = [arg];
    } else if (arg && 'image' in arg) {
      select = [arg.name];
      project = arg.projectId;
    } else if (arg) {
      project = arg.model.projectId;
      const services = await (await this.deps.backend.ready()).listServices(project);
      select = servicesOfModel(services, arg.model.name, arg.kind === 'version' ? arg.version.version : undefined);
      if (select.length === 0) {
        void this.deps.ui.info(
          `ML Lab: ${arg.kind === 'version' ? `${arg.model.name}:v${arg.version.version}` : arg.model.name} is not deployed: deploy it to try predictions.`,
        );
      }
    }
    const panel = this._panel ?? this.create();
    await panel.show(select, project);
    return panel;
  }

  dispose(): void {
    this.subscription.dispose();
    this._panel?.dispose();
    this._panel = undefined;
  }

  private create(): PredictionPlaygroundPanel {
    const panel = new PredictionPlaygroundPanel(this.deps.extensionUri, {
      backend: this.deps.backend,
      reportError: (message) => void this.deps.ui.error(message),
    });
    // kept for the window: after the person closes the panel, the next command opens a new one on it
    this._panel = panel;
    return panel;
  }
}

/**
 * The model webviews: "Show Model Card" (one card per model version) and "Open Prediction
 * Playground". Returns them (for tests) and what to dispose.
 */
export function registerModelWebviews(deps: ModelWebviewsDeps): {
  card: ModelCards;
  playground: PredictionPlayground;
  disposables: vscode.Disposable[];
} {
  const card = new ModelCards(deps.extensionUri, deps.backend, deps.ui);
  const playground = new PredictionPlayground(deps);
  return {
    card,
    playground,
    disposables: [
      card,
      playground,
      registerCommand(Commands.showModelCard, deps.ui, (arg?: CardArgument) => card.run(arg)),
      registerCommand(Commands.openPredictionPlayground, deps.ui, (arg?: PlaygroundArgument) => {
        // the deployed model answers on a port of the lab's machine
        deps.backend.requireLocal(
          'The prediction playground',
          "the model's service runs on the lab's machine: try it there, or through a port its admin publishes.",
        );
        return playground.run(arg);
      }),
    ],
  };
}

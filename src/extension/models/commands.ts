import * as path from 'path';
import * as vscode from 'vscode';
import { BackendError } from '../../client/api-client';
import type { Model } from '../../protocol/models';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import { type ModelNode, versionOf } from './nodes';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** What "Register as Model" gets from an experiment's artifact (the details page, code). */
export interface ArtifactRef {
  readonly experimentId: string;
  /** relative to the run directory, or absolute */
  readonly path: string;
}

export interface ModelCommandDeps {
  readonly backend: BackendService;
  readonly ui: Ui;
  readonly models: () => readonly Model[];
}

export function registerModelCommands(deps: ModelCommandDeps): vscode.Disposable[] {
  const { backend, ui } = deps;

  const pickVersion = async (node: ModelNode | undefined, placeHolder: string): Promise<ModelNode | undefined> => {
    if (node) {
      return node;
    }
    const items = deps.models().flatMap((model) =>
      [...model.versions].reverse().map((version) => ({
        label: `${model.name} v${version.version}`,
        description: version.aliases.join(', '),
        node: { kind: 'version', model, version } as ModelNode,
      })),
    );
    if (items.length === 0) {
      throw new Error('This project has no models yet: register one with "ML Lab: Register Model".');
    }
    return (await ui.pick(items, { placeHolder }))?.node;
  };

  return [
    registerCommand(Commands.registerModel, ui, async (target?: vscode.Uri | ArtifactRef) => {
      const artifact = target && !(target instanceof vscode.Uri) ? target : undefined;
      if (!artifact) {
        // the lab reads the file on its own machine (a run's artifact is already there)
        backend.requireLocal(
          'Registering a model from a file on this machine',
          "register it from a run's artifact (its experiment's details page), or log it from the run with exp.log_model(path, name).",
        );
      }
      let file = target instanceof vscode.Uri ? target.fsPath : artifact?.path;
      if (!file) {
        const picked = await ui.openDialog({ title: 'Register Model: the model file', canSelectMany: false });
        file = picked?.[0]?.fsPath;
      }
      if (!file) {
        return undefined;
      }
      const stem = path.basename(file).replace(/\.[^.]+$/, '');
      const name = await ui.input({
        title: 'Register Model: name',
        prompt: 'A new name creates v1; an existing one gets the next version',
        value: stem.replace(/[^A-Za-z0-9._-]/g, '-'),
        validateInput: (v) => (NAME.test(v.trim()) ? undefined : 'Use letters, digits, ".", "_" and "-"'),
      });
      if (!name) {
        return undefined;
      }
      const entryPoint = file.endsWith('.py') ? `${stem}:predict` : undefined;
      const version = await (
        await backend.ready()
      ).registerModel({
        name: name.trim(),
        path: file,
        experimentId: artifact?.experimentId,
        entryPoint,
      });
      void ui.info(`ML Lab: registered ${version.name} v${version.version}.`);
      return version;
    }),
    registerCommand(Commands.deployModel, ui, async (node?: ModelNode) => {
      const target = await pickVersion(node, 'Model version to deploy');
      const version = target && versionOf(target);
      if (!target || !version) {
        return undefined;
      }
      const baseImage = vscode.workspace.getConfiguration('mllab').get<string>('models.baseImage', '').trim();
      if (!baseImage) {
        throw new Error(
          'Set "mllab.models.baseImage" to a local image with python3 (and scikit-learn for pickled estimators): the model server is built from it.',
        );
      }
      const client = await backend.ready();
      const service = await ui.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Deploying ${version.name} v${version.version}` },
        async (progress) => {
          progress.report({ message: `building the model server from ${baseImage} (once per base image)...` });
          return client.deployModel(version.name, { version: version.version, baseImage }, version.projectId);
        },
      );
      const port = service.ports[0];
      const url = port ? `http://${port.hostIp}:${port.hostPort}` : '';
      void ui
        .info(`ML Lab: deployed ${version.name} v${version.version} as "${service.name}" ${url}`, 'Open Playground')
        .then((choice) => {
          if (choice) {
            void vscode.commands.executeCommand(Commands.openPredictionPlayground, service.name);
          }
        });
      return service;
    }),
    registerCommand(Commands.setModelAlias, ui, async (node?: ModelNode) => {
      const target = await pickVersion(node, 'Model version the alias points at');
      const version = target && versionOf(target);
      if (!target || !version) {
        return undefined;
      }
      const existing = Object.entries(target.model.aliases).map(([alias, v]) => ({
        label: alias,
        description: `now v${v}`,
      }));
      const suggestions = ['production', 'staging']
        .filter((a) => !(a in target.model.aliases))
        .map((a) => ({ label: a, description: 'new' }));
      const choice = await ui.pick([...existing, ...suggestions, { label: 'Another alias...', description: '' }], {
        placeHolder: `Point an alias at ${version.name} v${version.version}`,
      });
      if (!choice) {
        return undefined;
      }
      const alias =
        choice.label === 'Another alias...'
          ? (
              await ui.input({
                title: 'Alias name',
                validateInput: (v) =>
                  NAME.test(v.trim()) && !/^(latest|v?\d+)$/i.test(v.trim()) ? undefined : 'Not "latest" or a version',
              })
            )?.trim()
          : choice.label;
      if (!alias) {
        return undefined;
      }
      return (await backend.ready()).setModelAlias(version.name, alias, version.version, version.projectId);
    }),
    registerCommand(Commands.deleteModelVersion, ui, async (node?: ModelNode) => {
      const target = await pickVersion(node, 'Model version to delete');
      const version = target && versionOf(target);
      if (!target || !version) {
        return false;
      }
      const ok = await ui.confirm(
        `Delete ${version.name} v${version.version}?`,
        `${version.aliases.length > 0 ? `Its aliases (${version.aliases.join(', ')}) go with it. ` : ''}The number v${version.version} is never reused.`,
        'Delete',
      );
      if (!ok) {
        return false;
      }
      const client = await backend.ready();
      try {
        await client.deleteModelVersion(version.name, version.version, version.projectId);
      } catch (e) {
        if (!(e instanceof BackendError) || e.status !== 409) {
          throw e;
        }
        const force = await ui.confirm(`${version.name} v${version.version} is in use`, e.message, 'Delete Anyway');
        if (!force) {
          return false;
        }
        await client.deleteModelVersion(version.name, version.version, version.projectId, true);
      }
      return true;
    }),
  ];
}

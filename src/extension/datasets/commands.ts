import * as vscode from 'vscode';
import type { DatasetVersion } from '../../protocol/datasets';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { DatasetAdder } from './add';
import type { DatasetsModel } from './datasets-model';
import { previewKindOf } from './preview/formats';
import type { DatasetPreview } from './preview/panel';
import type { DatasetTextDocuments } from './preview/text-documents';
import { pathOf, type VersionTarget } from './version-target';
import { registerVersionCommands } from './version-commands';

export interface DatasetCommandDeps {
  readonly backend: BackendService;
  readonly model: DatasetsModel;
  readonly ui: Ui;
  readonly adder: DatasetAdder;
  readonly target: VersionTarget;
  readonly preview: DatasetPreview;
  readonly textDocuments: DatasetTextDocuments;
}

/**
 * The dataset commands (the ones acting on one version are in version-commands.ts). Each takes its
 * target programmatically (a tree element or version DTO; a path, name and description for the adds)
 * and asks only for what is missing.
 */
export function registerDatasetCommands(deps: DatasetCommandDeps): vscode.Disposable[] {
  const { model, ui, adder, target, preview } = deps;
  const defaultUri = vscode.workspace.workspaceFolders?.[0]?.uri;

  const addFrom = (folders: boolean) => async (source?: vscode.Uri | string, name?: string, description?: string) => {
    source ??= (
      await ui.openDialog({
        title: folders ? 'Add a Folder as Dataset (packaged as one zip)' : 'Add a File as Dataset',
        canSelectFiles: !folders,
        canSelectFolders: folders,
        canSelectMany: false,
        openLabel: 'Add as Dataset',
        defaultUri,
      })
    )?.[0];
    return source === undefined ? undefined : adder.add(pathOf(source), { name, description });
  };

  const openPreview = async (arg?: unknown) => {
    deps.backend.requireLocal(
      'Previewing a dataset',
      'its content is stored on the lab\'s machine; load it there with the code of "Copy Code to Load".',
    );
    const version = await target.resolve(arg, 'Preview Dataset Version');
    if (version && previewKindOf(version) === 'text') {
      await deps.textDocuments.open(version);
    } else if (version) {
      await preview.show(version);
    }
    return version;
  };

  return [
    registerCommand(Commands.addDatasetFile, ui, addFrom(false)),
    registerCommand(Commands.addDatasetFolder, ui, addFrom(true)),
    registerCommand(
      Commands.addDatasetFromExplorer,
      ui,
      async (uri?: vscode.Uri, uris?: vscode.Uri[], datasetName?: string) => {
        const sources = uris && uris.length > 0 ? uris : uri ? [uri] : [];
        if (sources.length === 0) {
          return addFrom(false)();
        }
        const added: DatasetVersion[] = [];
        for (const source of sources) {
          const version = await adder.add(pathOf(source), { suggestedName: datasetName });
          if (!version) {
            break; // cancelled: do not go on asking about the others
          }
          added.push(version);
        }
        return added;
      },
    ),
    registerCommand(Commands.previewDataset, ui, openPreview),
    registerCommand(Commands.showDatasetDetails, ui, async (arg?: unknown) => {
      const version = await target.resolve(arg, 'Show Dataset Version Details');
      if (version) {
        await preview.show(version);
      }
      return version;
    }),
    registerCommand(Commands.refreshDatasets, ui, () => model.refresh()),
    ...registerVersionCommands(deps),
  ];
}

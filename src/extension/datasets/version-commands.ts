import { BackendError } from '../../client/api-client';
import * as vscode from 'vscode';
import { exportVersion, fetchVersionInto } from '../../client/datasets';
import { datasetContentUrl } from '../backend/lab-link';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { DatasetCommandDeps } from './commands';
import { formatBytes, kindOf, refOf } from './format';
import { loadCode, type CodeLanguage } from './load-code';
import { pathOf } from './version-target';
import { withTransferProgress } from './transfer-progress';

/** The commands on one dataset version: copy code or path, export, reveal, delete. */
export function registerVersionCommands(deps: DatasetCommandDeps): vscode.Disposable[] {
  const { model, ui, target } = deps;
  const defaultUri = vscode.workspace.workspaceFolders?.[0]?.uri;

  const copyCode = async (arg?: unknown, language?: CodeLanguage) => {
    const version = await target.resolve(arg, 'Copy Code to Load');
    if (!version) {
      return undefined;
    }
    language ??= (
      await ui.pick(
        [
          { label: 'Python', description: 'import mllab', language: 'python' as const },
          { label: 'Node.js', description: "require('mllab')", language: 'node' as const },
        ],
        { title: `Copy Code to Load ${refOf(version)}`, placeHolder: 'Language of the code' },
      )
    )?.language;
    if (!language) {
      return undefined;
    }
    const code = loadCode(language, version);
    await ui.copy(code);
    void ui.info(`Copied the ${language === 'python' ? 'Python' : 'Node.js'} code that loads ${refOf(version)}.`);
    return code;
  };

  const copyPath = async (arg?: unknown) => {
    const version = await target.resolve(arg, 'Copy Path');
    if (!version) {
      return undefined;
    }
    const lab = deps.backend.remoteUrl;
    if (lab !== undefined) {
      // the path is on the lab's machine and means nothing here: the URL of the content on the lab does
      const url = datasetContentUrl(lab, version);
      await ui.copy(url);
      void ui.info(
        `Copied the URL of ${refOf(version)} on the lab: ${url} (fetch it with your token in "Authorization: Bearer", or with "mllab dataset get ${refOf(version)}").`,
      );
      return url;
    }
    await ui.copy(version.path);
    void ui.info(`Copied the path of ${refOf(version)}: ${version.path}`);
    return version.path;
  };

  const exportTo = async (arg?: unknown, dir?: vscode.Uri | string) => {
    const version = await target.resolve(arg, 'Export Dataset Version');
    if (!version) {
      return undefined;
    }
    dir ??= (
      await ui.openDialog({
        title: `Export ${refOf(version)} into a Folder${version.kind === 'package' ? ' (unpacked)' : ''}`,
        canSelectFiles: false,
        canSelectFolders: true,
        canSelectMany: false,
        openLabel: 'Export Here',
        defaultUri,
      })
    )?.[0];
    if (dir === undefined) {
      return undefined;
    }
    const folder = pathOf(dir);
    if (deps.backend.remoteUrl !== undefined) {
      // the content is on the lab's machine: fetched with its bytes and rate shown, nothing left on cancel
      const client = await deps.backend.ready();
      const fetched = await withTransferProgress(ui, `Fetching ${refOf(version)} from the lab`, (options) =>
        fetchVersionInto(client, version, folder, version.projectId, { ...options, keepPartial: false }),
      );
      if (fetched === 'cancelled') {
        void ui.info(`Cancelled: nothing of ${refOf(version)} was kept.`);
        return undefined;
      }
      void ui.info(`Fetched ${refOf(version)} to ${fetched}`);
      return fetched;
    }
    const written = await ui.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Exporting ${refOf(version)}...` },
      () => exportVersion(version, folder),
    );
    void ui.info(`Exported ${refOf(version)} to ${written}`);
    return written;
  };

  const reveal = async (arg?: unknown) => {
    deps.backend.requireLocal(
      'Revealing a dataset version in the file explorer',
      "its content is stored on the lab's machine: Export fetches it here, Copy Path gives its URL on the lab.",
    );
    const version = await target.resolve(arg, 'Reveal in File Explorer');
    if (!version) {
      return;
    }
    const uri = vscode.Uri.file(version.path);
    if (vscode.env.uiKind === vscode.UIKind.Desktop && !vscode.env.remoteName) {
      await vscode.commands.executeCommand('revealFileInOS', uri);
      return;
    }
    // in a browser or a remote window, the file explorer of this computer cannot show the file
    await ui.copy(version.path);
    if (vscode.workspace.getWorkspaceFolder(uri)) {
      await vscode.commands.executeCommand('revealInExplorer', uri);
    }
    void ui.info(
      `${refOf(version)} is stored on the machine ML Lab runs on, which the file explorer of this computer cannot open; its path is copied: ${version.path}`,
    );
  };

  const deleteVersion = async (arg?: unknown) => {
    const version = await target.resolve(arg, 'Delete Dataset Version', 'pick');
    if (!version) {
      return false;
    }
    const sharing = model.versions.filter((v) => v.sha256 === version.sha256 && v.id !== version.id);
    const content = sharing.length
      ? `Its content stays stored: ${sharing.map(refOf).join(', ')} ${sharing.length === 1 ? 'has' : 'have'} the same content.`
      : 'Its stored content is removed too, unless another version (in any project) has the same content.';
    const confirmed = await ui.confirm(
      `Delete ${refOf(version)}?`,
      `${refOf(version)}: ${formatBytes(version.size)}, ${kindOf(version)}. ${content} ` +
        `Code that loads ${refOf(version)} will fail. This cannot be undone.`,
      'Delete Version',
    );
    if (!confirmed) {
      return false;
    }
    const client = await deps.backend.ready();
    try {
      await client.deleteDatasetVersion(version.name, version.version, version.projectId);
    } catch (e) {
      // recorded as an experiment's input: say which, and delete only if the person insists
      if (!(e instanceof BackendError && e.code === 'in_use')) {
        throw e;
      }
      const anyway = await ui.confirm(`${refOf(version)} is an experiment's input`, e.message, 'Delete Anyway');
      if (!anyway) {
        return false;
      }
      await client.deleteDatasetVersion(version.name, version.version, version.projectId, true);
    }
    await model.refresh();
    return true;
  };

  return [
    registerCommand(Commands.revealDataset, ui, reveal),
    registerCommand(Commands.exportDataset, ui, exportTo),
    registerCommand(Commands.copyDatasetCode, ui, copyCode),
    registerCommand(Commands.copyDatasetPath, ui, copyPath),
    registerCommand(Commands.deleteDatasetVersion, ui, deleteVersion),
  ];
}

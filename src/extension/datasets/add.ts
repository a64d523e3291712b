import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { sendFile, uploadBlob } from '../../client/blob-upload';
import { BackendError } from '../../client/api-client';
import type { ApiClient } from '../../client/api-client';
import { packFolder, type PackResult } from '../../common/zip/pack';
import type { DatasetVersion, OperationProgress } from '../../protocol/datasets';
import { checkName } from '../../protocol/names';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import type { Ui } from '../common/ui';
import type { ProjectsModel } from '../projects/projects-model';
import type { DatasetsModel } from './datasets-model';
import { formatBytes, formatCount, refOf } from './format';
import { withTransferProgress } from './transfer-progress';

export interface AddOptions {
  /** given: no name or description is asked */
  readonly name?: string;
  readonly description?: string;
  /** prefilled in the name box instead of the file or folder name (a drop onto a dataset) */
  readonly suggestedName?: string;
}

/** "packaging 1.2 GB of 2.0 GB, 5,000 of 10,000 files" */
export function describeProgress(p: Omit<OperationProgress, 'operationId'>): string {
  const bytes = p.totalBytes > 0 ? `${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}` : formatBytes(p.bytes);
  switch (p.phase) {
    case 'scanning':
      return `scanning: ${formatCount(p.files)} files, ${formatBytes(p.bytes)}`;
    case 'packaging':
      return `packaging ${bytes}, ${formatCount(p.files)} of ${formatCount(p.totalFiles)} files`;
    case 'copying':
      return `copying ${bytes}`;
  }
}

/** A name the backend accepts, from a file or folder name ("iris.csv" -> "iris"). */
function suggestName(source: string): string {
  const base = path.basename(source, path.extname(source)) || path.basename(source);
  const cleaned = [...base.replace(/[^\p{L}\p{N} ._-]/gu, '-').replace(/^[^\p{L}\p{N}]+/u, '')]
    .slice(0, 64)
    .join('')
    .replace(/[ .]+$/, '');
  return cleaned || 'dataset';
}

/**
 * Adds files and folders as dataset versions of the active project: asks for what is missing, shows
 * the backend's progress in a cancellable notification, and cancels the backend's work on Cancel.
 */
export class DatasetAdder {
  constructor(
    private readonly backend: BackendService,
    private readonly projects: ProjectsModel,
    private readonly model: DatasetsModel,
    private readonly ui: Ui,
  ) {}

  /** Resolves with the new version, or undefined when the person cancelled. */
  async add(source: string, options: AddOptions = {}): Promise<DatasetVersion | undefined> {
    const remote = this.backend.remoteUrl !== undefined;
    const client = await this.backend.ready();
    await this.projects.refresh();
    const project = this.projects.activeProject;
    if (!project) {
      void this.ui
        .error('ML Lab: choose or create a project first: datasets belong to a project.', 'Select Project')
        .then((choice) => choice && vscode.commands.executeCommand(Commands.selectProject));
      return undefined;
    }
    let { name, description } = options;
    if (name === undefined) {
      name = await this.askName(source, options.suggestedName);
      if (name === undefined) {
        return undefined;
      }
      description ??= await this.ui.input({
        title: `Add "${name}": description (optional)`,
        prompt: 'What the data is, where it comes from; Enter to skip',
      });
      if (description === undefined) {
        return undefined;
      }
    }
    const request = { path: source, name, description, project: project.id, operationId: randomUUID() };
    const result = remote
      ? await this.send(client, request)
      : await this.ui.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Adding ${name}`, cancellable: true },
          (progress, token) => this.run(client, request, progress, token),
        );
    if (result === 'cancelled') {
      void this.ui.info(
        remote
          ? 'Cancelled: no version was made (the bytes the lab received are dropped after a day).'
          : 'Cancelled: nothing was stored.',
      );
      return undefined;
    }
    await this.model.refresh();
    void this.ui
      .info(`Added ${refOf(result)}`, 'Preview')
      .then((choice) => choice && vscode.commands.executeCommand(Commands.previewDataset, result));
    return result;
  }

  private askName(source: string, suggested?: string): Thenable<string | undefined> {
    const value = suggested ?? suggestName(source);
    return this.ui.input({
      title: `Add "${path.basename(source)}" as Dataset`,
      value,
      prompt: 'Dataset name: letters, digits, spaces, ".", "-" and "_"; an existing name gets a new version',
      validateInput: (text) => {
        const problem = checkName('dataset', text);
        if (problem) {
          return problem;
        }
        const existing = this.model.datasets.find((d) => d.name === text);
        return existing
          ? {
              message: `Adds v${(existing.versions.at(-1)?.version ?? 0) + 1} of the existing dataset "${text}".`,
              severity: vscode.InputBoxValidationSeverity.Info,
            }
          : undefined;
      },
    });
  }

  /**
   * Adds a file or folder to a lab over the network: a folder is packaged here into the same zip a
   * local lab makes (in a cancellable notification with its files and bytes), then the content is sent
   * (nothing when the lab holds it; a new file hashed on the way) with its bytes and rate in a
   * cancellable notification, and the version is made of it.
   */
  private async send(
    client: ApiClient,
    request: { path: string; name: string; description?: string; project: string },
  ): Promise<DatasetVersion | 'cancelled'> {
    const folder = fs.statSync(request.path).isDirectory();
    const scratch = folder ? fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-package-')) : undefined;
    try {
      let sent: { sha256: string; size: number } | 'cancelled';
      if (scratch) {
        const zip = path.join(scratch, 'package.zip');
        const packed = await this.pack(request.path, zip, request.name);
        if (packed === 'cancelled') {
          return packed;
        }
        const content = { sha256: packed.sha256, size: packed.bytesOut };
        const uploaded = await withTransferProgress(this.ui, `Sending ${request.name} to the lab`, (options) =>
          uploadBlob(client, zip, content, options),
        );
        sent = uploaded === 'cancelled' ? uploaded : content;
      } else {
        sent = await withTransferProgress(this.ui, `Sending ${request.name} to the lab`, (options) =>
          sendFile(client, request.path, options),
        );
      }
      if (sent === 'cancelled') {
        return sent;
      }
      return await client.addUploadedDataset({
        name: request.name,
        sha256: sent.sha256,
        size: sent.size,
        fileName: folder ? `${path.basename(request.path)}.zip` : path.basename(request.path),
        kind: folder ? 'package' : 'file',
        sourcePath: request.path,
        project: request.project,
        ...(request.description ? { description: request.description } : {}),
        operator: os.userInfo().username,
      });
    } finally {
      if (scratch) {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    }
  }

  /** Packages a folder into `zip` as a local lab does, in a cancellable notification. */
  private pack(folder: string, zip: string, name: string): Thenable<PackResult | 'cancelled'> {
    return this.ui.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Packaging ${name}`, cancellable: true },
      async (progress, token) => {
        const controller = new AbortController();
        const cancellation = token.onCancellationRequested(() => controller.abort());
        let percent = 0;
        try {
          return await packFolder(folder, zip, {
            signal: controller.signal,
            onProgress: (p) => {
              const now = p.totalBytes > 0 ? (100 * p.bytes) / p.totalBytes : percent;
              progress.report({
                message: describeProgress({ phase: 'packaging', ...p }),
                increment: Math.max(0, now - percent),
              });
              percent = Math.max(percent, now);
            },
          });
        } catch (e) {
          if (controller.signal.aborted) {
            return 'cancelled';
          }
          throw e;
        } finally {
          cancellation.dispose();
        }
      },
    );
  }

  private async run(
    client: ApiClient,
    request: { path: string; name: string; description?: string; project: string; operationId: string },
    progress: vscode.Progress<{ message?: string; increment?: number }>,
    token: vscode.CancellationToken,
  ): Promise<DatasetVersion | 'cancelled'> {
    let percent = 0;
    const events = this.backend.onDidReceiveEvent((e) => {
      if (e.type !== 'operationProgress' || e.progress.operationId !== request.operationId) {
        return;
      }
      const p = e.progress;
      const now = p.totalBytes > 0 && p.phase !== 'scanning' ? (100 * p.bytes) / p.totalBytes : percent;
      progress.report({ message: describeProgress(p), increment: Math.max(0, now - percent) });
      percent = Math.max(percent, now);
    });
    const controller = new AbortController();
    let settled = false;
    // the cancel route answers 404 until the backend has registered the operation: retry until then;
    // closing the request (abort) also cancels it on the backend
    const cancel = async () => {
      for (let attempt = 0; !settled && attempt < 50; attempt++) {
        try {
          await client.cancelOperation(request.operationId);
          return;
        } catch (e) {
          if (!(e instanceof BackendError) || e.status !== 404) {
            break;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      controller.abort();
    };
    const cancellation = token.onCancellationRequested(() => void cancel());
    try {
      return await client.addDataset(request, controller.signal);
    } catch (e) {
      if (token.isCancellationRequested && (!(e instanceof BackendError) || e.code === 'cancelled' || e.status === 0)) {
        return 'cancelled';
      }
      throw e;
    } finally {
      settled = true;
      events.dispose();
      cancellation.dispose();
    }
  }
}

import * as path from 'path';
import * as vscode from 'vscode';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';

const TAG = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?$/;

function size(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Images for jobs and services: build one from a Dockerfile of the workspace (.dockerignore honoured,
 * the build output streamed into an output channel) and pull one with a progress notification
 * (layers, bytes). Both run in the backend; the progress comes from its events.
 */
export function registerImageCommands(
  backend: BackendService,
  ui: Ui,
  output: vscode.OutputChannel,
): vscode.Disposable[] {
  return [
    registerCommand(Commands.buildImage, ui, async (uri?: vscode.Uri) => {
      // the lab's Docker Engine reads the build context from its own machine
      backend.requireLocal('Building an image from a Dockerfile of this machine', "build it on the lab's machine.");
      const dockerfile =
        uri ??
        (
          await ui.openDialog({
            title: 'Build Image: the Dockerfile',
            canSelectMany: false,
            defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
          })
        )?.[0];
      if (!dockerfile || dockerfile.scheme !== 'file') {
        return undefined;
      }
      const context = path.dirname(dockerfile.fsPath);
      const tag = await ui.input({
        title: 'Build Image: tag',
        value: `${
          path
            .basename(context)
            .toLowerCase()
            .replace(/[^a-z0-9._-]/g, '-') || 'image'
        }:latest`,
        validateInput: (v) => (TAG.test(v.trim()) ? undefined : 'A lowercase name[:tag], e.g. my-training:1'),
      });
      if (!tag) {
        return undefined;
      }
      const client = await backend.ready();
      output.clear();
      output.show(true);
      output.appendLine(`Building ${tag} from ${dockerfile.fsPath}`);
      const follow = backend.onDidReceiveEvent((e) => {
        if (e.type === 'imageBuildOutput' && e.tag === tag.trim()) {
          output.appendLine(e.line);
        }
      });
      try {
        const image = await ui.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Building ${tag}` },
          () => client.buildImage({ context, dockerfile: path.basename(dockerfile.fsPath), tag: tag.trim() }),
        );
        output.appendLine(`Built ${image.tags.join(', ')} (${size(image.sizeBytes)})`);
        void ui.info(`ML Lab: built ${tag.trim()}.`);
        return image;
      } finally {
        follow.dispose();
      }
    }),
    registerCommand(Commands.pullImage, ui, async () => {
      const image = await ui.input({
        title: 'Pull Image',
        prompt: 'e.g. python:3.12-slim, ghcr.io/org/image:tag',
        validateInput: (v) => (v.trim() ? undefined : 'Name an image'),
      });
      if (!image) {
        return undefined;
      }
      const client = await backend.ready();
      return ui.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Pulling ${image.trim()}` },
        async (progress) => {
          let shown = 0;
          const follow = backend.onDidReceiveEvent((e) => {
            if (e.type === 'imagePullProgress' && e.progress.image === image.trim()) {
              const p = e.progress;
              const percent = p.totalBytes > 0 ? Math.floor((100 * p.currentBytes) / p.totalBytes) : 0;
              progress.report({
                message: `${p.status} · ${p.layers} layers · ${size(p.currentBytes)} of ${size(p.totalBytes)}`,
                increment: Math.max(0, percent - shown),
              });
              shown = Math.max(shown, percent);
            }
          });
          try {
            const pulled = await client.pullImage(image.trim());
            void ui.info(`ML Lab: pulled ${image.trim()} (${size(pulled.sizeBytes)}).`);
            return pulled;
          } finally {
            follow.dispose();
          }
        },
      );
    }),
  ];
}

/** After connecting: offers to remove containers of this lab home that belong to no job or service any more. */
export async function offerOrphanCleanup(backend: BackendService, ui: Ui): Promise<void> {
  const client = await backend.ready();
  const orphans = await client.orphanContainers();
  if (orphans.length === 0) {
    return;
  }
  const names = orphans
    .slice(0, 3)
    .map((o) => o.name)
    .join(', ');
  const choice = await ui.info(
    `ML Lab found ${orphans.length} container(s) of deleted jobs, services or projects (${names}${orphans.length > 3 ? ', ...' : ''}).`,
    'Remove Them',
  );
  if (choice === 'Remove Them') {
    const { removed } = await client.removeOrphanContainers();
    void ui.info(`ML Lab: removed ${removed} container(s).`);
  }
}

/** A local image in a pick list: its tag, with size and id. */
export interface ImageItem extends vscode.QuickPickItem {
  readonly image?: string;
  readonly action?: 'other' | 'setting';
}

/**
 * Asks for a local image: the images present in the Docker Engine (tags, sizes), largest first,
 * with `preferred` on top; "Other image..." types a name (it is pulled at the first run if it can
 * be). With `setting`, an item opens that setting instead. Resolves undefined when cancelled.
 */
export async function pickLocalImage(
  backend: BackendService,
  ui: Ui,
  options: { title: string; placeHolder: string; preferred?: string; setting?: string },
): Promise<string | undefined> {
  const client = await backend.ready();
  const images = await client.listImages();
  const items: ImageItem[] = images.flatMap((i) =>
    i.tags.map((tag) => ({
      label: tag,
      description: size(i.sizeBytes),
      detail: i.id.replace(/^sha256:/, '').slice(0, 12),
      image: tag,
    })),
  );
  const preferred = options.preferred?.trim();
  items.sort((a, b) => Number(b.image === preferred) - Number(a.image === preferred));
  items.push({
    label: '$(edit) Other image...',
    description: 'type a name (pulled at the first run)',
    action: 'other',
  });
  if (options.setting) {
    items.push({ label: '$(gear) Open the setting', description: options.setting, action: 'setting' });
  }
  const picked = await ui.pick(items, {
    title: options.title,
    placeHolder: images.length > 0 ? options.placeHolder : 'No local images: build one from a Dockerfile, or name one',
    matchOnDescription: true,
  });
  if (!picked) {
    return undefined;
  }
  if (picked.action === 'setting') {
    await vscode.commands.executeCommand('workbench.action.openSettings', options.setting);
    return undefined;
  }
  if (picked.action === 'other') {
    const typed = await ui.input({
      title: options.title,
      prompt: 'An image name, e.g. python:3.12-slim',
      value: preferred,
      validateInput: (v) => (TAG.test(v.trim()) ? undefined : 'A lowercase name[:tag], e.g. my-training:1'),
    });
    return typed?.trim() || undefined;
  }
  return picked.image;
}

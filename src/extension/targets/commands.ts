import * as vscode from 'vscode';
import { targetRoutes } from '../../protocol/routes/targets';
import { LOCAL_TARGET, type AddTargetRequest, type TargetStatus } from '../../protocol/targets';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { ProjectsModel } from '../projects/projects-model';
import type { TargetsModel } from './targets-model';
import type { TargetTreeNode } from './tree';

export interface TargetCommandDeps {
  readonly backend: BackendService;
  readonly ui: Ui;
  readonly projects: ProjectsModel;
  readonly model: TargetsModel;
}

const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DOCKER_HOST = /^(tcp|ssh|unix|https?):\/\/\S+$/;

/** Asks, one box at a time, what `mllab target add` takes; undefined when the person cancels. */
async function askNewTarget(ui: Ui): Promise<AddTargetRequest | undefined> {
  const name = await ui.input({
    title: 'Add Target (1/3): name',
    prompt: 'A name for the engine or cluster, e.g. gpu-box or swarm-eu',
    validateInput: (v) =>
      !TARGET_NAME.test(v.trim())
        ? 'Use letters, digits, ".", "-" and "_", starting with a letter or digit'
        : v.trim().toLowerCase() === LOCAL_TARGET
          ? '"local" is this machine\'s Docker: pick another name'
          : undefined,
  });
  if (!name) {
    return undefined;
  }
  const dockerHost = await ui.input({
    title: 'Add Target (2/3): Docker host',
    prompt:
      "The engine's API: tcp://HOST:2376 (TLS), ssh://USER@HOST (your ssh agent), or a Swarm manager's; the lab asks it before adding it",
    placeHolder: 'tcp://10.0.0.5:2376',
    validateInput: (v) =>
      DOCKER_HOST.test(v.trim()) ? undefined : 'Write tcp://HOST:PORT, ssh://USER@HOST or unix:///PATH',
  });
  if (!dockerHost) {
    return undefined;
  }
  let tls: AddTargetRequest['tls'];
  if (dockerHost.trim().startsWith('tcp://')) {
    const files = await ui.input({
      title: 'Add Target (TLS): client files',
      prompt:
        "CA, certificate and key (ca.pem,cert.pem,key.pem), comma-separated paths on the lab's machine; empty for a plain TCP engine",
      validateInput: (v) =>
        v.trim() === '' || v.split(',').filter((f) => f.trim()).length === 3
          ? undefined
          : 'Give three paths (CA, certificate, key) separated by commas, or none',
    });
    if (files === undefined) {
      return undefined;
    }
    const [caFile, certFile, keyFile] = files.split(',').map((f) => f.trim());
    tls = files.trim() ? { caFile, certFile, keyFile } : undefined;
  }
  const registry = await ui.input({
    title: 'Add Target (3/3): registry',
    prompt: "HOST:PORT the nodes pull the lab's images from (needed for a cluster); empty for none",
    validateInput: (v) =>
      v.trim() === '' || /^[A-Za-z0-9.-]+(:\d{1,5})?(\/[a-z0-9._/-]+)?$/.test(v.trim()) ? undefined : 'Write HOST:PORT',
  });
  if (registry === undefined) {
    return undefined;
  }
  return {
    name: name.trim(),
    dockerHost: dockerHost.trim(),
    ...(tls ? { tls } : {}),
    registry: registry.trim() || null,
  };
}

export function registerTargetCommands(deps: TargetCommandDeps): vscode.Disposable[] {
  const { backend, ui, projects, model } = deps;

  /** The target of a tree item, or one picked among the others than `local` when `exceptLocal`. */
  const pick = async (node: TargetTreeNode | undefined, placeHolder: string, exceptLocal: boolean) => {
    if (node?.kind === 'target') {
      return node.status.target.name;
    }
    const client = await backend.ready();
    const list: TargetStatus[] = await client.call(targetRoutes.list, {});
    const choices = list.filter((s) => !exceptLocal || s.target.name !== LOCAL_TARGET);
    if (choices.length === 0) {
      throw new Error('No target is added yet: add one with "ML Lab: Add Target...".');
    }
    const picked = await ui.pick(
      choices.map((s) => ({
        label: s.target.name,
        description: `${s.target.kind} · ${s.target.dockerHost ?? 'this machine'}`,
      })),
      { placeHolder },
    );
    return picked?.label;
  };

  return [
    registerCommand(Commands.addTarget, ui, async () => {
      const request = await askNewTarget(ui);
      if (!request) {
        return undefined;
      }
      const client = await backend.ready();
      const status = await ui.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `ML Lab: asking ${request.dockerHost}...` },
        () => client.call(targetRoutes.add, { body: request }),
      );
      void ui.info(
        `ML Lab: added the ${status.target.kind === 'swarm' ? `Swarm cluster "${status.target.name}" (${status.nodes.length} nodes)` : `Docker Engine "${status.target.name}"`}.`,
      );
      await model.refresh();
      return status;
    }),
    registerCommand(Commands.removeTarget, ui, async (node?: TargetTreeNode) => {
      const name = await pick(node, 'Target to remove', true);
      if (!name) {
        return false;
      }
      const ok = await ui.confirm(
        `Remove the target "${name}"?`,
        'The lab forgets the engine; nothing on it is stopped or removed. Projects that ran there by default run on local again.',
        'Remove',
      );
      if (!ok) {
        return false;
      }
      await (await backend.ready()).call(targetRoutes.remove, { params: { name } });
      await model.refresh();
      return true;
    }),
    registerCommand(Commands.setProjectTarget, ui, async (node?: TargetTreeNode) => {
      const project = projects.activeProject;
      if (!project) {
        throw new Error('No project is active: pick one in the Projects view first.');
      }
      const name = await pick(node, `Where the jobs and services of "${project.name}" run`, false);
      if (!name) {
        return undefined;
      }
      const answer = await (
        await backend.ready()
      ).call(targetRoutes.setProjectTarget, { params: { id: project.id }, body: { target: name } });
      void ui.info(`ML Lab: the jobs and services of "${project.name}" now run on "${answer.target}".`);
      await model.refresh();
      return answer;
    }),
    registerCommand(Commands.refreshTargets, ui, () => model.refresh()),
  ];
}

import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MlLabApi } from '../../../src/extension/extension';
import type { MlLab } from '../../../src/extension/lab';
import type { Project } from '../../../src/protocol/api';

/** Polls `probe` every 50 ms until it returns a truthy value, which is returned. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) {
      return value;
    }
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Asks the harness for a screenshot of the workbench (test-artifacts/) and waits until it is saved. */
export async function screenshot(name: string): Promise<void> {
  const signals = process.env.MLLAB_IT_SIGNAL_DIR;
  if (!signals) {
    return; // run by another harness: no screenshots
  }
  console.log(`MLLAB_SCREENSHOT ${name}`);
  await waitFor(`screenshot ${name}`, () => fs.existsSync(path.join(signals, `screenshot-${name}`)));
}

/** Activates ML Lab, waits for its backend, and creates a project that becomes the active one. */
export async function openTestProject(title: string): Promise<{ lab: MlLab; project: Project }> {
  const lab = (await vscode.extensions.getExtension<MlLabApi>('mllab.mllab')!.activate()).lab;
  // as a person's first click: showing the views starts the backend of a folder without a lab home yet
  await vscode.commands.executeCommand('workbench.view.extension.mllab');
  await waitFor('the backend to connect', () => lab.backend.state.kind === 'connected');
  // ready(): a busy machine can make the window reconnect between two calls; wait for it then
  const project = await (await lab.backend.ready()).createProject(`${title} ${Date.now()}`);
  await (await lab.backend.ready()).setActiveProject(project.id);
  await waitFor('the project to be active', () => lab.projects.activeProject?.id === project.id);
  return { lab, project };
}

/** Deletes a project of openTestProject (with everything in it) and waits until the views saw it go. */
export async function closeTestProject(lab: MlLab | undefined, project: Project | undefined): Promise<void> {
  if (lab && project) {
    await (await lab.backend.ready()).deleteProject(project.id);
    await waitFor('the project to go', () => !lab.projects.projects.some((p) => p.id === project.id));
  }
}

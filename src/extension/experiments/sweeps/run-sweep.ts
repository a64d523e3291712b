import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { BackendError } from '../../../client/api-client';
import { sweepRoutes } from '../../../protocol/routes/sweeps';
import { SWEEP_LIMITS, type Sweep } from '../../../protocol/sweeps';
import type { BackendService } from '../../backend/backend-service';
import { Commands } from '../../common/commands';
import { registerCommand } from '../../common/register-command';
import type { Ui } from '../../common/ui';
import type { ProjectsModel } from '../../projects/projects-model';
import { pythonFor, saveIfDirty } from '../commands';
import { askSweepForm } from './form';
import type { SweepPages } from './page';
import { sweepYaml } from './sweep-yaml';
import type { SweepsModel } from './sweeps-model';

/** sweep.yaml, or <name>.sweep.yaml (package.json's menus use the same pattern) */
const isSweepFile = (file: string) => /(^|\.)sweep\.ya?ml$/i.test(path.basename(file));

/** The sweep file next to a script: <script>.sweep.yaml, else sweep.yaml; undefined when there is none. */
function sweepFileNextTo(script: string): string | undefined {
  const dir = path.dirname(script);
  const stem = path.basename(script).replace(/\.[^.]+$/, '');
  return [`${stem}.sweep.yaml`, `${stem}.sweep.yml`, 'sweep.yaml', 'sweep.yml']
    .map((name) => path.join(dir, name))
    .find((f) => fs.existsSync(f));
}

export interface RunSweepDeps {
  readonly backend: BackendService;
  readonly projects: ProjectsModel;
  readonly model: SweepsModel;
  readonly pages: SweepPages;
  readonly ui: Ui;
}

/**
 * "ML Lab: Run Sweep": on a sweep.yaml (the Explorer's or the editor's menu, or the active file), or
 * on a script, whose sweep file next to it runs, or, when there is none, a quick form that writes one.
 */
export function registerRunSweep(deps: RunSweepDeps): vscode.Disposable {
  const { backend, model, ui } = deps;

  /** Starts the sweep of a sweep.yaml; a refused file is said with the backend's words and a way to open it. */
  const start = async (file: string): Promise<Sweep | undefined> => {
    backend.requireLocal(
      'Running a sweep from a file of this window',
      'run "mllab sweep run sweep.yaml" on the lab\'s machine, where the trials run.',
    );
    const project = deps.projects.activeProject;
    if (!project) {
      throw new Error('Choose or create a project first: a sweep and its trials belong to the active project.');
    }
    await saveIfDirty(vscode.Uri.file(file));
    const yaml = fs.readFileSync(file, 'utf8');
    if (yaml.length > SWEEP_LIMITS.yamlChars) {
      throw new Error(
        `${path.basename(file)} is longer than ${SWEEP_LIMITS.yamlChars} characters: a sweep.yaml is a short file.`,
      );
    }
    const client = await backend.ready();
    let sweep: Sweep;
    try {
      sweep = await ui.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Starting the sweep of ${path.basename(file)}` },
        () =>
          client.call(sweepRoutes.create, { query: { project: project.id }, body: { yaml, dir: path.dirname(file) } }),
      );
    } catch (e) {
      if (e instanceof BackendError && e.status === 400) {
        void ui.error(`ML Lab: ${e.message}`, 'Open File').then((choice) => {
          if (choice) {
            void vscode.window.showTextDocument(vscode.Uri.file(file));
          }
        });
        return undefined;
      }
      throw e;
    }
    await model.refresh();
    void ui
      .info(
        `ML Lab: started the sweep ${sweep.name}: ${sweep.counts.total} trials, ${sweep.definition.parallel} at once.`,
        'Show Sweep',
      )
      .then((choice) => {
        if (choice) {
          void deps.pages.show(sweep.id);
        }
      });
    return sweep;
  };

  return registerCommand(Commands.runSweep, ui, async (uri?: vscode.Uri) => {
    const file = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!file || file.scheme !== 'file') {
      throw new Error('Open a sweep.yaml, or the Python script to tune, first: Run Sweep runs the active file.');
    }
    if (isSweepFile(file.fsPath)) {
      return start(file.fsPath);
    }
    const existing = sweepFileNextTo(file.fsPath);
    if (existing) {
      return start(existing);
    }
    const script = path.basename(file.fsPath);
    const form = await askSweepForm(ui, script, await pythonFor(file));
    if (!form) {
      return undefined;
    }
    const written = path.join(path.dirname(file.fsPath), 'sweep.yaml');
    fs.writeFileSync(written, sweepYaml(form), { flag: 'wx' }); // never over a file made meanwhile
    await vscode.window.showTextDocument(vscode.Uri.file(written), { preview: false });
    return start(written);
  });
}

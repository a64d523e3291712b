import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { Experiment } from '../../protocol/experiments';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { ExperimentsModel } from './experiments-model';
import { askParams, LastParams, readParamsFile } from './params';
import { type RunTerminals, shellQuote as quote } from './run-terminal';
import type { ExperimentsTree } from './tree';
import type { MoreRuns } from './tree-pages';

/** The Python to run scripts with: the Python extension's interpreter when it is installed, else the setting. */
export async function pythonFor(uri: vscode.Uri): Promise<string> {
  try {
    const python = vscode.extensions.getExtension('ms-python.python');
    const api = (await python?.activate()) as
      { settings?: { getExecutionDetails?: (u: vscode.Uri) => { execCommand?: string[] } } } | undefined;
    const command = api?.settings?.getExecutionDetails?.(uri).execCommand;
    if (command && command.length > 0) {
      return command.join(' ');
    }
  } catch {
    // not installed or another API version: fall back to the setting
  }
  return vscode.workspace.getConfiguration('mllab').get<string>('python.path', 'python3') || 'python3';
}

const isNotebook = (uri: vscode.Uri) => uri.path.toLowerCase().endsWith('.ipynb');

/**
 * The file Run as Experiment runs when given none: the active notebook (its cells' editors have their
 * own scheme), else the active text editor's file.
 */
function activeRunnable(): vscode.Uri | undefined {
  const text = vscode.window.activeTextEditor?.document.uri;
  if (text && text.scheme !== 'vscode-notebook-cell') {
    return text;
  }
  return vscode.window.activeNotebookEditor?.notebook.uri ?? text;
}

/** Saves the script or notebook first: the run must execute (and record a copy of) what the person sees. */
export async function saveIfDirty(file: vscode.Uri): Promise<void> {
  const key = file.toString();
  const notebook = vscode.workspace.notebookDocuments.find((d) => d.uri.toString() === key);
  const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === key);
  const saved = notebook?.isDirty ? await notebook.save() : document?.isDirty ? await document.save() : true;
  if (!saved) {
    throw new Error(`Could not save ${path.basename(file.fsPath)}: save it, then run it again.`);
  }
}

/** `--param k=<json>` arguments for `mllab run`. */
function paramArgs(params: Readonly<Record<string, unknown>>): string {
  return Object.entries(params)
    .map(([k, v]) => `--param ${quote(`${k}=${JSON.stringify(v)}`)}`)
    .join(' ');
}

/** what to do instead of running a file in this window's terminal against a lab reached by URL */
const RUN_ELSEWHERE =
  'run the script in a terminal with MLLAB_URL and MLLAB_TOKEN set: the Python client (mllab.experiment) records the run here and sends it to the lab.';
/** what to do instead of opening a run's files against a lab reached by URL */
const ON_LAB_MACHINE = "its files are on the lab's machine; the experiment's details page shows what the lab keeps.";

export function registerExperimentCommands(
  backend: BackendService,
  model: ExperimentsModel,
  tree: ExperimentsTree,
  ui: Ui,
  terminals: RunTerminals,
  memento: vscode.Memento,
): vscode.Disposable[] {
  const lastParams = new LastParams(memento);

  /** Runs a recorded run's command again, with its params or with changed ones. */
  const rerun = async (e: Experiment | undefined, change: boolean) => {
    if (!e) {
      return undefined;
    }
    backend.localHome('Re-running an experiment in a terminal', RUN_ELSEWHERE);
    // the recorded params: those given to the run plus those the code logged
    const { manifest, params: recorded } = await (await backend.ready()).getExperiment(e.id);
    const params = change ? await askParams(ui, `Re-run ${e.name} with params`, recorded) : recorded;
    if (params === undefined) {
      return undefined;
    }
    return terminals.run(
      manifest.script?.path ?? e.name,
      manifest.script ? path.basename(manifest.script.path) : e.name,
      manifest.cwd,
      `run --name ${quote(e.name)} ${paramArgs(params)} -- ${manifest.command.map(quote).join(' ')}`,
    );
  };

  return [
    registerCommand(Commands.runExperiment, ui, async (uri?: vscode.Uri) => {
      const file = uri ?? activeRunnable();
      if (!file || file.scheme !== 'file') {
        throw new Error('Open a Python script or a Jupyter notebook first: Run as Experiment runs the active file.');
      }
      backend.localHome('Running a file as an experiment in the terminal', RUN_ELSEWHERE);
      await saveIfDirty(file);
      const name = path.basename(file.fsPath).replace(/\.[^.]+$/, '');
      const fromFile = readParamsFile(file.fsPath);
      const values =
        fromFile?.params ?? (await askParams(ui, `Run ${name} as Experiment: params`, lastParams.get(file.fsPath)));
      if (values === undefined) {
        return undefined; // cancelled
      }
      if (!fromFile) {
        await lastParams.set(file.fsPath, values);
      }
      const python = await pythonFor(file);
      // no --name: the name the code gives (mllab.experiment("...")) wins, else the file's name
      const script = path.basename(file.fsPath);
      const notebook = isNotebook(file) ? '-m mllab.notebook ' : '';
      const params = paramArgs(values);
      return terminals.run(
        file.fsPath,
        script,
        path.dirname(file.fsPath),
        `run ${params}${params ? ' ' : ''}-- ${python} ${notebook}${quote(script)}`,
      );
    }),
    registerCommand(Commands.openExperimentLog, ui, async (e?: Experiment) => {
      if (!e) {
        return;
      }
      backend.requireLocal("Opening a run's output log", ON_LAB_MACHINE);
      const log = path.join(e.dir, 'stdout.log');
      if (!fs.existsSync(log)) {
        throw new Error(`This run has no output log (${log}).`);
      }
      await vscode.window.showTextDocument(vscode.Uri.file(log), { preview: true });
    }),
    registerCommand(Commands.deleteExperiment, ui, async (e?: Experiment) => {
      if (!e) {
        return false;
      }
      const confirmed = await ui.confirm(
        `Delete the experiment "${e.name}" started ${new Date(e.startedAt).toLocaleString()}?`,
        `This removes its record, its metrics and its run directory (${e.dir}). This cannot be undone.`,
        'Delete Experiment',
      );
      if (!confirmed) {
        return false;
      }
      await (await backend.ready()).deleteExperiment(e.id);
      await model.refresh();
      return true;
    }),
    registerCommand(Commands.compareExperimentScript, ui, async (e?: Experiment) => {
      if (!e) {
        return;
      }
      backend.requireLocal("Comparing a run's copy of its script", ON_LAB_MACHINE);
      const { manifest } = await (await backend.ready()).getExperiment(e.id);
      if (!manifest.script) {
        throw new Error(`The run ${e.id} kept no copy of its script.`);
      }
      const copy = vscode.Uri.file(path.join(e.dir, manifest.script.copy));
      const current = vscode.Uri.file(manifest.script.path);
      if (!fs.existsSync(current.fsPath)) {
        await vscode.window.showTextDocument(copy, { preview: true });
        throw new Error(`${manifest.script.path} no longer exists: showing the run's copy only.`);
      }
      await vscode.commands.executeCommand(
        'vscode.diff',
        copy,
        current,
        `${path.basename(current.fsPath)}: run ${e.id} ↔ now`,
      );
    }),
    registerCommand(Commands.rerunExperiment, ui, (e?: Experiment) => rerun(e, false)),
    registerCommand(Commands.rerunExperimentWithParams, ui, (e?: Experiment) => rerun(e, true)),
    registerCommand(Commands.stopExperiment, ui, async (e?: Experiment) => {
      if (!e) {
        return;
      }
      // the run's process is on the machine that recorded it, not necessarily this one
      backend.requireLocal('Stopping a run', 'stop it where it runs.');
      const { manifest } = await (await backend.ready()).getExperiment(e.id);
      try {
        process.kill(manifest.pid, 'SIGTERM');
      } catch {
        throw new Error(`The process of run ${e.id} (pid ${manifest.pid}) is not running here any more.`);
      }
    }),
    registerCommand(Commands.groupExperiments, ui, () => tree.toggleGrouping()),
    // the "Show more" row after a group's page of runs
    registerCommand(Commands.showMoreExperiments, ui, (more: MoreRuns) => tree.showMore(more)),
    registerCommand(Commands.refreshExperiments, ui, () => model.refresh()),
  ];
}

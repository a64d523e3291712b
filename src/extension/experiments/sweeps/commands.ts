import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { BackendError, type ApiClient } from '../../../client/api-client';
import type { Experiment } from '../../../protocol/experiments';
import { sweepRoutes } from '../../../protocol/routes/sweeps';
import { SWEEP_LIMITS, SWEEP_TAG, type Sweep } from '../../../protocol/sweeps';
import type { BackendService } from '../../backend/backend-service';
import { Commands } from '../../common/commands';
import { registerCommand } from '../../common/register-command';
import type { Ui } from '../../common/ui';
import type { ArtifactRef } from '../../models/commands';
import type { ProjectsModel } from '../../projects/projects-model';
import { pythonFor, saveIfDirty } from '../commands';
import type { CompareTable } from '../compare/panel';
import { askSweepForm } from './form';
import type { SweepPages } from './page';
import { progressText } from './rows';
import { sweepYaml } from './sweep-yaml';
import type { SweepsModel } from './sweeps-model';
import type { SweepNode } from './tree';

/** sweep.yaml, or <name>.sweep.yaml (package.json's menus use the same pattern) */
export const isSweepFile = (file: string) => /(^|\.)sweep\.ya?ml$/i.test(path.basename(file));

/** The sweep file next to a script: <script>.sweep.yaml, else sweep.yaml; undefined when there is none. */
function sweepFileNextTo(script: string): string | undefined {
  const dir = path.dirname(script);
  const stem = path.basename(script).replace(/\.[^.]+$/, '');
  return [`${stem}.sweep.yaml`, `${stem}.sweep.yml`, 'sweep.yaml', 'sweep.yml']
    .map((name) => path.join(dir, name))
    .find((f) => fs.existsSync(f));
}

export interface SweepCommandDeps {
  readonly backend: BackendService;
  readonly projects: ProjectsModel;
  readonly model: SweepsModel;
  readonly compare: CompareTable;
  readonly pages: SweepPages;
  readonly ui: Ui;
}

/**
 * "Run Sweep" (on a sweep.yaml, or on a script: its sweep file, or a quick form that writes one),
 * the sweep's page, pause, resume, stop, "Add Trials...", its trials in the compare table or the
 * parallel coordinates, and the best trial's re-run and model registration.
 */
export function registerSweepCommands(deps: SweepCommandDeps): vscode.Disposable[] {
  const { backend, model, ui } = deps;

  /** The sweep a command is about: the clicked one, else one picked from the project's. */
  const sweepOf = async (node: SweepNode | undefined, placeHolder: string): Promise<Sweep | undefined> => {
    if (node?.sweep) {
      return model.get(node.sweep.id) ?? node.sweep;
    }
    if (model.items.length === 0) {
      throw new Error(
        'This project has no sweeps yet: start one with "ML Lab: Run Sweep" on a sweep.yaml or a script.',
      );
    }
    const items = model.items.map((sweep) => ({ label: sweep.name, description: progressText(sweep), sweep }));
    return (await ui.pick(items, { placeHolder }))?.sweep;
  };

  const byId = (sweep: Sweep) => ({ params: { id: sweep.id }, query: { project: sweep.projectId } });

  /** Calls a route about one sweep and shows the change at once (the event follows). */
  const change = async (call: (client: ApiClient) => Promise<Sweep>) => {
    const changed = await call(await backend.ready());
    await model.refresh();
    return changed;
  };

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

  /** A sweep's trials in the compare table, as a table or as parallel coordinates of the sweep's metric. */
  const compare = (sweep: Sweep, view: 'table' | 'parallel') => {
    deps.compare.show(undefined, {
      label: `sweep ${sweep.name}`,
      includes: (e: Experiment) => e.tags[SWEEP_TAG] === sweep.id,
      show: { view, metric: `metrics.${sweep.definition.metric.name}.last` },
    });
    return deps.compare;
  };

  /** The best trial's run, or a message saying there is none yet. */
  const bestRun = async (sweep: Sweep) => {
    const best = (await model.details(sweep.id)).best;
    if (!best?.runId) {
      throw new Error(`No trial of the sweep ${sweep.name} completed yet: its best trial is known once one has.`);
    }
    return (await backend.ready()).getExperiment(best.runId);
  };

  return [
    registerCommand(Commands.runSweep, ui, async (uri?: vscode.Uri) => {
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
    }),
    registerCommand(Commands.showSweep, ui, async (node?: SweepNode) => {
      const sweep = await sweepOf(node, 'Sweep to show');
      return sweep && deps.pages.show(sweep.id);
    }),
    registerCommand(Commands.pauseSweep, ui, async (node?: SweepNode) => {
      const sweep = await sweepOf(node, 'Sweep to pause');
      return sweep && change((c) => c.call(sweepRoutes.pause, byId(sweep)));
    }),
    registerCommand(Commands.resumeSweep, ui, async (node?: SweepNode) => {
      const sweep = await sweepOf(node, 'Sweep to resume');
      return sweep && change((c) => c.call(sweepRoutes.resume, byId(sweep)));
    }),
    registerCommand(Commands.stopSweep, ui, async (node?: SweepNode) => {
      const sweep = await sweepOf(node, 'Sweep to stop');
      if (!sweep) {
        return undefined;
      }
      const running = sweep.counts.running;
      const confirmed = await ui.confirm(
        `Stop the sweep ${sweep.name}?`,
        running > 0
          ? `Its ${running} running trial${running === 1 ? ' is' : 's are'} stopped too. "Resume" starts trials again later.`
          : 'No new trial starts. "Resume" starts trials again later.',
        'Stop Sweep',
      );
      return confirmed ? change((c) => c.call(sweepRoutes.stop, byId(sweep))) : undefined;
    }),
    registerCommand(Commands.addSweepTrials, ui, async (node?: SweepNode) => {
      const sweep = await sweepOf(node, 'Sweep to add trials to');
      if (!sweep) {
        return undefined;
      }
      const answer = await ui.input({
        title: `Add Trials to ${sweep.name}`,
        prompt: `How many more trials (it has run ${sweep.counts.done + sweep.counts.pruned + sweep.counts.failed} of ${sweep.counts.total})`,
        value: '10',
        validateInput: (v) => {
          const n = Number(v.trim());
          return Number.isInteger(n) && n >= 1 && n <= SWEEP_LIMITS.maxTrials
            ? undefined
            : `A whole number from 1 to ${SWEEP_LIMITS.maxTrials}`;
        },
      });
      if (!answer) {
        return undefined;
      }
      const add = Number(answer.trim());
      if (!Number.isInteger(add) || add < 1 || add > SWEEP_LIMITS.maxTrials) {
        throw new Error(`Add a whole number of trials from 1 to ${SWEEP_LIMITS.maxTrials}, not "${answer}".`);
      }
      return change((c) => c.call(sweepRoutes.addTrials, { ...byId(sweep), body: { add } }));
    }),
    registerCommand(Commands.compareSweep, ui, async (node?: SweepNode) => {
      const sweep = await sweepOf(node, 'Sweep whose trials to compare');
      return sweep && compare(sweep, 'table');
    }),
    registerCommand(Commands.sweepParallelCoordinates, ui, async (node?: SweepNode) => {
      const sweep = await sweepOf(node, 'Sweep whose trials to show as parallel coordinates');
      return sweep && compare(sweep, 'parallel');
    }),
    registerCommand(Commands.rerunBestTrial, ui, async (node?: SweepNode) => {
      const sweep = await sweepOf(node, 'Sweep whose best trial to run again');
      // the re-run of any experiment: its command with its params, in a terminal
      return sweep && vscode.commands.executeCommand(Commands.rerunExperiment, await bestRun(sweep));
    }),
    registerCommand(Commands.registerBestModel, ui, async (node?: SweepNode) => {
      const sweep = await sweepOf(node, 'Sweep whose best model to register');
      if (!sweep) {
        return undefined;
      }
      const run = await bestRun(sweep);
      if (run.artifacts.length === 0) {
        throw new Error(
          `The best trial's run (${run.id}) logged no file to register: log the model file in the script with exp.log_artifact(path), then re-run the best trial.`,
        );
      }
      const artifact =
        run.artifacts.length === 1
          ? run.artifacts[0]
          : (
              await ui.pick(
                run.artifacts.map((a) => ({ label: a.path, description: `from ${a.source}`, artifact: a })),
                { placeHolder: `The file of the best trial's run (${run.id}) to register as a model` },
              )
            )?.artifact;
      if (!artifact) {
        return undefined;
      }
      // the same registration as "Register as Model" on the run's artifact (its details page)
      const ref: ArtifactRef = { experimentId: run.id, path: path.join(run.dir, artifact.path) };
      return vscode.commands.executeCommand(Commands.registerModel, ref);
    }),
  ];
}

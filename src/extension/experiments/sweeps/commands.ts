import * as path from 'path';
import * as vscode from 'vscode';
import type { ApiClient } from '../../../client/api-client';
import type { Experiment } from '../../../protocol/experiments';
import { sweepRoutes } from '../../../protocol/routes/sweeps';
import { SWEEP_LIMITS, SWEEP_TAG, type Sweep } from '../../../protocol/sweeps';
import type { BackendService } from '../../backend/backend-service';
import { Commands } from '../../common/commands';
import { registerCommand } from '../../common/register-command';
import type { Ui } from '../../common/ui';
import type { ArtifactRef } from '../../models/commands';
import type { CompareTable } from '../compare/panel';
import type { SweepPages } from './page';
import { progressText } from './rows';
import type { SweepsModel } from './sweeps-model';
import type { SweepNode } from './tree';

export interface SweepCommandDeps {
  readonly backend: BackendService;
  readonly model: SweepsModel;
  readonly compare: CompareTable;
  readonly pages: SweepPages;
  readonly ui: Ui;
}

/**
 * The commands on a sweep of the project (the clicked one, or one picked): its page, pause, resume,
 * stop, "Add Trials...", its trials in the compare table or the parallel coordinates, and the best
 * trial's re-run and model registration. "Run Sweep" is in run-sweep.ts.
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

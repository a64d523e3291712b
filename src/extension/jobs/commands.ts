import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { writeFileAtomic } from '../../common/fsync';
import type { Job, JobRun } from '../../protocol/containers';
import type { BackendService } from '../backend/backend-service';
import { Commands } from '../common/commands';
import { registerCommand } from '../common/register-command';
import type { Ui } from '../common/ui';
import type { LogChannels } from '../docker/log-channels';
import { splitCommandLine } from '../docker/format';
import { pickLocalImage } from '../docker/images';
import type { JobView } from './jobs-model';
import type { JobNode } from './tree';

const ACTIVE = new Set<JobRun['state']>(['queued', 'running']);

function workspaceFolder(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder?.scheme === 'file' ? folder.fsPath : undefined;
}

export interface JobCommandDeps {
  readonly backend: BackendService;
  readonly ui: Ui;
  readonly logs: LogChannels;
  /** the jobs of the active project, to pick from when a command comes from the palette */
  readonly jobs: () => readonly JobView[];
}

/** Resolves the job of a view node, or asks for one of the project's jobs. */
export function jobPicker(
  ui: Ui,
  jobs: () => readonly JobView[],
): (node: JobNode | undefined, placeHolder: string) => Promise<JobView | undefined> {
  return async (node, placeHolder) => {
    if (node && node.kind !== 'docker') {
      return node.job;
    }
    const all = jobs();
    if (all.length === 0) {
      throw new Error('This project has no jobs yet: create one with "ML Lab: Create Job".');
    }
    const picked = await ui.pick(
      all.map((j) => ({ label: j.name, description: j.image, job: j })),
      { placeHolder },
    );
    return picked?.job;
  };
}

/**
 * The image Run File as Job uses: the setting, else one picked from the local images, which is
 * remembered in the setting (for the workspace when one is open).
 */
async function runFileImage(backend: BackendService, ui: Ui, shell: boolean): Promise<string | undefined> {
  const config = vscode.workspace.getConfiguration('mllab');
  const configured = config.get<string>('jobs.runFileImage', '').trim();
  if (configured) {
    return configured;
  }
  const image = await pickLocalImage(backend, ui, {
    title: 'Run File as Job: the image to run it in (remembered in "mllab.jobs.runFileImage")',
    placeHolder: shell ? 'A local image with sh' : "A local image with python3 (ML Lab's client is added to it)",
    setting: 'mllab.jobs.runFileImage',
  });
  if (image) {
    const target = vscode.workspace.workspaceFolders?.length
      ? vscode.ConfigurationTarget.Workspace
      : vscode.ConfigurationTarget.Global;
    await config.update('jobs.runFileImage', image, target);
  }
  return image;
}

export function registerJobCommands(deps: JobCommandDeps): vscode.Disposable[] {
  const { backend, ui, logs } = deps;

  const pickJob = jobPicker(ui, deps.jobs);

  /** Streams a run's output into its output channel, following it while it runs. */
  const showLogs = async (job: Job, run: JobRun) => {
    const client = await backend.ready();
    const stream = await client.jobRunLogs(run.id, ACTIVE.has(run.state));
    return logs.show(`ML Lab Job: ${job.name}`, stream);
  };

  const run = async (job: Job) => {
    const started = await (await backend.ready()).runJob(job.name, job.projectId);
    // the command is done once the run started; its output follows in the channel meanwhile
    showLogs(job, started).catch(
      (e: Error) => void ui.error(`ML Lab: could not show the logs of ${job.name}: ${e.message}`),
    );
    return started;
  };

  return [
    registerCommand(Commands.createJob, ui, async () => {
      const name = await ui.input({
        title: 'Create Job (1/3): name',
        prompt: 'Letters, digits, ".", "_" and "-"',
        validateInput: (v) =>
          /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(v.trim())
            ? undefined
            : 'Use letters, digits, ".", "_" and "-" (up to 100)',
      });
      if (!name) {
        return undefined;
      }
      const image = await pickLocalImage(backend, ui, {
        title: 'Create Job (2/3): image',
        placeHolder: "A local Docker image: ML Lab's Python client is available in it (import mllab)",
        preferred: vscode.workspace.getConfiguration('mllab').get<string>('jobs.image', ''),
      });
      if (!image) {
        return undefined;
      }
      const commandLine = await ui.input({
        title: 'Create Job (3/3): command',
        prompt: "Empty = the image's own command. The workspace folder is mounted read-only at /workspace.",
        validateInput: (v) => {
          try {
            splitCommandLine(v);
            return undefined;
          } catch (e) {
            return (e as Error).message;
          }
        },
      });
      if (commandLine === undefined) {
        return undefined;
      }
      const job = await (
        await backend.ready()
      ).createJob({
        name: name.trim(),
        image: image.trim(),
        command: splitCommandLine(commandLine),
        workspace: workspaceFolder() ?? null,
      });
      void ui.info(`ML Lab: created the job "${job.name}". Run it from the Jobs view.`);
      return job;
    }),
    registerCommand(Commands.runJob, ui, async (node?: JobNode) => {
      const job = await pickJob(node, 'Job to run');
      return job ? run(job) : undefined;
    }),
    registerCommand(Commands.stopJob, ui, async (node?: JobNode) => {
      const client = await backend.ready();
      if (node?.kind === 'run') {
        return client.stopJobRun(node.run.id);
      }
      const job = await pickJob(node, 'Job to stop');
      return job ? client.stopJob(job.name, job.projectId) : undefined;
    }),
    registerCommand(Commands.showJobLogs, ui, async (node?: JobNode) => {
      const job = await pickJob(node, 'Job whose logs to show');
      const shown = node?.kind === 'run' ? node.run : job?.lastRun;
      if (!job) {
        return undefined;
      }
      if (!shown) {
        throw new Error(`The job "${job.name}" has not run yet: run it first.`);
      }
      return showLogs(job, shown);
    }),
    registerCommand(Commands.deleteJob, ui, async (node?: JobNode) => {
      const job = await pickJob(node, 'Job to delete');
      if (!job) {
        return false;
      }
      const ok = await ui.confirm(
        `Delete the job "${job.name}"?`,
        'Its definition and the history of its runs (with their logs) are removed. Experiments its runs recorded stay.',
        'Delete',
      );
      if (ok) {
        await (await backend.ready()).deleteJob(job.name, job.projectId);
      }
      return ok;
    }),
    registerCommand(Commands.exportJobs, ui, async () => {
      const folder = workspaceFolder();
      const target = await ui.saveDialog({
        title: 'Export Job Definitions',
        defaultUri: folder ? vscode.Uri.file(path.join(folder, 'mllab-jobs.yaml')) : undefined,
        filters: { YAML: ['yaml', 'yml'], JSON: ['json'] },
      });
      if (!target) {
        return undefined;
      }
      const format = target.fsPath.toLowerCase().endsWith('.json') ? 'json' : 'yaml';
      const text = await (await backend.ready()).exportJobs(format);
      writeFileAtomic(target.fsPath, text, 0o644);
      void ui.info(`ML Lab: exported the job definitions to ${path.basename(target.fsPath)}.`);
      return target;
    }),
    registerCommand(Commands.importJobs, ui, async (uri?: vscode.Uri) => {
      const source =
        uri ??
        (
          await ui.openDialog({
            title: 'Import Job Definitions',
            canSelectMany: false,
            filters: { 'Jobs file': ['yaml', 'yml', 'json'] },
          })
        )?.[0];
      if (!source) {
        return undefined;
      }
      const result = await (await backend.ready()).importJobs(fs.readFileSync(source.fsPath, 'utf8'));
      void ui.info(
        `ML Lab: imported ${result.created.length} new and ${result.updated.length} changed job definitions.`,
      );
      return result;
    }),
    registerCommand(Commands.runFileAsJob, ui, async (uri?: vscode.Uri) => {
      // the job mounts this workspace folder, which the lab's machine does not have
      backend.requireLocal(
        'Running a file of this workspace as a job',
        'create the job on the lab with an image that holds the code.',
      );
      const file = uri ?? vscode.window.activeTextEditor?.document.uri;
      const folder = workspaceFolder();
      if (!file || file.scheme !== 'file' || !folder) {
        throw new Error('Open a script of the workspace folder first: Run File as Job runs the active file.');
      }
      const relative = path.relative(folder, file.fsPath);
      if (relative.startsWith('..') || path.isAbsolute(relative)) {
        throw new Error(`${path.basename(file.fsPath)} is outside the workspace folder, which is what the job mounts.`);
      }
      await vscode.workspace.textDocuments.find((d) => d.uri.toString() === file.toString() && d.isDirty)?.save();
      const image = await runFileImage(backend, ui, file.fsPath.endsWith('.sh'));
      if (!image) {
        return undefined;
      }
      const inContainer = `/workspace/${relative.split(path.sep).join('/')}`;
      const command = file.fsPath.endsWith('.sh') ? ['sh', inContainer] : ['python3', inContainer];
      const name = `file-${path.basename(file.fsPath).replace(/[^A-Za-z0-9._-]/g, '-')}`.slice(0, 100);
      const client = await backend.ready();
      const existing = (await client.listJobs()).find((j) => j.name === name);
      if (existing && (existing.image !== image || existing.command.join('\0') !== command.join('\0'))) {
        throw new Error(
          `A job "${name}" exists with another image or command: delete it in the Jobs view (its history goes with it) or change "mllab.jobs.runFileImage" back to ${existing.image}.`,
        );
      }
      const job =
        existing ??
        (await client.createJob({
          name,
          image,
          command,
          workspace: folder,
          workingDir: path.posix.dirname(inContainer),
        }));
      return run(job);
    }),
  ];
}

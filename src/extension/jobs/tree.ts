import * as vscode from 'vscode';
import type { JobRun } from '../../protocol/containers';
import type { BackendService } from '../backend/backend-service';
import { Commands, Views } from '../common/commands';
import { anyEvent, Disposable } from '../common/lifecycle';
import { DockerStatusModel, dockerWarningItem } from '../docker/docker-status';
import { elapsed, JOB_RUN_ICONS } from '../docker/format';
import type { JobsModel, JobView } from './jobs-model';
import { scheduleTime } from './schedule-time';
import { appendWarnings, warningsBadge } from '../docker/warnings';

/** A job, one of its runs, or the "Docker is not available" line. */
export type JobNode =
  | { readonly kind: 'job'; readonly job: JobView }
  | { readonly kind: 'run'; readonly job: JobView; readonly run: JobRun }
  | { readonly kind: 'docker' };

/** How many runs a job's history shows. */
const HISTORY = 20;

function runLabel(run: JobRun): string {
  const started = run.startedAt ?? run.createdAt;
  return new Date(started).toLocaleString();
}

function runDescription(run: JobRun): string {
  return [
    run.state,
    run.exitCode !== null ? `exit ${run.exitCode}` : '',
    elapsed(run.startedAt, run.endedAt),
    run.reason ?? '',
  ]
    .filter((s) => s.length > 0)
    .join(' · ');
}

/** The Jobs view: each job with its last run's state, expanding to its run history. */
export class JobsTree extends Disposable implements vscode.TreeDataProvider<JobNode> {
  /** redrawn whenever the jobs or Docker's status change */
  readonly onDidChangeTreeData: vscode.Event<void>;
  readonly view: vscode.TreeView<JobNode>;

  constructor(
    private readonly model: JobsModel,
    private readonly docker: DockerStatusModel,
    private readonly backend: BackendService,
  ) {
    super();
    this.onDidChangeTreeData = anyEvent(model.onDidChange, docker.onDidChange);
    this.view = this._register(vscode.window.createTreeView(Views.jobs, { treeDataProvider: this }));
  }

  async getChildren(node?: JobNode): Promise<JobNode[]> {
    if (!node) {
      const jobs = this.model.items.map((job): JobNode => ({ kind: 'job', job }));
      // with no jobs the welcome content says it; with jobs a first line says Docker is away
      return this.docker.status?.available === false && jobs.length > 0 ? [{ kind: 'docker' }, ...jobs] : jobs;
    }
    if (node.kind !== 'job' || this.backend.state.kind !== 'connected') {
      return [];
    }
    const runs = await this.backend.client.jobRuns(node.job.name, node.job.projectId);
    return runs.slice(0, HISTORY).map((run): JobNode => ({ kind: 'run', job: node.job, run }));
  }

  getTreeItem(node: JobNode): vscode.TreeItem {
    if (node.kind === 'docker') {
      return dockerWarningItem(this.docker.status!);
    }
    if (node.kind === 'run') {
      const item = new vscode.TreeItem(runLabel(node.run));
      item.id = `run:${node.run.id}`;
      item.iconPath = JOB_RUN_ICONS[node.run.state];
      item.description = runDescription(node.run);
      item.tooltip = `Run ${node.run.id} of ${node.job.name}: ${runDescription(node.run)}\nTrigger: ${node.run.trigger}`;
      item.contextValue = node.run.state === 'running' || node.run.state === 'queued' ? 'runningJobRun' : 'jobRun';
      item.command = { command: Commands.showJobLogs, title: 'Show Logs', arguments: [node] };
      return item;
    }
    const { job } = node;
    const last = job.lastRun;
    const item = new vscode.TreeItem(
      job.name,
      last ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `job:${job.id}`;
    const unknown = this.docker.status?.available === false && last?.state === 'running';
    item.iconPath = last
      ? JOB_RUN_ICONS[unknown ? 'unknown' : last.state]
      : new vscode.ThemeIcon('circle-large-outline');
    item.description = [
      warningsBadge(job.warnings),
      job.image,
      last ? runDescription(last) : 'never run',
      job.schedule ? `${job.schedule.enabled ? '⏱' : '⏸'} ${job.schedule.description}` : '',
      job.upstreams.length > 0 ? `after ${job.upstreams.join(', ')}` : '',
    ]
      .filter((s) => s.length > 0)
      .join(' · ');
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${job.name}**\n\n`);
    tooltip.appendText(`image: ${job.image}\ncommand: ${job.command.join(' ') || "(the image's)"}\n`);
    if (job.timeoutSeconds !== null) {
      tooltip.appendText(`timeout: ${job.timeoutSeconds} s\n`);
    }
    if (last) {
      tooltip.appendText(
        `last run: ${runDescription(last)} (${last.trigger}${last.triggerDetail ? `: ${last.triggerDetail}` : ''})\n`,
      );
    }
    if (job.upstreams.length > 0) {
      tooltip.appendText(`runs after: ${job.upstreams.join(', ')}\n`);
    }
    if (job.downstreams.length > 0) {
      tooltip.appendText(`then: ${job.downstreams.join(', ')}\n`);
    }
    const schedule = job.schedule;
    if (schedule) {
      tooltip.appendText(
        `\nschedule: ${schedule.cron} (${schedule.timeZone}) — ${schedule.description}${schedule.enabled ? '' : ' — disabled'}\n`,
      );
      if (schedule.error) {
        tooltip.appendText(`${schedule.error}\n`);
      }
      if (schedule.nextRuns.length > 0) {
        tooltip.appendText(
          `next runs (${schedule.timeZone}):\n${schedule.nextRuns.map((t) => `  ${scheduleTime(t, schedule.timeZone)}`).join('\n')}\n`,
        );
      }
      if (schedule.lastError) {
        tooltip.appendText(`last fire failed: ${schedule.lastError}\n`);
      }
    }
    appendWarnings(tooltip, job.warnings);
    item.tooltip = tooltip;
    // e.g. "idleJob scheduled": menus match the state first, then what the job has
    item.contextValue = [
      last?.state === 'running' || last?.state === 'queued' ? 'runningJob' : 'idleJob',
      schedule ? (schedule.enabled ? 'scheduled' : 'paused') : '',
      last?.state === 'failed' ? 'failed' : '',
    ]
      .filter((s) => s.length > 0)
      .join(' ');
    return item;
  }
}

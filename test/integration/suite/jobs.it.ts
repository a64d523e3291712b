import * as assert from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MlLab } from '../../../src/extension/lab';
import type { JobNode } from '../../../src/extension/jobs/tree';
import type { ServiceNode } from '../../../src/extension/services/tree';
import type { Project } from '../../../src/protocol/api';
import { closeTestProject, openTestProject, screenshot, waitFor } from './helpers';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Built from busybox-static by scripts/ensure-docker.sh (npm test's pretest); nothing is pulled. */
const IMAGE = 'mllab-test/busybox:1';

describe('Jobs and services in a real VS Code extension host with a real Docker Engine', () => {
  let lab: MlLab;
  let project: Project | undefined;

  before(async () => {
    ({ lab, project } = await openTestProject('Jobs IT'));
    await waitFor('Docker to be reachable', () => lab.containers.docker.status?.available === true, 30000);
  });

  after(async () => {
    if (project) {
      for (const s of await lab.backend.client.listServices(project.id)) {
        await lab.backend.client.deleteService(s.name, project.id);
      }
    }
    await closeTestProject(lab, project);
  });

  it('runs a job from the Jobs view: live state, exit code, history and logs in an output channel', async function () {
    this.timeout(240000);
    await lab.backend.client.createJob(
      {
        name: 'count',
        image: IMAGE,
        command: ['sh', '-c', 'for i in 1 2 3; do echo line-$i; sleep 0.2; done; exit 0'],
      },
      project!.id,
    );
    await lab.backend.client.createJob(
      { name: 'broken', image: IMAGE, command: ['sh', '-c', 'echo about-to-fail >&2; exit 3'] },
      project!.id,
    );
    const roots = await waitFor('both jobs in the view', async () => {
      const nodes = await lab.containers.jobsTree.getChildren();
      return nodes.length === 2 ? nodes : undefined;
    });
    const count = roots.find(
      (n): n is Extract<JobNode, { kind: 'job' }> => n.kind === 'job' && n.job.name === 'count',
    )!;
    assert.strictEqual(lab.containers.jobsTree.getTreeItem(count).contextValue, 'idleJob', 'never run: can run');

    await vscode.commands.executeCommand('mllab.job.run', count);
    const done = await waitFor(
      'the job to succeed',
      () => lab.containers.jobs.items.find((j) => j.name === 'count' && j.lastRun?.state === 'succeeded'),
      60000,
    );
    assert.strictEqual(done.lastRun?.exitCode, 0);
    await waitFor('the logs in the output channel', () =>
      lab.containers.logs.tail('ML Lab Job: count').includes('line-3'),
    );
    const item = lab.containers.jobsTree.getTreeItem({ kind: 'job', job: done });
    assert.match(String(item.description), /succeeded · exit 0/);

    const broken = lab.containers.jobs.items.find((j) => j.name === 'broken')!;
    await vscode.commands.executeCommand('mllab.job.run', { kind: 'job', job: broken } satisfies JobNode);
    const failed = await waitFor(
      'the failing job to be recorded failed',
      () => lab.containers.jobs.items.find((j) => j.name === 'broken' && j.lastRun?.state === 'failed'),
      60000,
    );
    assert.strictEqual(failed.lastRun?.exitCode, 3);
    const history = await lab.containers.jobsTree.getChildren({ kind: 'job', job: failed });
    assert.strictEqual(history.length, 1, 'one run in its history');
    await vscode.commands.executeCommand('mllab.job.showLogs', history[0]);
    await waitFor("the failed run's output", () =>
      lab.containers.logs.tail('ML Lab Job: broken').includes('about-to-fail'),
    );
    await vscode.commands.executeCommand('mllab.jobs.focus');
    await screenshot('jobs-view');

    // a running job can be stopped from the view
    await lab.backend.client.createJob({ name: 'sleeper', image: IMAGE, command: ['sleep', '600'] }, project!.id);
    const sleeper = await waitFor('the sleeper job', () => lab.containers.jobs.items.find((j) => j.name === 'sleeper'));
    await vscode.commands.executeCommand('mllab.job.run', { kind: 'job', job: sleeper } satisfies JobNode);
    const running = await waitFor(
      'the sleeper to run',
      () => lab.containers.jobs.items.find((j) => j.name === 'sleeper' && j.lastRun?.state === 'running'),
      60000,
    );
    assert.strictEqual(lab.containers.jobsTree.getTreeItem({ kind: 'job', job: running }).contextValue, 'runningJob');
    await vscode.commands.executeCommand('mllab.job.stop', { kind: 'job', job: running } satisfies JobNode);
    await waitFor(
      'the sleeper to be stopped',
      () => lab.containers.jobs.items.find((j) => j.name === 'sleeper' && j.lastRun?.state === 'stopped'),
      60000,
    );
  });

  it('schedules a job with cron and runs a job after another from the Jobs view', async function () {
    this.timeout(180000);
    const client = lab.backend.client;
    await client.createJob({ name: 'extract', image: IMAGE, command: ['sh', '-c', 'echo extracted'] }, project!.id);
    await client.createJob({ name: 'train', image: IMAGE, command: ['sh', '-c', 'echo trained'] }, project!.id);
    const ui = lab.ui as unknown as Record<string, unknown>;
    try {
      // train runs after extract
      const train = await waitFor('both jobs', () => {
        const jobs = lab.containers.jobs.items;
        return jobs.some((j) => j.name === 'extract') ? jobs.find((j) => j.name === 'train') : undefined;
      });
      ui.pickMany = async (items: { label: string }[]) => items.filter((i) => i.label === 'extract');
      await vscode.commands.executeCommand('mllab.job.runAfter', { kind: 'job', job: train } satisfies JobNode);
      await waitFor('the dependency in the view', () =>
        lab.containers.jobs.items.find((j) => j.name === 'train' && j.upstreams.includes('extract')),
      );
      const extract = lab.containers.jobs.items.find((j) => j.name === 'extract')!;
      await vscode.commands.executeCommand('mllab.job.run', { kind: 'job', job: extract } satisfies JobNode);
      const after = await waitFor(
        'train to run after extract succeeded',
        () =>
          lab.containers.jobs.items.find(
            (j) => j.name === 'train' && j.lastRun?.state === 'succeeded' && j.lastRun.trigger === 'dependency',
          ),
        90000,
      );
      assert.match(
        String(lab.containers.jobsTree.getTreeItem({ kind: 'job', job: after }).description),
        /after extract/,
      );

      // the pipeline graph shows the edge and opens a job's logs
      await vscode.commands.executeCommand('mllab.pipeline.show');
      const graph = lab.containers.pipelineGraph;
      const shown = await waitFor('the graph with its edge', () => {
        const m = graph.lastPosted;
        return m?.type === 'graph' && m.edges.some((e) => e.from === 'extract' && e.to === 'train') ? m : undefined;
      });
      assert.ok(shown.nodes.some((n) => n.name === 'train'));
      await graph.perform({ type: 'showLogs', job: 'train' });
      await waitFor("train's logs", () => lab.containers.logs.tail('ML Lab Job: train').includes('trained'));
      await screenshot('pipeline-graph');

      // a cron schedule every 2 seconds (six fields: seconds first), skipping overlaps
      ui.input = async (options: vscode.InputBoxOptions) => {
        const message = await options.validateInput?.('*/2 * * * * *');
        assert.ok(
          message && typeof message === 'object' && message.severity === vscode.InputBoxValidationSeverity.Info,
        );
        const wrong = await options.validateInput?.('0 25 * * *');
        assert.ok(wrong && typeof wrong === 'object' && wrong.severity === vscode.InputBoxValidationSeverity.Error);
        return '*/2 * * * * *';
      };
      ui.pick = async (items: { label: string }[]) => items.find((i) => i.label === 'Skip');
      await vscode.commands.executeCommand('mllab.job.schedule', { kind: 'job', job: extract } satisfies JobNode);
      const scheduled = await waitFor('the schedule in the view', () =>
        lab.containers.jobs.items.find((j) => j.name === 'extract' && j.schedule?.enabled),
      );
      assert.strictEqual(scheduled.schedule!.nextRuns.length, 5);
      assert.match(
        String(lab.containers.jobsTree.getTreeItem({ kind: 'job', job: scheduled }).contextValue),
        /^idleJob scheduled|^runningJob scheduled/,
      );
      await waitFor(
        'a run fired by the schedule',
        () => lab.containers.jobs.items.find((j) => j.name === 'extract' && j.lastRun?.trigger === 'cron'),
        60000,
      );
      await vscode.commands.executeCommand('mllab.job.unschedule', { kind: 'job', job: scheduled } satisfies JobNode);
      await waitFor('the schedule gone', () =>
        lab.containers.jobs.items.find((j) => j.name === 'extract' && j.schedule === null),
      );
    } finally {
      delete ui.input;
      delete ui.pick;
      delete ui.pickMany;
    }
  });

  it('builds an image from a Dockerfile of the workspace (.dockerignore honoured) and runs a job in it', async function () {
    this.timeout(120000);
    const folder = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'image-it');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'Dockerfile'), `FROM ${IMAGE}\nCOPY . /app\nRUN test ! -e /app/secret.txt\n`);
    fs.writeFileSync(path.join(folder, '.dockerignore'), 'secret.txt\n');
    fs.writeFileSync(path.join(folder, 'secret.txt'), 'not for the image');
    fs.writeFileSync(path.join(folder, 'hello.sh'), 'echo hello-from-the-built-image\n');
    const ui = lab.ui as unknown as Record<string, unknown>;
    ui.input = async () => 'mllab-test/built-in-it:1';
    try {
      await vscode.commands.executeCommand('mllab.docker.buildImage', vscode.Uri.file(path.join(folder, 'Dockerfile')));
    } finally {
      delete ui.input;
      fs.rmSync(folder, { recursive: true, force: true });
    }
    await lab.backend.client.createJob(
      { name: 'built', image: 'mllab-test/built-in-it:1', command: ['sh', '/app/hello.sh'] },
      project!.id,
    );
    const built = await waitFor('the job', () => lab.containers.jobs.items.find((j) => j.name === 'built'));
    await vscode.commands.executeCommand('mllab.job.run', { kind: 'job', job: built } satisfies JobNode);
    await waitFor(
      'the job in the built image to succeed',
      () => lab.containers.jobs.items.find((j) => j.name === 'built' && j.lastRun?.state === 'succeeded'),
      60000,
    );
    await waitFor('its output', () =>
      lab.containers.logs.tail('ML Lab Job: built').includes('hello-from-the-built-image'),
    );
  });

  it('deploys a service that becomes healthy and copies its docker run command', async function () {
    this.timeout(180000);
    const ui = lab.ui as unknown as Record<string, unknown>;
    const port = await freePort();
    const answers = ['web', IMAGE, `${port}:8080`, '/busybox -- httpd -f -p 8080 -h /bin'];
    ui.input = async () => answers.shift();
    let copied = '';
    ui.copy = async (text: string) => {
      copied = text;
    };
    try {
      await vscode.commands.executeCommand('mllab.service.deploy');
      const healthy = await waitFor(
        'the service to be healthy',
        () => lab.containers.services.items.find((s) => s.name === 'web' && s.status === 'healthy'),
        60000,
      );
      assert.strictEqual(healthy.ports[0].hostIp, '127.0.0.1', 'published on 127.0.0.1 only');
      const node: ServiceNode = { kind: 'service', service: healthy };
      assert.match(String(lab.containers.servicesTree.getTreeItem(node).contextValue), /^runningService withPorts/);
      await vscode.commands.executeCommand('mllab.service.copyDockerRun', node);
      assert.match(copied, /^docker run /);
      assert.ok(copied.includes(IMAGE));
      await vscode.commands.executeCommand('mllab.service.stop', node);
      await waitFor(
        'the service to be stopped',
        () =>
          lab.containers.services.items.find(
            (s) => s.name === 'web' && (s.status === 'stopped' || s.status === 'exited'),
          ),
        60000,
      );
    } finally {
      delete ui.input;
      delete ui.copy;
    }
  });
});

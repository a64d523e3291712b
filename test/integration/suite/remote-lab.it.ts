import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { ApiClient } from '../../../src/client/api-client';
import { newRunId } from '../../../src/common/run-directory/files';
import type { BackendState } from '../../../src/extension/backend/backend-service';
import type { MlLabApi } from '../../../src/extension/extension';
import type { MlLab } from '../../../src/extension/lab';
import type { Project, Registration } from '../../../src/protocol/api';
import type { DatasetVersion } from '../../../src/protocol/datasets';
import { appendEvents, manifest, metricLine, writeManifest } from '../../unit/experiments-helpers';
import { waitFor } from './helpers';
import { makeCertificate } from '../../unit/certificate';

/** `mllab serve --listen` of a lab home over TLS, in the foreground; resolves once it answers. */
async function serveLab(
  extensionPath: string,
  home: string,
  listen: string,
  tls: { cert: string; key: string },
): Promise<{ child: ChildProcess; teamUrl: string }> {
  const child = spawn(
    process.execPath,
    [
      path.join(extensionPath, 'bin', 'mllab.js'),
      'serve',
      '--listen',
      listen,
      '--tls-cert',
      tls.cert,
      '--tls-key',
      tls.key,
      '--home',
      home,
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLLAB_URL: '', MLLAB_TOKEN: '', MLLAB_HOME: '' } },
  );
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const started = await new Promise<{ teamUrl: string }>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      try {
        resolve(JSON.parse(stdout) as { teamUrl: string });
      } catch {
        // not whole yet
      }
    });
    child.once('exit', (code) => reject(new Error(`mllab serve exited with ${code}: ${stdout} ${stderr}`)));
  });
  return { child, teamUrl: started.teamUrl };
}

/** The lab owner's client: its registration file's token, on its loopback port. */
function ownerOf(home: string): ApiClient {
  const registration = JSON.parse(fs.readFileSync(path.join(home, 'run', 'backend.json'), 'utf8')) as Registration;
  return new ApiClient(registration.port, registration.token);
}

/** A state for an assertion's message (its client is not JSON). */
function shown(state: BackendState): string {
  return state.kind === 'connected' ? JSON.stringify(state.lab) : JSON.stringify(state);
}

/** A TCP proxy in front of the lab that can cut every connection and refuse new ones for a while. */
class FlakyLink {
  private readonly sockets = new Set<net.Socket>();
  private down = false;
  readonly server: net.Server;

  constructor(private readonly target: number) {
    this.server = net.createServer((client) => {
      if (this.down) {
        client.destroy();
        return;
      }
      const upstream = net.connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Drops every connection; new ones are refused until `restore`. */
  cut(): void {
    this.down = true;
    for (const s of this.sockets) {
      s.destroy();
    }
  }

  restore(): void {
    this.down = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** the state now (a function: an earlier assertion on `lab.backend.state` does not narrow it) */
const stateOf = (lab: MlLab): BackendState => lab.backend.state;

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
  await exited;
  clearTimeout(timer);
}

describe('the window connected to a lab served by URL (a real VS Code extension host)', function () {
  this.timeout(180000);
  let lab: MlLab;
  let extensionPath: string;
  let root: string;
  let home: string;
  let tls: { cert: string; key: string };
  let served: ChildProcess | undefined;
  let url: string;
  let owner: ApiClient;
  let token: string;
  let tokenId: string;
  let project: Project | undefined;
  let localProjects: string[];
  const errors: { message: string; actions: string[] }[] = [];
  /** how the next error notification is answered (none: dismissed) */
  let answerError: ((message: string, actions: string[]) => Thenable<string | undefined>) | undefined;

  /** A run recorded in the served lab: its run directory written into the lab's own home. */
  function recordRun(name: string): string {
    const id = newRunId();
    const at = new Date().toISOString();
    writeManifest(
      home,
      manifest(id, { name, project: project!.id, status: 'completed', startedAt: at, endedAt: at, exitCode: 0 }),
    );
    return id;
  }

  before(async () => {
    const ext = vscode.extensions.getExtension<MlLabApi>('mllab.mllab')!;
    extensionPath = ext.extensionPath;
    lab = (await ext.activate()).lab;
    lab.ui.error = (message: string, ...actions: string[]) => {
      errors.push({ message, actions });
      return answerError ? answerError(message, actions) : Promise.resolve(undefined);
    };
    await vscode.commands.executeCommand('workbench.view.extension.mllab');
    await waitFor('the local lab to connect', () => lab.backend.state.kind === 'connected');
    await lab.projects.refresh();
    localProjects = lab.projects.projects.map((p) => p.id);

    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mllab-remote-it-'));
    home = path.join(root, 'team-lab');
    fs.mkdirSync(home, { mode: 0o700 });
    tls = makeCertificate(root);
    const started = await serveLab(extensionPath, home, '127.0.0.1:0', tls);
    served = started.child;
    url = started.teamUrl;
    // the lab's owner (its registration file's token, on its loopback port) adds a member and a token
    owner = ownerOf(home);
    await owner.addUser('alice', 'member');
    const created = await owner.createToken({ user: 'alice', label: 'editor test' });
    token = created.token;
    tokenId = created.id;
  });

  after(async () => {
    // the prompts answer as VS Code does again (other suites may run after this one)
    for (const prompt of ['error', 'input', 'openDialog'] as const) {
      delete (lab?.ui as unknown as Record<string, unknown> | undefined)?.[prompt];
    }
    if (lab?.backend.remoteUrl) {
      await vscode.commands.executeCommand('mllab.lab.disconnect');
    }
    owner?.dispose();
    await stop(served);
    if (root) {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('connects through "Connect to Lab...": the URL, the token, then the CA file of a self-signed lab', async () => {
    const asked: { title: string; password: boolean; value?: string }[] = [];
    const answers = [url, token];
    lab.ui.input = async (options) => {
      asked.push({ title: options.title ?? '', password: options.password === true, value: options.value });
      const validate = options.validateInput as (v: string) => unknown;
      if (asked.length === 1) {
        assert.match(String(await validate('ftp://x')), /must start with https:\/\//);
        assert.match(String(await validate('http://lab.example.com')), /plain HTTP off this machine/);
      } else {
        assert.match(String(await validate('two words')), /spaces or characters no token has/);
      }
      assert.strictEqual(await validate(answers[asked.length - 1]), undefined);
      return answers[asked.length - 1];
    };
    answerError = async (message, actions) => {
      assert.match(message, /certificate of 127\.0\.0\.1:\d+ is not trusted/);
      return actions[0];
    };
    lab.ui.openDialog = async () => [vscode.Uri.file(tls.cert)];
    const connected = await vscode.commands.executeCommand('mllab.lab.connect');
    answerError = undefined;
    assert.deepStrictEqual(
      asked.map((a) => a.password),
      [false, true],
      'the token is asked in a password box',
    );
    assert.ok(connected, `connected (errors: ${JSON.stringify(errors)})`);
    const state = lab.backend.state;
    assert.ok(state.kind === 'connected');
    assert.deepStrictEqual(state.lab, { kind: 'remote', url, user: 'alice', role: 'member' });
    assert.strictEqual(lab.backend.remoteUrl, url);
    assert.strictEqual(lab.backend.remoteCaFile, tls.cert);
    const port = new URL(url).port;
    assert.strictEqual(lab.labStatusBar.text, `$(cloud) ML Lab: 127.0.0.1:${port} (alice, member)`);
    // new terminals talk to the same lab (the token is never put in their environment)
    assert.strictEqual(lab.terminalEnvironment.get('MLLAB_URL')?.value, url);
    assert.strictEqual(lab.terminalEnvironment.get('MLLAB_CA_FILE')?.value, tls.cert);
    assert.strictEqual(lab.terminalEnvironment.get('MLLAB_HOME'), undefined);
    assert.strictEqual(lab.terminalEnvironment.get('MLLAB_TOKEN'), undefined);
    assert.match(lab.labStatusBar.tooltip, new RegExp(`${url.replace(/\./g, '\\.')}\\n.*alice, role member`));
  });

  it('creates a project in the served lab and shows it in the Projects view (not the local lab)', async () => {
    project = await vscode.commands.executeCommand<Project>('mllab.project.create', `Team ${Date.now()}`);
    assert.ok(project, JSON.stringify(errors));
    await waitFor('the project in the Projects view', () =>
      lab.projectsTree.getChildren().some((p) => p.id === project!.id),
    );
    assert.ok(
      (await owner.listProjects()).some((p) => p.id === project!.id),
      'stored in the served lab',
    );
    assert.ok(
      lab.projectsTree.getChildren().every((p) => !localProjects.includes(p.id)),
      'no local project is shown',
    );
    await (await lab.backend.ready()).setActiveProject(project.id);
    await waitFor('the project to be active', () => lab.projects.activeProject?.id === project!.id);
  });

  it('sends a file to the served lab and fetches it back with bytes and rate shown; Cancel leaves nothing', async () => {
    const data = randomBytes(24 * 1024 * 1024);
    const file = path.join(root, 'signals.bin');
    fs.writeFileSync(file, data);
    const sha = createHash('sha256').update(data).digest('hex');
    const blob = path.join(home, 'blobs', 'sha256', sha.slice(0, 2), sha.slice(2));
    const shown: { title: string; cancellable: boolean; messages: string[] }[] = [];
    const infos: string[] = [];
    lab.ui.info = async (message: string) => (infos.push(message), undefined);
    /** the notifications as VS Code shows them, recorded; `cancelAfter` reports: the person presses Cancel */
    const progressUi = (cancelAfter?: number) =>
      (<R>(
        options: vscode.ProgressOptions,
        task: (
          p: vscode.Progress<{ message?: string; increment?: number }>,
          t: vscode.CancellationToken,
        ) => Thenable<R>,
      ) => {
        const source = new vscode.CancellationTokenSource();
        const seen = {
          title: options.title ?? '',
          cancellable: options.cancellable === true,
          messages: [] as string[],
        };
        shown.push(seen);
        return task(
          {
            report: (value) => {
              seen.messages.push(value.message ?? '');
              if (cancelAfter !== undefined && seen.messages.length >= cancelAfter) {
                source.cancel();
              }
            },
          },
          source.token,
        );
      }) as MlLab['ui']['withProgress'];
    try {
      // cancelled at its first report: no version, no stored content
      lab.ui.withProgress = progressUi(1);
      const cancelled = await vscode.commands.executeCommand('mllab.dataset.addFile', file, 'signals', '');
      assert.strictEqual(cancelled, undefined, JSON.stringify(errors));
      assert.match(infos.at(-1) ?? '', /^Cancelled: no version was made/);
      assert.ok(!fs.existsSync(blob), 'nothing stored');
      assert.deepStrictEqual(await owner.listDatasets(project!.id), []);

      lab.ui.withProgress = progressUi();
      const version = await vscode.commands.executeCommand<DatasetVersion>(
        'mllab.dataset.addFile',
        file,
        'signals',
        '',
      );
      assert.ok(version, JSON.stringify(errors));
      assert.strictEqual(version.sha256, sha);
      assert.strictEqual(version.projectId, project!.id);
      assert.ok(fs.readFileSync(blob).equals(data), 'the served lab stored the file');
      const sending = shown.at(-1)!;
      assert.strictEqual(sending.title, 'Sending signals to the lab');
      assert.strictEqual(sending.cancellable, true);
      // the rate shows once 250 ms went by: a quiet machine may send the 24 MB sooner
      assert.match(sending.messages.at(-1) ?? '', /^24 MB of 24 MB(, [\d.]+ [KMGT]?B\/s)?$/);

      const out = fs.mkdtempSync(path.join(root, 'fetched-'));
      lab.ui.withProgress = progressUi(1);
      assert.strictEqual(await vscode.commands.executeCommand('mllab.dataset.export', version, out), undefined);
      assert.deepStrictEqual(fs.readdirSync(out), [], 'a cancelled fetch leaves nothing');
      lab.ui.withProgress = progressUi();
      const fetched = await vscode.commands.executeCommand<string>('mllab.dataset.export', version, out);
      assert.strictEqual(fetched, path.join(out, 'signals.bin'));
      assert.ok(fs.readFileSync(fetched).equals(data), 'fetched byte for byte');
      assert.match(shown.at(-1)!.title, /^Fetching signals:v1 from the lab$/);
      assert.match(shown.at(-1)!.messages.at(-1) ?? '', /^24 MB of 24 MB/);
      assert.deepStrictEqual(fs.readdirSync(out), ['signals.bin']);
    } finally {
      delete (lab.ui as unknown as Record<string, unknown>).withProgress;
      delete (lab.ui as unknown as Record<string, unknown>).info;
    }
  });

  it('packages a folder here and sends it to the served lab as one zip; fetched back, it unpacks to the same files', async () => {
    const folder = path.join(root, 'images');
    fs.mkdirSync(path.join(folder, 'cats'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'labels.csv'), 'file,label\ncats/a.png,cat\n');
    fs.writeFileSync(path.join(folder, 'cats', 'a.png'), randomBytes(4096));
    fs.writeFileSync(path.join(folder, 'cats', 'b.png'), randomBytes(8192));
    const titles: string[] = [];
    lab.ui.withProgress = (<R>(
      options: vscode.ProgressOptions,
      task: (p: vscode.Progress<{ message?: string }>, t: vscode.CancellationToken) => Thenable<R>,
    ) => {
      titles.push(options.title ?? '');
      return task({ report: () => undefined }, new vscode.CancellationTokenSource().token);
    }) as MlLab['ui']['withProgress'];
    try {
      const version = await vscode.commands.executeCommand<DatasetVersion>(
        'mllab.dataset.addFolder',
        folder,
        'images',
        '',
      );
      assert.ok(version, JSON.stringify(errors));
      assert.strictEqual(version.kind, 'package');
      assert.strictEqual(version.fileCount, 3);
      assert.strictEqual(version.projectId, project!.id);
      assert.deepStrictEqual(titles, ['Packaging images', 'Sending images to the lab']);
      const out = fs.mkdtempSync(path.join(root, 'fetched-'));
      const fetched = await vscode.commands.executeCommand<string>('mllab.dataset.export', version, out);
      assert.ok(
        fs
          .readFileSync(path.join(fetched, 'cats', 'b.png'))
          .equals(fs.readFileSync(path.join(folder, 'cats', 'b.png'))),
      );
      assert.strictEqual(fs.readFileSync(path.join(fetched, 'labels.csv'), 'utf8'), 'file,label\ncats/a.png,cat\n');
      assert.deepStrictEqual(fs.readdirSync(path.join(fetched, 'cats')).sort(), ['a.png', 'b.png']);
    } finally {
      delete (lab.ui as unknown as Record<string, unknown>).withProgress;
    }
  });

  it('shows a run recorded in the served lab live in the Experiments view, and its details page', async () => {
    const id = recordRun('remote-live');
    fs.writeFileSync(path.join(home, 'runs', id, 'stdout.log'), 'printed on the lab machine\n');
    await waitFor('the run in the Experiments view', () => lab.experiments.items.some((e) => e.id === id), 60000);
    await vscode.commands.executeCommand('mllab.experiment.show', id);
    const panel = await waitFor('the details panel', () => lab.experimentDetails.get(id));
    await waitFor('the ready handshake', () => panel.readyCount > 0 && panel.lastPosted?.type === 'show');
    const shown = panel.lastPosted!;
    assert.ok(shown.type === 'show');
    assert.strictEqual(shown.id, id);
    // the run directory is on the lab's machine: its logs are not read from this one's disk
    const logs = shown.sections.find((s) => s.id === 'logs')!;
    assert.deepStrictEqual(logs.texts, []);
    assert.match(logs.empty ?? '', /kept on the machine of the lab at .*not available for a lab reached by URL yet/);
    const reveal = shown.buttons.find((b) => b.request.kind === 'file' && b.request.action === 'reveal')!;
    assert.ok(reveal, 'the page has its Reveal Run Directory button');
    await assert.rejects(
      panel.perform({ type: 'request', id, request: reveal.request }),
      /Opening a run's files is not available for a lab reached by URL \(https:\/\/127\.0\.0\.1:\d+\) yet/,
    );
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('shows the compare table and the metric charts of the served lab through its API', async () => {
    const id = newRunId();
    appendEvents(home, id, [1, 2, 3, 4].map((s) => metricLine('loss', 1 / s, s)).join(''));
    const at = new Date().toISOString();
    writeManifest(
      home,
      manifest(id, { name: 'remote-charts', project: project!.id, status: 'completed', startedAt: at, endedAt: at }),
    );
    const run = await waitFor(
      'the run with its metric',
      () => lab.experiments.items.find((e) => e.id === id && e.metrics.some((m) => m.key === 'loss' && m.count === 4)),
      60000,
    );
    await vscode.commands.executeCommand('mllab.experiment.compare', run, [run]);
    const table = await waitFor('the compare table', () =>
      lab.compareTable.lastPosted?.type === 'table' ? lab.compareTable.lastPosted : undefined,
    );
    assert.ok(table.rows.length >= 1 && table.total >= 2, `${table.total} rows`);
    assert.ok(table.columns.some((c) => c.id === 'metrics.loss.last'));
    await vscode.commands.executeCommand('mllab.experiment.showCharts', run, [run]);
    // (the page may be sent other messages after the series: the run list, live status)
    const series = await waitFor(
      'the series of the run',
      () => (lab.metricCharts.lastSeries?.series.some((s) => s.runId === id) ? lab.metricCharts.lastSeries : undefined),
      30000,
    );
    assert.deepStrictEqual(
      series.series.filter((s) => s.runId === id && s.key === 'loss').map((s) => s.total),
      [4],
    );
    lab.compareTable.panel?.dispose();
    lab.metricCharts.panel?.dispose();
  });

  it('says that running a file in the terminal is not available for a lab reached by URL yet', async () => {
    errors.length = 0;
    const script = path.join(root, 'train.py');
    fs.writeFileSync(script, 'print(1)\n');
    await vscode.commands.executeCommand('mllab.experiment.run', vscode.Uri.file(script));
    // (a file added as a dataset is sent to the lab: see "sends a file to the served lab" above)
    assert.deepStrictEqual(
      errors.map((e) => e.message.replace(/ yet: .*/, '')),
      [`ML Lab: Running a file as an experiment in the terminal is not available for a lab reached by URL (${url})`],
    );
  });

  it('reconnects a lost event stream by itself when the lab comes back, and shows what changed meanwhile', async () => {
    const port = new URL(url).port;
    await stop(served);
    await waitFor('the window to see the stream drop', () => lab.backend.linkDown !== undefined);
    assert.match(lab.labStatusBar.text, /^\$\(sync~spin\) ML Lab: 127\.0\.0\.1:\d+ \(reconnecting\)$/);
    assert.strictEqual(lab.backend.state.kind, 'connected', 'no restart, no failed state: it reconnects');
    const id = recordRun('while-away');
    served = (await serveLab(extensionPath, home, `127.0.0.1:${port}`, tls)).child;
    owner.dispose();
    owner = ownerOf(home); // the new process has a new loopback port
    await waitFor('the stream to be back', () => lab.backend.linkDown === undefined, 60000);
    await waitFor('the run recorded meanwhile', () => lab.experiments.items.some((e) => e.id === id), 60000);
    assert.strictEqual(lab.labStatusBar.text, `$(cloud) ML Lab: 127.0.0.1:${port} (alice, member)`);
  });

  it('replays what it missed after the link dropped, without reloading the lists', async () => {
    const link = new FlakyLink(Number(new URL(url).port));
    const linkUrl = `https://127.0.0.1:${await link.listen()}`;
    try {
      await lab.labConnection.connect(linkUrl, token, tls.cert);
      await waitFor('the project through the link', () => lab.projects.activeProject?.id === project!.id);
      const state = stateOf(lab);
      assert.ok(state.kind === 'connected' && state.lab.kind === 'remote' && state.lab.url === linkUrl);
      let projectLoads = 0;
      const listProjects = state.client.listProjects;
      state.client.listProjects = () => {
        projectLoads++;
        return listProjects();
      };
      link.cut();
      await waitFor('the window to see the link drop', () => lab.backend.linkDown !== undefined);
      const id = recordRun('while-cut');
      await waitFor(
        'the lab to record the run',
        () =>
          owner.getExperiment(id).then(
            () => true,
            () => false,
          ),
        60000,
      );
      assert.ok(!lab.experiments.items.some((e) => e.id === id), 'not seen while the link is down');
      link.restore();
      await waitFor('the stream to be back', () => lab.backend.linkDown === undefined, 60000);
      await waitFor('the run missed meanwhile, replayed', () => lab.experiments.items.some((e) => e.id === id), 60000);
      assert.strictEqual(projectLoads, 0, 'a replay reloads nothing: the missed events are applied');
      assert.strictEqual(stateOf(lab).kind, 'connected');
    } finally {
      await lab.labConnection.connect(url, token, tls.cert);
      await link.close();
    }
  });

  it('connects again to the stored lab when a window opens (the token from SecretStorage)', async () => {
    // as a new window: the lab the workspace remembers, its token read from the secret storage
    await lab.backend.useLocal();
    assert.strictEqual(lab.backend.remoteUrl, undefined);
    assert.deepStrictEqual(lab.labConnection.restore(), { url, caFile: tls.cert });
    await lab.backend.start();
    const state = lab.backend.state;
    assert.ok(state.kind === 'connected' && state.lab.kind === 'remote', `${state.kind}: ${shown(state)}`);
    await waitFor('the served project again', () => lab.projectsTree.getChildren().some((p) => p.id === project!.id));
  });

  it('tries a stored lab that is down again by itself, shown in the status bar, and connects once it is back', async () => {
    const port = new URL(url).port;
    await stop(served);
    errors.length = 0;
    // as a new window while the lab is stopped: the lab the workspace remembers
    await lab.backend.useLocal();
    lab.labConnection.restore();
    await lab.backend.start();
    const down = stateOf(lab);
    assert.ok(down.kind === 'failed' && down.retrying === true, `${down.kind}: ${shown(down)}`);
    assert.match(down.message, /Trying again by itself/);
    assert.strictEqual(lab.labStatusBar.text, `$(sync~spin) ML Lab: 127.0.0.1:${port} (unreachable, retrying)`);
    await waitFor('a second attempt', () => (lab.backend.remoteRetry?.attempt ?? 0) >= 2);
    assert.match(lab.labStatusBar.tooltip, /Not connected: .*\nTrying again by itself in .* \(attempt \d+ failed\)\./);
    assert.strictEqual(stateOf(lab).kind, 'failed', 'still down');
    assert.strictEqual(errors.length, 1, 'one notification, not one per attempt');
    assert.deepStrictEqual(errors[0].actions, ['Retry', 'Connect to Lab...']);
    // the lab comes back on its address: the window connects by itself
    served = (await serveLab(extensionPath, home, `127.0.0.1:${port}`, tls)).child;
    owner.dispose();
    owner = ownerOf(home);
    await waitFor('the lab again', () => lab.backend.state.kind === 'connected', 60000);
    assert.strictEqual(lab.labStatusBar.text, `$(cloud) ML Lab: 127.0.0.1:${port} (alice, member)`);
    assert.strictEqual(lab.backend.remoteRetry, undefined);
  });

  it("copies the URL of a dataset version on the lab, not a path of the lab's machine", async () => {
    const client = await lab.backend.ready();
    const version = (await client.getDatasetVersion('signals', 'latest', project!.id)) as DatasetVersion;
    const infos: string[] = [];
    lab.ui.info = async (message: string) => (infos.push(message), undefined);
    try {
      const copied = await vscode.commands.executeCommand<string>('mllab.dataset.copyPath', version);
      const expected = `${url}/api/datasets/signals/versions/${version.version}/content?project=${encodeURIComponent(project!.id)}`;
      assert.strictEqual(copied, expected);
      assert.strictEqual(await vscode.env.clipboard.readText(), expected);
      assert.ok(!copied!.includes(home), "no path of the lab's machine");
      assert.match(infos.at(-1)!, /Copied the URL of signals:v\d+ on the lab: .*mllab dataset get/);
    } finally {
      delete (lab.ui as unknown as Record<string, unknown>).info;
    }
  });

  it('refuses a wrong token, keeping the lab; a revoked one fails with what to do and no retry loop', async () => {
    await assert.rejects(
      lab.labConnection.connect(url, `mllab_${'0'.repeat(16)}_${'1'.repeat(64)}`, tls.cert),
      /refused the token .*"ML Lab: Connect to Lab\.\.\." with a new one\. The lab says: .*not known to the lab/,
    );
    assert.strictEqual(lab.backend.state.kind, 'connected', 'the window keeps its lab');
    errors.length = 0;
    await owner.revokeToken(tokenId);
    await lab.backend.restart();
    const state = stateOf(lab);
    assert.ok(state.kind === 'failed', `${state.kind}: ${shown(state)}`);
    assert.strictEqual(state.remote, url);
    assert.strictEqual(state.refusedToken, true);
    assert.match(state.message, /refused the token .*Connect to Lab.*was revoked/);
    assert.ok(!state.message.includes(token.slice(24)), 'the token is in no message');
    await waitFor('the notification', () => errors.length > 0);
    assert.deepStrictEqual(errors[0].actions, ['Connect to Lab...'], 'no Retry for a refused token');
    assert.match(lab.labStatusBar.text, /^\$\(error\) ML Lab: 127\.0\.0\.1:\d+$/);
    // showing a view asks for the lab again: a refused token is not tried again (no notification either)
    const notified = errors.length;
    await lab.backend.start();
    assert.strictEqual(stateOf(lab).kind, 'failed', 'it does not try again by itself');
    assert.strictEqual(errors.length, notified);
  });

  it('disconnects back to the local lab of the folder', async () => {
    await vscode.commands.executeCommand('mllab.lab.disconnect');
    assert.strictEqual(lab.backend.remoteUrl, undefined);
    await waitFor('the local lab', () => lab.backend.state.kind === 'connected');
    const state = lab.backend.state;
    assert.ok(state.kind === 'connected' && state.lab.kind === 'local');
    assert.strictEqual(lab.labStatusBar.text, '$(beaker) ML Lab: local');
    assert.strictEqual(lab.terminalEnvironment.get('MLLAB_HOME')?.value, lab.backend.home);
    assert.strictEqual(lab.terminalEnvironment.get('MLLAB_URL'), undefined);
    await waitFor('the local projects', () => lab.projects.loaded);
    assert.deepStrictEqual(
      lab.projects.projects.map((p) => p.id).sort(),
      [...localProjects].sort(),
      'the projects of the local lab, not the served one',
    );
    assert.strictEqual(lab.labConnection.restore(), undefined, 'the workspace no longer remembers the lab');
  });
});

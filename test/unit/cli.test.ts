import * as assert from 'assert';
import * as fs from 'fs';
import { homePaths, readRegistration } from '../../src/common/home';
import type { BackendStatus, Project } from '../../src/protocol/api';
import { tempHome } from './helpers';
import { cli, spawnBackend, stopBackendOf, waitForExit } from './process-helpers';

describe('mllab CLI (built bin/mllab.js against a real backend process)', function () {
  this.timeout(60000);
  let home: string;
  let cleanup: () => void;
  beforeEach(() => ({ home, cleanup } = tempHome()));
  afterEach(async () => {
    await stopBackendOf(home);
    cleanup();
  });

  it('manages projects with --json, starting a backend in the background when none runs', () => {
    const created = cli(['project', 'create', 'Churn', '--description', 'who leaves', '--home', home, '--json']);
    assert.strictEqual(created.status, 0, created.stderr);
    const project = created.json<Project>();
    assert.strictEqual(project.name, 'Churn');
    assert.ok(readRegistration(home), 'a backend was started and registered');

    assert.strictEqual(cli(['project', 'create', 'Fraud', '--home', home]).status, 0);
    assert.strictEqual(cli(['project', 'use', 'fraud', '--home', home]).status, 0);
    const list = cli(['project', 'list', '--home', home, '--json']).json<{
      projects: Project[];
      activeProjectId: string;
    }>();
    assert.deepStrictEqual(
      list.projects.map((p) => p.name),
      ['Churn', 'Fraud'],
    );
    assert.strictEqual(list.projects.find((p) => p.id === list.activeProjectId)?.name, 'Fraud');
    const text = cli(['project', 'list', '--home', home]).stdout;
    assert.match(text, /^\*\s+Fraud/m, 'the active project is starred in the text table');

    const renamed = cli(['project', 'rename', project.id, 'Churn v2', '--home', home, '--json']);
    assert.strictEqual(renamed.json<Project>().name, 'Churn v2');

    const status = cli(['status', '--home', home, '--json']).json<BackendStatus>();
    assert.strictEqual(status.home, home);
    assert.strictEqual(status.activeProjectId, list.activeProjectId);
  });

  it('asks before deleting: refuses without --yes when not on a terminal, deletes with it', () => {
    cli(['project', 'create', 'Doomed', '--home', home]);
    const refused = cli(['project', 'delete', 'Doomed', '--home', home]);
    assert.strictEqual(refused.status, 1);
    assert.match(refused.stderr, /Deleting the project "Doomed" and everything in it .* needs confirmation: add --yes/);
    const deleted = cli(['project', 'delete', 'Doomed', '--yes', '--home', home, '--json']);
    assert.strictEqual(deleted.status, 0, deleted.stderr);
    assert.strictEqual(deleted.json<{ deleted: boolean }>().deleted, true);
    assert.deepStrictEqual(cli(['project', 'list', '--home', home, '--json']).json<{ projects: [] }>().projects, []);
  });

  it('reports errors with actionable messages and a non-zero exit code, in text and JSON', () => {
    const bad = cli(['project', 'create', '../up', '--home', home]);
    assert.strictEqual(bad.status, 1);
    assert.match(bad.stderr, /^mllab: The project name "..\/up" looks like a path/);
    const missing = cli(['project', 'use', 'ghost', '--home', home, '--json']);
    assert.strictEqual(missing.status, 1);
    assert.strictEqual(missing.json<{ error: { code: string } }>().error.code, 'not_found');
    const usage = cli(['project', 'rename', 'only-one', '--home', home]);
    assert.match(usage.stderr, /takes 2 arguments/);
    const unknown = cli(['frobnicate', '--home', home]);
    assert.match(unknown.stderr, /Unknown command "frobnicate"/);
    const notRunning = cli(['status', '--home', home + '-other']);
    assert.match(notRunning.stderr, /No ML Lab backend runs for .* start one with "mllab serve/);
  });

  it('a second "mllab serve" on the same home attaches and names the owning process', async () => {
    const { child, client } = await spawnBackend(home);
    const owner = readRegistration(home)!;
    const second = cli(['serve', '--home', home, '--json']);
    assert.strictEqual(second.status, 0, second.stderr);
    const answer = second.json<{ attached: boolean; pid: number; url: string }>();
    assert.deepStrictEqual(answer, { attached: true, pid: owner.pid, url: `http://127.0.0.1:${owner.port}`, home });
    const text = cli(['serve', '--home', home]);
    assert.match(text.stdout, new RegExp(`already runs as process ${owner.pid}`));
    assert.strictEqual(readRegistration(home)?.pid, owner.pid, 'the owner kept its registration');
    await client.shutdown();
    await waitForExit(child);
    client.dispose();
    assert.strictEqual(fs.existsSync(homePaths(home).registration), false, 'a clean stop removes the registration');
  });

  it('takes over the registration file of a dead process', () => {
    fs.mkdirSync(homePaths(home).run, { recursive: true });
    // pid 2^22-1 is above the default pid_max of 2^22 on Linux, so no process can have it
    const dead = { pid: 4194303, port: 1, token: 'x', version: '0', apiVersion: 1, startedAt: '' };
    fs.writeFileSync(homePaths(home).registration, JSON.stringify(dead));
    const r = cli(['project', 'list', '--home', home, '--json']);
    assert.strictEqual(r.status, 0, r.stderr + r.stdout);
    assert.notStrictEqual(readRegistration(home)?.pid, dead.pid);
    assert.match(
      fs.readFileSync(homePaths(home).log, 'utf8'),
      /belonged to process 4194303 which is no longer running; taking over/,
    );
  });

  it('keeps the token file readable by the owner only', () => {
    cli(['project', 'list', '--home', home]);
    const mode = fs.statSync(homePaths(home).registration).mode & 0o777;
    assert.strictEqual(mode, 0o600);
    assert.strictEqual(fs.statSync(homePaths(home).run).mode & 0o777, 0o700);
    assert.doesNotMatch(fs.readFileSync(homePaths(home).log, 'utf8'), new RegExp(readRegistration(home)!.token));
  });
});

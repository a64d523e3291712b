import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Model, ModelVersion, ModelVersionDetails } from '../../src/protocol/models';
import { tempHome } from './helpers';
import { activeLabProject, cli, stopBackendOf } from './process-helpers';

describe('models from the terminal (built CLI)', function () {
  this.timeout(60000);
  let home: string;
  let root: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ home, cleanup } = tempHome());
    root = path.dirname(home);
    fs.writeFileSync(path.join(root, 'a.pkl'), 'model a');
    fs.writeFileSync(path.join(root, 'b.pkl'), 'model b');
    activeLabProject(home);
  });
  afterEach(async () => {
    await stopBackendOf(home);
    cleanup();
  });

  it('registers, lists, shows, aliases and removes versions with mllab model ... --json', () => {
    const run = (args: string[]) => cli([...args, '--home', home]);
    const v1 = run(['model', 'register', path.join(root, 'a.pkl'), '--name', 'iris', '--tag', 'first', '--json']);
    assert.strictEqual(v1.status, 0, v1.stderr + v1.stdout);
    assert.deepStrictEqual([v1.json<ModelVersion>().version, v1.json<ModelVersion>().tags], [1, ['first']]);
    const v2 = run(['model', 'register', path.join(root, 'b.pkl'), '--name', 'iris', '--description', 'better']);
    assert.match(v2.stdout, /^Registered iris:v2 \(7 B, sha256 [0-9a-f]{12}\)\.$/m);

    assert.match(run(['model', 'alias', 'iris:v1', 'production']).stdout, /iris@production -> v1/);
    assert.match(run(['model', 'alias', 'iris:v2', 'production']).stdout, /iris@production -> v2/);
    const list = run(['model', 'list', '--json']).json<Model[]>();
    assert.deepStrictEqual(list[0].aliases, { production: 2 });
    assert.match(run(['model', 'list']).stdout, /^iris\s+v2\s+production\s+7 B/m);
    const shown = run(['model', 'show', 'iris@production', '--json']).json<ModelVersionDetails>();
    assert.deepStrictEqual([shown.version, shown.description, shown.lineage], [2, 'better', null]);
    assert.match(run(['model', 'show', 'iris:v1']).stdout, /^iris:v1 \(7 B/);

    const refused = run(['model', 'rm', 'iris:v1']);
    assert.match(refused.stderr, /needs confirmation: add --yes/);
    assert.strictEqual(run(['model', 'rm', 'iris:v1', '--yes']).status, 0);
    assert.deepStrictEqual(
      run(['model', 'list', '--json'])
        .json<Model[]>()[0]
        .versions.map((v) => v.version),
      [2],
    );

    // mistakes say what to do
    assert.match(run(['model', 'register', path.join(root, 'a.pkl')]).stderr, /needs --name/);
    assert.match(run(['model', 'deploy', 'iris']).stderr, /--base-image IMG/);
    assert.match(run(['model', 'alias', 'iris', 'staging']).stderr, /Name the version the alias points to/);
    assert.match(run(['model', 'show', 'nope']).stderr, /No model called "nope"/);
    const bad = run(['model', 'show', 'iris:v9', '--json']);
    assert.strictEqual(bad.status, 1);
    assert.strictEqual(bad.json<{ error: { code: string } }>().error.code, 'not_found');
  });
});

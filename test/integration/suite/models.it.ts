import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import * as vscode from 'vscode';
import type { MlLab } from '../../../src/extension/lab';
import type { ModelNode } from '../../../src/extension/models/nodes';
import type { Project } from '../../../src/protocol/api';
import type { Service } from '../../../src/protocol/containers';
import { closeTestProject, openTestProject, screenshot, waitFor } from './helpers';

/** Debian's python3 + scikit-learn, made by scripts/ensure-sklearn-image.sh (npm test's pretest). */
const BASE_IMAGE = 'mllab-test/python-sklearn:1';

/** A model whose predict(inputs) entry point is the registered file itself: each row's sum times k. */
const model = (k: number) => `def predict(inputs):\n    return [${k} * sum(row) for row in inputs]\n`;

function post(port: number, urlPath: string, body: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

describe('Models in a real VS Code extension host with a real Docker Engine', () => {
  let lab: MlLab;
  let project: Project | undefined;
  let folder: string;

  before(async () => {
    ({ lab, project } = await openTestProject('Models IT'));
    folder = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'models-it');
    fs.mkdirSync(folder, { recursive: true });
    await vscode.workspace
      .getConfiguration('mllab')
      .update('models.baseImage', BASE_IMAGE, vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    const ui = lab.ui as unknown as Record<string, unknown>;
    delete ui.input;
    delete ui.pick;
    if (project) {
      for (const s of await lab.backend.client.listServices(project.id)) {
        await lab.backend.client.deleteService(s.name, project.id);
      }
    }
    await closeTestProject(lab, project);
    fs.rmSync(folder, { recursive: true, force: true });
  });

  it('registers a model, deploys it from the Models view, predicts over HTTP, and moves an alias', async function () {
    this.timeout(300000);
    const ui = lab.ui as unknown as Record<string, unknown>;
    ui.input = async () => 'doubler';
    const first = path.join(folder, 'doubler.py');
    fs.writeFileSync(first, model(2));
    await vscode.commands.executeCommand('mllab.model.register', vscode.Uri.file(first));
    const registered = await waitFor('the model in the Models view', () =>
      lab.models.model.items.find((m) => m.name === 'doubler' && m.versions.length === 1),
    );
    const roots = lab.models.tree.getChildren();
    assert.ok(roots.some((n) => n.kind === 'model' && n.model.name === 'doubler'));
    const versions = lab.models.tree.getChildren({ kind: 'model', model: registered });
    assert.strictEqual(versions.length, 1);
    assert.strictEqual(lab.models.tree.getTreeItem(versions[0]).label, 'v1');

    const service = await vscode.commands.executeCommand<Service>('mllab.model.deploy', versions[0]);
    assert.ok(service, 'deployed');
    const healthy = await waitFor(
      'the model service to be healthy',
      () => lab.containers.services.items.find((s) => s.name === service.name && s.status === 'healthy'),
      120000,
    );
    const port = healthy.ports[0];
    assert.strictEqual(port.hostIp, '127.0.0.1');
    const answer = await post(port.hostPort, '/predict', {
      inputs: [
        [1, 2],
        [3, 4],
      ],
    });
    assert.deepStrictEqual(answer, { status: 200, json: { predictions: [6, 14] } });
    await vscode.commands.executeCommand('mllab.models.focus');
    await screenshot('models-view');

    // the model card of v1 shows the version and the service deployed from it
    await vscode.commands.executeCommand('mllab.model.showCard', versions[0]);
    const card = await waitFor('the model card', () => lab.models.webviews.card.open[0]);
    await waitFor('its ready handshake', () => card.readyCount > 0 && card.lastShown?.ref === 'doubler:v1');
    await waitFor('the service on the card', () =>
      card.lastShown?.services.some((s) => s.name === service.name) ? true : undefined,
    );
    await screenshot('model-card');

    // the prediction playground sends a request through the extension host and shows the answer
    await vscode.commands.executeCommand('mllab.model.playground', service.name);
    const playground = await waitFor('the playground', () => lab.models.webviews.playground.panel);
    await waitFor('the model service offered', () => playground.offered.some((t) => t.service === service.name));
    await playground.perform({
      type: 'send',
      requestId: 1,
      services: [service.name],
      route: '/predict',
      body: JSON.stringify({ inputs: [[5, 5]] }),
    });
    const [result] = await waitFor('the answer', () =>
      playground.lastResults.length > 0 ? playground.lastResults : undefined,
    );
    assert.strictEqual(result.status, 200);
    assert.ok(result.latencyMs !== null && result.latencyMs >= 0);
    assert.deepStrictEqual(JSON.parse(result.body), { predictions: [20] });
    await screenshot('prediction-playground');

    // v2, then "production" moves from v1 to v2
    const second = path.join(folder, 'doubler2.py');
    fs.writeFileSync(second, model(2).replace('2 *', '3 *'));
    await vscode.commands.executeCommand('mllab.model.register', vscode.Uri.file(second));
    const two = await waitFor('v2', () =>
      lab.models.model.items.find((m) => m.name === 'doubler' && m.versions.length === 2),
    );
    ui.pick = async (items: { label: string }[]) => items.find((i) => i.label === 'production');
    await vscode.commands.executeCommand('mllab.model.setAlias', {
      kind: 'version',
      model: two,
      version: two.versions[0],
    } satisfies ModelNode);
    await waitFor('production on v1', () => lab.models.model.items.find((m) => m.aliases.production === 1));
    const now = lab.models.model.items.find((m) => m.name === 'doubler')!;
    await vscode.commands.executeCommand('mllab.model.setAlias', {
      kind: 'version',
      model: now,
      version: now.versions[1],
    } satisfies ModelNode);
    const moved = await waitFor('production moved to v2', () =>
      lab.models.model.items.find((m) => m.aliases.production === 2),
    );
    assert.deepStrictEqual(moved.versions[0].aliases, []);
    assert.deepStrictEqual(moved.versions[1].aliases, ['production']);
  });
});

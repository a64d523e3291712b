import * as assert from 'assert';
import type { MlflowExperiment } from '../../src/protocol/mlflow';
import { mlflowError, mlflowOk, mlflowLab } from './mlflow-helpers';

describe("MLflow tracking API: experiments and runs (raw HTTP, as MLflow's REST reference says)", function () {
  this.timeout(60000);
  const api = mlflowLab();

  before(async () => {});
  after(async () => {});

  it('maps experiments onto projects: create, get, get-by-name, duplicate names, "0" and "Default" = the active project', async () => {
    const created = await mlflowOk<{ experiment_id: string }>(api.backend, 'POST', 'experiments/create', {
      name: 'churn',
      tags: [{ key: 'team', value: 'risk' }],
    });
    const project = api.backend.projects.list().find((p) => p.name === 'churn');
    assert.ok(project, 'the experiment is a project of the lab');
    assert.strictEqual(created.experiment_id, project.id);
    const { experiment } = await mlflowOk<{ experiment: MlflowExperiment }>(api.backend, 'GET', 'experiments/get', {
      experiment_id: project.id,
    });
    assert.strictEqual(experiment.name, 'churn');
    assert.strictEqual(experiment.lifecycle_stage, 'active');
    assert.deepStrictEqual(experiment.tags, [{ key: 'team', value: 'risk' }]);
    assert.strictEqual(experiment.artifact_location, `mlflow-artifacts:/${project.id}`);
    // the first project became the active one: it is MLflow's experiment "0", "Default"
    const zero = await mlflowOk<{ experiment: MlflowExperiment }>(api.backend, 'GET', 'experiments/get', {
      experiment_id: '0',
    });
    assert.strictEqual(zero.experiment.experiment_id, project.id);
    const byName = await mlflowOk<{ experiment: MlflowExperiment }>(api.backend, 'GET', 'experiments/get-by-name', {
      experiment_name: 'Default',
    });
    assert.strictEqual(byName.experiment.experiment_id, project.id);

    const dup = await mlflowError(api.backend, 'POST', 'experiments/create', { name: 'churn' });
    assert.deepStrictEqual([dup.status, dup.code], [400, 'RESOURCE_ALREADY_EXISTS']);
    assert.match(dup.message, /Experiment 'churn' already exists/);
    const unknown = await mlflowError(api.backend, 'GET', 'experiments/get', { experiment_id: '12345' });
    assert.deepStrictEqual([unknown.status, unknown.code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    const noName = await mlflowError(api.backend, 'GET', 'experiments/get-by-name', { experiment_name: 'nope' });
    assert.deepStrictEqual([noName.status, noName.code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    const missingName = await mlflowError(api.backend, 'POST', 'experiments/create', {});
    assert.deepStrictEqual([missingName.status, missingName.code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(missingName.message, /Missing value for required parameter 'name'/);
    assert.strictEqual(api.backend.projects.list().length, 1, 'nothing was created by the refused requests');
  });

  it('renames, deletes (a mark) and restores an experiment, and searches experiments with filter, order and pages', async () => {
    const { experiment_id: id } = await mlflowOk<{ experiment_id: string }>(api.backend, 'POST', 'experiments/create', {
      name: 'fraud',
    });
    await mlflowOk(api.backend, 'POST', 'experiments/update', { experiment_id: id, new_name: 'fraud-v2' });
    assert.strictEqual(api.backend.projects.get(id).name, 'fraud-v2');
    await mlflowOk(api.backend, 'POST', 'experiments/delete', { experiment_id: id });
    let got = await mlflowOk<{ experiment: MlflowExperiment }>(api.backend, 'GET', 'experiments/get', {
      experiment_id: id,
    });
    assert.strictEqual(got.experiment.lifecycle_stage, 'deleted');
    assert.ok(api.backend.projects.get(id), 'the project and its records stay');
    const active = await mlflowOk<{ experiments: MlflowExperiment[] }>(api.backend, 'POST', 'experiments/search', {});
    assert.deepStrictEqual(
      active.experiments.map((e) => e.name),
      ['churn'],
    );
    const deleted = await mlflowOk<{ experiments: MlflowExperiment[] }>(api.backend, 'POST', 'experiments/search', {
      view_type: 'DELETED_ONLY',
    });
    assert.deepStrictEqual(
      deleted.experiments.map((e) => e.name),
      ['fraud-v2'],
    );
    const refused = await mlflowError(api.backend, 'POST', 'runs/create', { experiment_id: id });
    assert.deepStrictEqual([refused.status, refused.code], [400, 'INVALID_PARAMETER_VALUE']);
    assert.match(refused.message, /must be in the 'active' state/);
    await mlflowOk(api.backend, 'POST', 'experiments/restore', { experiment_id: id });
    got = await mlflowOk<{ experiment: MlflowExperiment }>(api.backend, 'GET', 'experiments/get', {
      experiment_id: id,
    });
    assert.strictEqual(got.experiment.lifecycle_stage, 'active');

    await mlflowOk(api.backend, 'POST', 'experiments/set-experiment-tag', {
      experiment_id: id,
      key: 'stage',
      value: 'dev',
    });
    const tagged = await mlflowOk<{ experiments: MlflowExperiment[] }>(api.backend, 'POST', 'experiments/search', {
      filter: "tags.stage = 'dev'",
    });
    assert.deepStrictEqual(
      tagged.experiments.map((e) => e.name),
      ['fraud-v2'],
    );
    const like = await mlflowOk<{ experiments: MlflowExperiment[] }>(api.backend, 'POST', 'experiments/search', {
      filter: "name LIKE 'fr%'",
    });
    assert.deepStrictEqual(
      like.experiments.map((e) => e.name),
      ['fraud-v2'],
      'a name without an entity is an attribute',
    );
    const pages: string[] = [];
    let token: string | undefined;
    do {
      const page: { experiments: MlflowExperiment[]; next_page_token?: string } = await mlflowOk(
        api.backend,
        'POST',
        'experiments/search',
        { max_results: 1, order_by: ['attribute.name ASC'], ...(token ? { page_token: token } : {}) },
      );
      pages.push(...page.experiments.map((e) => e.name));
      token = page.next_page_token;
    } while (token);
    assert.deepStrictEqual(pages, ['churn', 'fraud-v2']);
    await mlflowOk(api.backend, 'POST', 'experiments/delete-experiment-tag', { experiment_id: id, key: 'stage' });
    const gone = await mlflowError(api.backend, 'POST', 'experiments/delete-experiment-tag', {
      experiment_id: id,
      key: 'stage',
    });
    assert.strictEqual(gone.code, 'RESOURCE_DOES_NOT_EXIST');
  });
});

import * as assert from 'assert';
import type { MlflowExperiment, MlflowRun } from '../../src/protocol/mlflow';
import { ServedLab } from './served-lab';

/** An MLflow call on the served lab (over TLS) with a user's token: status, and the body parsed. */
type Call = (
  method: string,
  endpoint: string,
  token: string,
  fields?: Record<string, unknown>,
) => Promise<{
  status: number;
  body: Record<string, unknown>;
}>;

describe('MLflow API on a lab served to a team: per-user tokens and project roles', function () {
  this.timeout(60000);
  let lab: ServedLab;
  const tokens: Record<string, string> = {};
  let call: Call;

  before(async () => {
    lab = await ServedLab.start();
    for (const [name, role] of [
      ['alice', 'member'],
      ['carol', 'viewer'],
      ['erin', 'member'],
    ] as const) {
      tokens[name] = await lab.userToken(name, role);
    }
    call = async (method, endpoint, token, fields = {}) => {
      const query = Object.entries(fields)
        .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
        .join('&');
      const res =
        method === 'GET'
          ? await lab.request('GET', `/api/2.0/mlflow/${endpoint}${query ? `?${query}` : ''}`, token)
          : await lab.request(method, `/api/2.0/mlflow/${endpoint}`, token, { body: fields });
      return { status: res.status, body: res.json() as Record<string, unknown> };
    };
  });
  after(() => lab?.stop());

  it("gives an experiment's creator its ownership; others see nothing of it until made members, then as their role allows", async () => {
    const created = await call('POST', 'experiments/create', tokens.alice, { name: 'alpha' });
    assert.strictEqual(created.status, 200, JSON.stringify(created.body));
    const experimentId = created.body.experiment_id as string;
    const run = await call('POST', 'runs/create', tokens.alice, { experiment_id: experimentId, run_name: 'a1' });
    assert.strictEqual(run.status, 200, JSON.stringify(run.body));
    const runId = (run.body.run as MlflowRun).info.run_id;
    assert.strictEqual((run.body.run as MlflowRun).info.user_id, 'alice', "the user of the token is the run's user");
    assert.strictEqual(
      (await call('POST', 'runs/log-metric', tokens.alice, { run_id: runId, key: 'loss', value: 1, timestamp: 1 }))
        .status,
      200,
    );

    // erin is not a member of alpha: answered as for an experiment and a run that do not exist
    const hidden = await call('GET', 'experiments/get', tokens.erin, { experiment_id: experimentId });
    const unknown = await call('GET', 'experiments/get', tokens.erin, { experiment_id: 'no-such-id' });
    assert.deepStrictEqual([hidden.status, hidden.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    assert.strictEqual(hidden.body.message, (unknown.body.message as string).replace('no-such-id', experimentId));
    const hiddenRun = await call('GET', 'runs/get', tokens.erin, { run_id: runId });
    assert.deepStrictEqual([hiddenRun.status, hiddenRun.body.error_code], [404, 'RESOURCE_DOES_NOT_EXIST']);
    assert.strictEqual(hiddenRun.body.message, `Run '${runId}' not found`);
    const write = await call('POST', 'runs/log-metric', tokens.erin, {
      run_id: runId,
      key: 'loss',
      value: 2,
      timestamp: 2,
    });
    assert.strictEqual(write.status, 404);
    const search = await call('POST', 'experiments/search', tokens.erin);
    assert.deepStrictEqual(
      (search.body.experiments as MlflowExperiment[]).map((e) => e.name),
      [],
    );
    const runs = await call('POST', 'runs/search', tokens.erin, { experiment_ids: [experimentId] });
    assert.strictEqual(runs.status, 404);
    const artifact = await lab.request(
      'GET',
      `/api/2.0/mlflow-artifacts/artifacts?path=${experimentId}/${runId}/artifacts`,
      tokens.erin,
    );
    assert.strictEqual(artifact.status, 404);

    // carol, a viewer of the lab, made a viewer of alpha: reads and searches (a POST), never writes
    const member = await lab.request('PUT', `/api/projects/${experimentId}/members/carol`, tokens.alice, {
      body: { role: 'viewer' },
    });
    assert.strictEqual(member.status, 200, member.text);
    assert.strictEqual((await call('GET', 'runs/get', tokens.carol, { run_id: runId })).status, 200);
    const found = await call('POST', 'runs/search', tokens.carol, { experiment_ids: [experimentId] });
    assert.strictEqual(found.status, 200, JSON.stringify(found.body));
    assert.deepStrictEqual(
      (found.body.runs as MlflowRun[]).map((r) => r.info.run_id),
      [runId],
    );
    const denied = await call('POST', 'runs/log-metric', tokens.carol, {
      run_id: runId,
      key: 'loss',
      value: 3,
      timestamp: 3,
    });
    assert.strictEqual(denied.status, 403);
    const deleting = await call('POST', 'experiments/delete', tokens.carol, { experiment_id: experimentId });
    assert.strictEqual(deleting.status, 403);

    // erin made an editor: logs, but the experiment's rename and delete are its owner's
    await lab.request('PUT', `/api/projects/${experimentId}/members/erin`, tokens.alice, { body: { role: 'editor' } });
    assert.strictEqual(
      (
        await call('POST', 'runs/log-metric', tokens.erin, {
          run_id: runId,
          key: 'loss',
          value: 2,
          timestamp: 2,
          step: 1,
        })
      ).status,
      200,
    );
    const rename = await call('POST', 'experiments/update', tokens.erin, {
      experiment_id: experimentId,
      new_name: 'beta',
    });
    assert.deepStrictEqual([rename.status, rename.body.error_code], [403, 'PERMISSION_DENIED']);
    assert.strictEqual(
      (await call('POST', 'experiments/update', tokens.alice, { experiment_id: experimentId, new_name: 'beta' }))
        .status,
      200,
    );
    const history = await call('GET', 'metrics/get-history', tokens.carol, { run_id: runId, metric_key: 'loss' });
    assert.deepStrictEqual(
      (history.body.metrics as { value: number }[]).map((m) => m.value),
      [1, 2],
    );
  });
});

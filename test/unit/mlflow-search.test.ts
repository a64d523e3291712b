import * as assert from 'assert';
import type { MlflowRun } from '../../src/protocol/mlflow';
import { mlflowError, mlflowOk, mlflowLab, createExperiment } from './mlflow-helpers';

describe("MLflow runs/search: MLflow's filter and order-by grammar, view types and page tokens (raw HTTP)", function () {
  this.timeout(60000);
  const api = mlflowLab();
  let experimentId: string;
  let otherId: string;
  /** run name -> id */
  const ids = new Map<string, string>();

  before(async () => {
    experimentId = await createExperiment(api.backend, 'grid');
    otherId = await createExperiment(api.backend, 'other');
    // five runs: r0..r4, started a second apart, acc = 0.5 + i/10, model a/b/a/b/a, r4 without a loss
    for (let i = 0; i < 5; i++) {
      const { run } = await mlflowOk<{ run: MlflowRun }>(api.backend, 'POST', 'runs/create', {
        experiment_id: experimentId,
        run_name: `r${i}`,
        start_time: 1767225600000 + i * 1000,
        user_id: i === 2 ? 'grace' : 'ada',
      });
      ids.set(`r${i}`, run.info.run_id);
      await mlflowOk(api.backend, 'POST', 'runs/log-batch', {
        run_id: run.info.run_id,
        metrics: [
          { key: 'acc', value: 0.5 + i / 10, timestamp: 1, step: 0 },
          ...(i < 4 ? [{ key: 'loss', value: 1 - i / 10, timestamp: 1, step: 0 }] : []),
        ],
        params: [{ key: 'model', value: i % 2 === 0 ? 'a' : 'b' }],
        tags: [{ key: 'team.name', value: i < 2 ? 'Risk' : 'growth' }],
      });
      if (i === 3) {
        await mlflowOk(api.backend, 'POST', 'runs/update', { run_id: run.info.run_id, status: 'FAILED' });
      }
    }
    await mlflowOk(api.backend, 'POST', 'runs/create', { experiment_id: otherId, run_name: 'elsewhere' });
  });
  after(async () => {});

  const names = async (fields: Record<string, unknown>) =>
    (
      (
        await mlflowOk<{ runs?: MlflowRun[] }>(api.backend, 'POST', 'runs/search', {
          experiment_ids: [experimentId],
          ...fields,
        })
      ).runs ?? []
    ).map((r) => r.info.run_name);

  it('filters by metrics, params, tags and attributes joined by AND; newest first by default', async () => {
    assert.deepStrictEqual(await names({}), ['r4', 'r3', 'r2', 'r1', 'r0']);
    assert.deepStrictEqual(await names({ filter: 'metrics.acc > 0.65' }), ['r4', 'r3', 'r2']);
    assert.deepStrictEqual(await names({ filter: 'metric.acc >= 0.7 AND metrics.loss < 0.75' }), ['r3']);
    assert.deepStrictEqual(await names({ filter: "params.model = 'a'" }), ['r4', 'r2', 'r0']);
    assert.deepStrictEqual(await names({ filter: "params.model != 'a' and metrics.acc <= 0.6" }), ['r1']);
    assert.deepStrictEqual(await names({ filter: "tags.`team.name` = 'Risk'" }), ['r1', 'r0']);
    assert.deepStrictEqual(await names({ filter: "tags.team.name LIKE 'gr%'" }), ['r4', 'r3', 'r2']);
    assert.deepStrictEqual(await names({ filter: 'tags."team.name" ILIKE \'risk\'' }), ['r1', 'r0']);
    assert.deepStrictEqual(await names({ filter: "tags.`team.name` LIKE 'risk'" }), [], 'LIKE is case-sensitive');
    assert.deepStrictEqual(await names({ filter: "attributes.status = 'FAILED'" }), ['r3']);
    assert.deepStrictEqual(await names({ filter: "status = 'RUNNING' AND attributes.user_id = 'grace'" }), ['r2']);
    assert.deepStrictEqual(await names({ filter: "attributes.run_name = 'r1'" }), ['r1']);
    assert.deepStrictEqual(await names({ filter: `attributes.run_id IN ('${ids.get('r0')}', '${ids.get('r4')}')` }), [
      'r4',
      'r0',
    ]);
    assert.deepStrictEqual(await names({ filter: `attributes.start_time >= ${1767225600000 + 3000}` }), ['r4', 'r3']);
    assert.deepStrictEqual(
      await names({ filter: 'metrics.loss > 0' }),
      ['r3', 'r2', 'r1', 'r0'],
      'a run without the metric never matches',
    );
    assert.deepStrictEqual(
      await names({ filter: 'params.model IS NOT NULL AND params.other IS NULL' }).then((n) => n.length),
      5,
    );
  });

  it('orders by metrics, params and attributes (runs without the key last), then newest first', async () => {
    assert.deepStrictEqual(await names({ order_by: ['metrics.loss ASC'] }), ['r3', 'r2', 'r1', 'r0', 'r4']);
    assert.deepStrictEqual(await names({ order_by: ['metrics.loss DESC'] }), ['r0', 'r1', 'r2', 'r3', 'r4']);
    assert.deepStrictEqual(await names({ order_by: ['params.model', 'attributes.start_time ASC'] }), [
      'r0',
      'r2',
      'r4',
      'r1',
      'r3',
    ]);
    assert.deepStrictEqual(await names({ order_by: ['attributes.run_name DESC'] }), ['r4', 'r3', 'r2', 'r1', 'r0']);
  });

  it('pages with max_results and page tokens, each run once, across experiments', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page: { runs?: MlflowRun[]; next_page_token?: string } = await mlflowOk(
        api.backend,
        'POST',
        'runs/search',
        {
          experiment_ids: [experimentId, otherId],
          max_results: 2,
          order_by: ['attributes.run_name ASC'],
          ...(token ? { page_token: token } : {}),
        },
      );
      seen.push(...(page.runs ?? []).map((r) => r.info.run_name));
      token = page.next_page_token;
      pages++;
    } while (token);
    assert.deepStrictEqual(seen, ['elsewhere', 'r0', 'r1', 'r2', 'r3', 'r4']);
    assert.strictEqual(pages, 3);
    const first = await mlflowOk<{ next_page_token: string }>(api.backend, 'POST', 'runs/search', {
      experiment_ids: [experimentId],
      max_results: 1,
    });
    const otherQuery = await mlflowError(api.backend, 'POST', 'runs/search', {
      experiment_ids: [experimentId],
      filter: 'metrics.acc > 0',
      page_token: first.next_page_token,
    });
    assert.deepStrictEqual([otherQuery.status, otherQuery.code], [400, 'INVALID_PARAMETER_VALUE']);
    const junk = await mlflowError(api.backend, 'POST', 'runs/search', {
      experiment_ids: [experimentId],
      page_token: 'not a token',
    });
    assert.strictEqual(junk.code, 'INVALID_PARAMETER_VALUE');
    const tooMany = await mlflowError(api.backend, 'POST', 'runs/search', {
      experiment_ids: [experimentId],
      max_results: 50001,
    });
    assert.match(tooMany.message, /It must be at most 50000, but got value 50001/);
  });

  it('refuses a filter or order-by MLflow refuses, with INVALID_PARAMETER_VALUE', async () => {
    const refused: [string, RegExp][] = [
      ["metrics.acc > '0.5'", /Expected numeric value type for metric/],
      ['params.model = a', /not quoted/],
      ["params.model > 'a'", /Invalid comparator '>'/],
      ["metrics.acc LIKE '1%'", /Invalid comparator 'LIKE'/],
      ["metrics.acc > 0.5 OR params.model = 'a'", /AND only/],
      ['metrics.acc > 0.5 AND', /a clause must follow AND/],
      ['foo.bar = 1', /Invalid entity type 'foo'/],
      ["attributes.color = 'red'", /Invalid attribute key 'color'/],
      ['metrics.acc', /not a comparator/],
      ["params.model = 'a", /unexpected/],
      ["attributes.run_name IN ('a')", /IN applies to/],
    ];
    for (const [filter, message] of refused) {
      const e = await mlflowError(api.backend, 'POST', 'runs/search', { experiment_ids: [experimentId], filter });
      assert.deepStrictEqual([e.status, e.code], [400, 'INVALID_PARAMETER_VALUE'], filter);
      assert.match(e.message, message, filter);
    }
    const order = await mlflowError(api.backend, 'POST', 'runs/search', {
      experiment_ids: [experimentId],
      order_by: ['metrics.acc UP'],
    });
    assert.match(order.message, /Invalid order_by clause/);
    const unknown = await mlflowError(api.backend, 'POST', 'runs/search', { experiment_ids: ['nope'] });
    assert.deepStrictEqual([unknown.status, unknown.code], [404, 'RESOURCE_DOES_NOT_EXIST']);
  });
});

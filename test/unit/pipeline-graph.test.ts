import * as assert from 'assert';
import { buildGraph, formatDuration, formatShortTime } from '../../src/extension/jobs/pipeline/content';
import { affectsGraph, runStatesOf } from '../../src/extension/jobs/pipeline/events';
import { assignLayers, countCrossings, isPassage, layoutPipeline } from '../../src/extension/jobs/pipeline/layout';
import type { JobRun } from '../../src/protocol/containers';
import type { Pipeline, PipelineJob } from '../../src/protocol/schedules';

const e = (from: string, to: string) => ({ from, to });

/** The layers of a layout with names only (passages left out). */
const named = (layers: readonly (readonly string[])[]) => layers.map((l) => l.filter((n) => !isPassage(n)));

describe('pipeline graph: layout', () => {
  it('puts each job one layer after its longest chain of upstreams', () => {
    // a -> b -> c, and a -> c directly: c is on layer 2 (longest path), not 1
    const { layer } = assignLayers(['c', 'b', 'a'], [e('a', 'b'), e('b', 'c'), e('a', 'c')]);
    assert.deepStrictEqual(Object.fromEntries(layer), { a: 0, b: 1, c: 2 });
  });

  it('lays out fan-out and fan-in with passages for long edges', () => {
    // prepare fans out to two trainers, both fan in to report; lonely has no edges
    const layout = layoutPipeline(
      ['report', 'prepare', 'train-a', 'train-b', 'lonely', 'publish'],
      [
        e('prepare', 'train-a'),
        e('prepare', 'train-b'),
        e('train-a', 'report'),
        e('train-b', 'report'),
        e('prepare', 'publish'),
        e('report', 'publish'),
      ],
    );
    assert.deepStrictEqual(
      named(layout.layers).map((l) => [...l].sort()),
      [['lonely', 'prepare'], ['train-a', 'train-b'], ['report'], ['publish']],
    );
    // prepare -> publish spans layers 1 and 2: one passage in each
    const long = layout.edges.find((x) => x.from === 'prepare' && x.to === 'publish')!;
    assert.deepStrictEqual(
      long.via.map((s) => s.layer),
      [1, 2],
    );
    assert.ok(layout.edges.every((x) => !x.back));
    assert.strictEqual(layout.edges.length, 6);
    for (const x of layout.edges) {
      assert.ok(layout.slots.get(x.from)!.layer < layout.slots.get(x.to)!.layer, `${x.from} -> ${x.to} points right`);
    }
    assert.strictEqual(layout.crossings, 0);
  });

  it('reorders a layer to remove crossings (barycenter)', () => {
    // in input order, a->y and b->x cross, and c->z crosses nothing; x and y swap
    const edges = [e('a', 'y'), e('b', 'x'), e('c', 'z')];
    const initial = countCrossings(
      [
        ['a', 'b', 'c'],
        ['x', 'y', 'z'],
      ],
      edges.map((x): [string, string] => [x.from, x.to]),
    );
    assert.strictEqual(initial, 1);
    const layout = layoutPipeline(['a', 'b', 'c', 'x', 'y', 'z'], edges);
    assert.strictEqual(layout.crossings, 0);
    const [top, bottom] = layout.layers;
    assert.ok(top.indexOf('a') < top.indexOf('b') === bottom.indexOf('y') < bottom.indexOf('x'));
  });

  it('reduces the crossings of a known two-layer graph from 3 to none', () => {
    // in input order 1->c crosses 2->b and 3->a, and 2->b crosses 3->a; an order without crossings exists
    const edges = [e('1', 'c'), e('2', 'b'), e('3', 'a'), e('1', 'a')];
    const segments = edges.map((x): [string, string] => [x.from, x.to]);
    assert.strictEqual(
      countCrossings(
        [
          ['1', '2', '3'],
          ['a', 'b', 'c'],
        ],
        segments,
      ),
      3,
    );
    const layout = layoutPipeline(['1', '2', '3', 'a', 'b', 'c'], edges);
    assert.strictEqual(layout.crossings, 0);
    assert.strictEqual(countCrossings(layout.layers, segments), 0);
    assert.strictEqual(layoutPipeline(['1', '2', '3', 'a', 'b', 'c'], edges, 0).crossings, 3, 'no sweeps: input order');
  });

  it('ends on a cyclic input (which the backend refuses) and reports the closing edge as a back edge', () => {
    const started = Date.now();
    const layout = layoutPipeline(
      ['a', 'b', 'c', 'd'],
      [e('a', 'b'), e('b', 'c'), e('c', 'a'), e('c', 'd'), e('d', 'd')],
    );
    assert.ok(Date.now() - started < 1000);
    assert.strictEqual(layout.slots.size, 4);
    const back = layout.edges.filter((x) => x.back);
    assert.strictEqual(back.length, 1);
    assert.deepStrictEqual(
      layout.edges.map((x) => `${x.from}->${x.to}`),
      ['a->b', 'b->c', 'c->a', 'c->d'],
      'the self-edge is dropped',
    );
    // a cycle with no way in at all, unknown names and duplicates
    const closed = layoutPipeline(['x', 'y', 'x'], [e('x', 'y'), e('y', 'x'), e('x', 'y'), e('x', 'ghost')]);
    assert.strictEqual(closed.slots.size, 2);
    assert.strictEqual(closed.edges.length, 2);
  });

  it('handles no jobs and jobs without edges', () => {
    assert.deepStrictEqual(layoutPipeline([], []).layers, []);
    const flat = layoutPipeline(['a', 'b'], []);
    assert.deepStrictEqual(flat.layers, [['a', 'b']]);
  });

  it('lays out a wide pipeline of 300 jobs quickly', () => {
    const nodes = Array.from({ length: 300 }, (_, i) => `j${i}`);
    const edges = nodes.slice(30).map((n, i) => e(nodes[i], n)); // 30 chains of 10
    const layout = layoutPipeline(nodes, edges);
    assert.strictEqual(layout.layers.length, 10);
    assert.strictEqual(layout.crossings, 0);
  });
});

function run(jobId: string, state: JobRun['state'], extra: Partial<JobRun> = {}): JobRun {
  return {
    id: `run-${jobId}`,
    jobId,
    projectId: 'p1',
    trigger: 'manual',
    triggerDetail: null,
    executionId: null,
    state,
    exitCode: null,
    reason: null,
    createdAt: '2026-11-26T10:00:00.000Z',
    startedAt: '2026-11-26T10:00:01.000Z',
    endedAt: '2026-11-26T10:00:13.500Z',
    containerId: null,
    runDir: 'runs/r1',
    logBytes: 0,
    ...extra,
  };
}

function job(name: string, upstreams: string[], downstreams: string[], lastRun: JobRun | null): PipelineJob {
  return { id: `id-${name}`, name, upstreams, downstreams, lastRun, schedule: null };
}

describe('pipeline graph: content', () => {
  it('describes each job: state, exit code, trigger, times, schedule, neighbours, slot', () => {
    const pipeline: Pipeline = {
      projectId: 'p1',
      jobs: [
        {
          ...job(
            'prepare',
            [],
            ['train'],
            run('id-prepare', 'succeeded', { exitCode: 0, trigger: 'cron', triggerDetail: '0 2 * * * (UTC)' }),
          ),
          schedule: {
            id: 's1',
            projectId: 'p1',
            jobId: 'id-prepare',
            jobName: 'prepare',
            cron: '0 2 * * *',
            timeZone: 'UTC',
            description: 'At 02:00',
            enabled: true,
            overlap: 'skip',
            missed: 'skip',
            nextRuns: ['2026-11-27T02:00:00Z'],
            lastFiredAt: null,
            lastError: null,
            createdAt: '2026-11-01T00:00:00Z',
            updatedAt: '2026-11-01T00:00:00Z',
          },
        },
        job(
          'train',
          ['prepare'],
          ['report'],
          run('id-train', 'failed', { exitCode: 3, trigger: 'dependency', triggerDetail: 'run-id-prepare' }),
        ),
        job(
          'report',
          ['train'],
          [],
          run('id-report', 'skipped', {
            startedAt: null,
            endedAt: null,
            reason: 'train failed',
            trigger: 'dependency',
            triggerDetail: 'run-x',
          }),
        ),
        job('fresh', [], [], null),
      ],
      edges: [e('prepare', 'train'), e('train', 'report')],
    };
    const graph = buildGraph(pipeline, new Date('2026-11-26T12:00:00Z'));
    const by = new Map(graph.nodes.map((n) => [n.name, n]));
    assert.strictEqual(graph.type, 'graph');
    assert.deepStrictEqual(graph.layerSizes, [2, 1, 1]);
    assert.strictEqual(by.get('prepare')!.layer, 0);
    assert.strictEqual(by.get('report')!.layer, 2);
    assert.strictEqual(by.get('prepare')!.triggerLabel, 'cron 0 2 * * * (UTC)');
    assert.match(by.get('prepare')!.schedule!.line, /^⟳ At 02:00 · next (today|tomorrow|\d+ \w{3}) \d\d:\d\d$/);
    assert.match(by.get('prepare')!.schedule!.nextRun!, /^2026-11-2[67] \d\d:00$/);
    assert.strictEqual(by.get('prepare')!.note, 'started by cron 0 2 * * * (UTC)');
    assert.strictEqual(by.get('train')!.note, 'started after prepare');
    assert.strictEqual(by.get('report')!.note, 'train failed');
    assert.strictEqual(by.get('fresh')!.note, '');
    assert.strictEqual(by.get('train')!.stateLabel, 'failed · exit 3');
    assert.strictEqual(by.get('train')!.exitCode, 3);
    assert.strictEqual(by.get('train')!.triggerLabel, 'after prepare');
    assert.strictEqual(by.get('train')!.duration, '12.5 s');
    assert.match(by.get('train')!.runLine, /^failed · exit 3 · (today|\d+ Nov) \d\d:\d\d$/);
    assert.strictEqual(by.get('report')!.state, 'skipped');
    assert.strictEqual(by.get('report')!.reason, 'train failed');
    assert.strictEqual(by.get('report')!.triggerLabel, 'after an upstream job');
    assert.strictEqual(by.get('report')!.started, null);
    assert.strictEqual(by.get('fresh')!.state, 'never');
    assert.strictEqual(by.get('fresh')!.runLine, 'never run');
    assert.deepStrictEqual(graph.edges, [
      { from: 'prepare', to: 'train', via: [] },
      { from: 'train', to: 'report', via: [] },
    ]);
  });

  it('formats times for a narrow box', () => {
    const now = new Date(2026, 10, 26, 12, 0);
    assert.strictEqual(formatShortTime(new Date(2026, 10, 26, 9, 5).toISOString(), now), 'today 09:05');
    assert.strictEqual(formatShortTime(new Date(2026, 10, 27, 2, 0).toISOString(), now), 'tomorrow 02:00');
    assert.strictEqual(formatShortTime(new Date(2026, 0, 3, 2, 0).toISOString(), now), '3 Jan 02:00');
    assert.strictEqual(formatShortTime(new Date(2025, 0, 3, 2, 0).toISOString(), now), '2025-01-03');
    assert.strictEqual(formatShortTime('garbage', now), 'garbage');
  });

  it('formats durations', () => {
    const now = new Date('2026-11-26T12:00:00Z');
    assert.strictEqual(formatDuration(null, null, now), '');
    assert.strictEqual(formatDuration('2026-11-26T11:55:55Z', null, now), '4 min 5 s');
    assert.strictEqual(formatDuration('2026-11-26T10:30:00Z', '2026-11-26T12:00:00Z', now), '1.5 h');
  });

  it('builds an empty graph for a project without jobs', () => {
    const graph = buildGraph({ projectId: 'p1', jobs: [], edges: [] });
    assert.deepStrictEqual([graph.nodes, graph.edges, graph.layerSizes], [[], [], []]);
  });
});

describe('pipeline graph: reloading on events', () => {
  const pipeline: Pipeline = {
    projectId: 'p1',
    jobs: [job('a', [], [], run('id-a', 'running')), job('b', [], [], null)],
    edges: [],
  };
  const runs = runStatesOf(pipeline);

  it('reloads on a new run or a change of state, not on the log growth of a shown run', () => {
    assert.strictEqual(
      affectsGraph({ type: 'jobRunUpdated', run: run('id-a', 'running', { logBytes: 99 }) }, 'p1', runs),
      false,
    );
    assert.strictEqual(
      affectsGraph({ type: 'jobRunUpdated', run: run('id-a', 'failed', { exitCode: 1 }) }, 'p1', runs),
      true,
    );
    assert.strictEqual(affectsGraph({ type: 'jobRunUpdated', run: run('id-b', 'queued') }, 'p1', runs), true);
    assert.strictEqual(
      affectsGraph({ type: 'jobRunUpdated', run: run('id-b', 'queued', { projectId: 'p2' }) }, 'p1', runs),
      false,
      'another project',
    );
  });

  it('reloads on pipeline, schedule and job changes of the project, and on project switches and reconnects', () => {
    assert.strictEqual(affectsGraph({ type: 'pipelineChanged', projectId: 'p1' }, 'p1', runs), true);
    assert.strictEqual(affectsGraph({ type: 'pipelineChanged', projectId: 'p2' }, 'p1', runs), false);
    assert.strictEqual(
      affectsGraph({ type: 'scheduleChanged', projectId: 'p1', jobId: 'id-a', schedule: null }, 'p1', runs),
      true,
    );
    assert.strictEqual(affectsGraph({ type: 'jobDeleted', projectId: 'p1', jobId: 'id-b' }, 'p1', runs), true);
    assert.strictEqual(affectsGraph({ type: 'activeProjectChanged', projectId: 'p2' }, 'p1', runs), true);
    assert.strictEqual(
      affectsGraph({ type: 'pipelineChanged', projectId: 'p2' }, undefined, new Map()),
      true,
      'nothing shown yet',
    );
    assert.strictEqual(affectsGraph({ type: 'experimentDeleted', id: 'e1' }, 'p1', runs), false);
  });
});

/**
 * The pipeline graph webview in Chromium without VS Code, under the real CSP: a three-job fan-in
 * pipeline (two sources, one of them failed, into a skipped job), its boxes and edges, the buttons and
 * keys that post to the host, pan and zoom kept with setState, the empty state, and a screenshot in
 * test-artifacts/. Run after a build:
 *   npx webpack --mode production --config-name webviews && npx tsc -p tsconfig.test.json &&
 *   npx mocha --no-config --timeout 120000 --exit out/test/browser/pipeline-graph.test.js
 */
import * as assert from 'assert';
import type { Browser, Page } from 'playwright-core';
import { buildGraph } from '../../src/extension/jobs/pipeline/content';
import { PIPELINE_CSS } from '../../src/extension/jobs/pipeline/style';
import type { JobRun } from '../../src/protocol/containers';
import type { Pipeline, PipelineJob } from '../../src/protocol/schedules';
import type { PipelineGraphState, WebviewToHostMessage } from '../../src/protocol/webviews/pipeline-graph';
import { launchChromium, openWebview, saveScreenshot, type WebviewPage } from './webview-harness';

function run(jobId: string, state: JobRun['state'], extra: Partial<JobRun> = {}): JobRun {
  return {
    id: `run-${jobId}`,
    jobId,
    projectId: 'p1',
    trigger: 'manual',
    triggerDetail: null,
    executionId: 'x1',
    state,
    exitCode: null,
    reason: null,
    createdAt: '2026-11-26T10:00:00.000Z',
    startedAt: '2026-11-26T10:00:01.000Z',
    endedAt: '2026-11-26T10:02:13.000Z',
    containerId: null,
    runDir: 'runs/x',
    logBytes: 10,
    ...extra,
  };
}

function job(name: string, upstreams: string[], downstreams: string[], lastRun: JobRun | null): PipelineJob {
  return { id: `id-${name}`, name, upstreams, downstreams, lastRun, schedule: null };
}

/** extract and featurize run first; train runs after both; featurize failed, so train was skipped. */
const PIPELINE: Pipeline = {
  projectId: 'p1',
  jobs: [
    {
      ...job(
        'extract',
        [],
        ['train'],
        run('id-extract', 'succeeded', { exitCode: 0, trigger: 'cron', triggerDetail: '0 2 * * * (UTC)' }),
      ),
      schedule: {
        id: 's1',
        projectId: 'p1',
        jobId: 'id-extract',
        jobName: 'extract',
        cron: '0 2 * * *',
        timeZone: 'UTC',
        description: 'At 02:00',
        enabled: true,
        overlap: 'skip',
        missed: 'skip',
        nextRuns: ['2026-11-27T02:00:00Z'],
        lastFiredAt: '2026-11-26T02:00:00Z',
        lastError: null,
        createdAt: '2026-11-01T00:00:00Z',
        updatedAt: '2026-11-01T00:00:00Z',
      },
    },
    job('featurize <b>&amp;</b>', [], ['train'], run('id-featurize', 'failed', { exitCode: 2 })),
    job(
      'train',
      ['extract', 'featurize <b>&amp;</b>'],
      [],
      run('id-train', 'skipped', {
        trigger: 'dependency',
        triggerDetail: 'run-id-featurize',
        startedAt: null,
        endedAt: null,
        reason: 'featurize failed',
      }),
    ),
  ],
  edges: [
    { from: 'extract', to: 'train' },
    { from: 'featurize <b>&amp;</b>', to: 'train' },
  ],
};

const FEATURIZE = 'featurize <b>&amp;</b>';

describe('pipeline graph webview in Chromium', function () {
  let browser: Browser;
  let view: WebviewPage;
  let page: Page;
  const posted = async () => (await view.posted()) as WebviewToHostMessage[];
  const state = () => page.evaluate(() => (window as unknown as { __state: PipelineGraphState }).__state);
  const scale = async () => Number(await page.locator('svg.graph').getAttribute('data-scale'));

  before(async () => {
    browser = await launchChromium();
    view = await openWebview(browser, {
      script: 'pipeline-graph',
      css: PIPELINE_CSS,
      viewport: { width: 1200, height: 640 },
    });
    page = view.page;
    await view.send(buildGraph(PIPELINE));
    await page.waitForSelector('.node');
  });

  after(async () => {
    await browser?.close();
  });

  it('draws a box per job in its column, with state, run line and schedule, as text', async () => {
    const nodes = await page.evaluate(() =>
      Array.from(document.querySelectorAll<SVGGElement>('g.node')).map((g) => {
        const r = g.getBoundingClientRect();
        return {
          job: g.dataset.job,
          cls: g.getAttribute('class'),
          name: g.querySelector('.name')!.textContent,
          run: g.querySelector('.run')!.textContent,
          third: g.querySelector('.schedule, .note')!.textContent,
          x: r.x,
          width: r.width,
          bolds: g.querySelectorAll('b').length,
        };
      }),
    );
    assert.deepStrictEqual(
      nodes.map((n) => n.job),
      ['extract', FEATURIZE, 'train'],
      'Tab order: columns left to right',
    );
    const by = new Map(nodes.map((n) => [n.job, n]));
    assert.match(by.get('extract')!.cls!, /state-succeeded/);
    assert.match(by.get(FEATURIZE)!.cls!, /state-failed/);
    assert.match(by.get('train')!.cls!, /state-skipped/);
    assert.strictEqual(by.get(FEATURIZE)!.name, FEATURIZE, 'markup in a name is shown as text');
    assert.ok(nodes.every((n) => n.bolds === 0));
    assert.match(by.get(FEATURIZE)!.run!, /^failed · exit 2 · /);
    assert.match(by.get('extract')!.third!, /^⟳ At 02:00 · next /);
    assert.strictEqual(by.get(FEATURIZE)!.third, 'started manually');
    assert.strictEqual(by.get('train')!.third, 'featurize failed', 'the reason of a skipped run');
    assert.strictEqual(by.get('extract')!.x, by.get(FEATURIZE)!.x, 'both sources in the first column');
    assert.ok(by.get('train')!.x > by.get('extract')!.x + by.get('extract')!.width, 'train right of its upstreams');

    const colours = await page.evaluate(() =>
      ['succeeded', 'failed', 'skipped'].map(
        (s) => getComputedStyle(document.querySelector(`g.node.state-${s} .stripe`)!).fill,
      ),
    );
    assert.deepStrictEqual(
      colours,
      ['rgb(115, 201, 145)', 'rgb(241, 76, 76)', 'rgb(132, 132, 132)'],
      'testing.icon* colours',
    );
    assert.match(await page.locator('.status').innerText(), /3 jobs, 2 dependencies/);
    assert.strictEqual(await page.locator('.legend li').count(), 8);
  });

  it('draws the edges as curves with arrowheads, into the downstream box', async () => {
    const edges = await page.evaluate(() =>
      Array.from(document.querySelectorAll<SVGPathElement>('path.edge')).map((p) => ({
        from: p.dataset.from,
        to: p.dataset.to,
        d: p.getAttribute('d')!,
        marker: p.getAttribute('marker-end'),
        length: p.getTotalLength(),
      })),
    );
    assert.deepStrictEqual(
      edges.map((e) => `${e.from}->${e.to}`),
      ['extract->train', `${FEATURIZE}->train`],
    );
    assert.ok(edges.every((e) => e.marker === 'url(#arrow)' && / C /.test(e.d) && e.length > 50));
    assert.strictEqual(await page.locator('marker#arrow path').count(), 1);
  });

  it('posts showLogs, runJob and rerunFrom from the buttons of a box', async () => {
    const before = (await posted()).length;
    const box = page.locator(`g.node[data-job="${FEATURIZE}"]`);
    await box.locator('button[data-action="showLogs"]').click();
    await box.locator('button[data-action="runJob"]').click();
    await page.locator('g.node[data-job="train"] button', { hasText: 'Re-run from here' }).click();
    assert.deepStrictEqual((await posted()).slice(before), [
      { type: 'showLogs', job: FEATURIZE },
      { type: 'runJob', job: FEATURIZE },
      { type: 'rerunFrom', job: 'train' },
    ]);
  });

  it('is usable with the keyboard: Tab reaches the boxes, Enter shows logs, arrows follow edges', async () => {
    await page.locator('svg.graph').focus();
    await page.keyboard.press('Tab');
    assert.strictEqual(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.job), 'extract');
    const before = (await posted()).length;
    await page.keyboard.press('Enter');
    await page.keyboard.press('ArrowRight');
    assert.strictEqual(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.job), 'train');
    await page.keyboard.press('Enter');
    await page.keyboard.press('ArrowLeft');
    assert.strictEqual(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.job), 'extract');
    await page.keyboard.press('ArrowDown');
    assert.strictEqual(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.job), FEATURIZE);
    assert.deepStrictEqual((await posted()).slice(before), [
      { type: 'showLogs', job: 'extract' },
      { type: 'showLogs', job: 'train' },
    ]);
    assert.strictEqual((await state()).focused, FEATURIZE);
    await view.send(buildGraph(PIPELINE)); // a live update keeps the focus on the same job
    await page.waitForFunction((job) => (document.activeElement as HTMLElement).dataset.job === job, FEATURIZE);
    await saveScreenshot(page, 'pipeline-graph');
  });

  it('zooms with the buttons and the wheel, pans by dragging, fits again, and keeps the view in the state', async () => {
    const fitted = await scale();
    await page.locator('button.tool[aria-label="Zoom in"]').click();
    assert.ok(Math.abs((await scale()) - fitted * 1.25) < 0.01);
    await page.locator('svg.graph').hover({ position: { x: 600, y: 300 } });
    await page.mouse.wheel(0, 300);
    assert.ok((await scale()) < fitted * 1.25, 'the wheel zooms out');
    const s1 = await state();
    assert.strictEqual(s1.moved, true);
    await page.mouse.move(1100, 560);
    await page.mouse.down();
    await page.mouse.move(1000, 500, { steps: 4 });
    await page.mouse.up();
    const s2 = await state();
    assert.ok(Math.abs(s2.x - s1.x + 100) < 1 && Math.abs(s2.y - s1.y + 60) < 1, 'dragged by (-100, -60)');
    await page.locator('button.tool', { hasText: 'Fit' }).click();
    assert.strictEqual((await state()).moved, false);
    assert.ok(Math.abs((await scale()) - fitted) < 0.001);
  });

  it('reopens with the saved view, shows a new graph, and the empty and unavailable states', async () => {
    const again = await openWebview(browser, {
      script: 'pipeline-graph',
      css: PIPELINE_CSS,
      viewport: { width: 900, height: 500 },
      state: { scale: 0.5, x: 40, y: 30, moved: true } satisfies PipelineGraphState,
    });
    await again.send(buildGraph(PIPELINE));
    await again.page.waitForSelector('.node');
    assert.strictEqual(
      await again.page.locator('g.viewport').getAttribute('transform'),
      'translate(40.0 30.0) scale(0.5000)',
    );

    await again.send(buildGraph({ projectId: 'p1', jobs: [], edges: [] }));
    await again.page.waitForSelector('.notice:not([hidden])');
    assert.strictEqual(await again.page.locator('.notice .title').innerText(), 'No jobs yet…');
    assert.strictEqual(await again.page.locator('g.node').count(), 0);

    await again.send({ type: 'unavailable', message: 'No project is active: create or select one.' });
    assert.match(await again.page.locator('.notice').innerText(), /No project is active/);
    await again.page.locator('button.tool[aria-label="Refresh"]').click();
    assert.deepStrictEqual(((await again.posted()) as WebviewToHostMessage[]).slice(-1), [{ type: 'refresh' }]);
    assert.deepStrictEqual(again.errors, []);
    assert.deepStrictEqual(await again.violations(), []);
    await again.page.context().close();
  });

  it('routes a long edge through the columns between, and fans out without crossings', async () => {
    const names = ['load', 'clean', 'split', 'train-a', 'train-b', 'evaluate', 'publish'];
    const edges = [
      ['load', 'clean'],
      ['clean', 'split'],
      ['split', 'train-a'],
      ['split', 'train-b'],
      ['train-a', 'evaluate'],
      ['train-b', 'evaluate'],
      ['evaluate', 'publish'],
      ['load', 'publish'],
    ].map(([from, to]) => ({ from, to }));
    const states: JobRun['state'][] = ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'running', 'queued'];
    const wide: Pipeline = {
      projectId: 'p1',
      jobs: names.map((n, i) =>
        job(
          n,
          edges.filter((e) => e.to === n).map((e) => e.from),
          edges.filter((e) => e.from === n).map((e) => e.to),
          i < 6 ? run(`id-${n}`, states[i], i === 4 ? { endedAt: null } : {}) : null,
        ),
      ),
      edges,
    };
    const message = buildGraph(wide);
    const long = message.edges.find((e) => e.from === 'load' && e.to === 'publish')!;
    assert.strictEqual(long.via.length, 4, 'one passage in each of the 4 columns between');
    await view.send(message);
    await page.waitForFunction(() => document.querySelectorAll('g.node').length === 7);
    const classes = await page.locator('g.node').evaluateAll((gs) => gs.map((g) => g.getAttribute('class')));
    assert.ok(classes.includes('node state-running') && classes.includes('node state-never'));
    // the long edge passes no box: sample points along it, none inside a box
    const hits = await page.evaluate(() => {
      const path = document.querySelector<SVGPathElement>('path.edge[data-from="load"][data-to="publish"]')!;
      const boxes = Array.from(document.querySelectorAll<SVGGElement>('g.node')).map((g) => {
        const t = g.transform.baseVal.consolidate()!.matrix;
        return { x: t.e, y: t.f, job: g.dataset.job };
      });
      const inside: string[] = [];
      const total = path.getTotalLength();
      for (let i = 1; i < 100; i++) {
        const p = path.getPointAtLength((total * i) / 100);
        for (const b of boxes) {
          if (p.x > b.x + 1 && p.x < b.x + 247 && p.y > b.y + 1 && p.y < b.y + 95) {
            inside.push(b.job!);
          }
        }
      }
      return inside;
    });
    assert.deepStrictEqual(hits, []);
    await page.locator('button.tool', { hasText: 'Fit' }).click();
    await saveScreenshot(page, 'pipeline-graph-wide');
  });

  it('reports no errors and no CSP violation', async () => {
    assert.deepStrictEqual(view.errors, []);
    assert.deepStrictEqual(await view.violations(), [], 'no CSP violation');
  });
});

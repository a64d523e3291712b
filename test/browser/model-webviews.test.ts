/**
 * The model card and the prediction playground webviews in Chromium without VS Code, under the real
 * CSP: what the host posts is rendered (aliases, lineage with NaN, services, versions, a deleted
 * state; targets, examples, A/B answers and errors), clicks and keys post the right messages, state
 * is kept, and screenshots go to test-artifacts/. Run after a build:
 *   npx webpack --mode production --config-name webviews && npx tsc -p tsconfig.test.json &&
 *   npx mocha --no-config --timeout 120000 --exit out/test/browser/model-webviews.test.js
 */
import * as assert from 'assert';
import type { Browser, Page } from 'playwright-core';
import { buildCard } from '../../src/extension/models/card/content';
import { CARD_CSS } from '../../src/extension/models/card/style';
import { compactJson } from '../../src/extension/models/playground/encode';
import { PLAYGROUND_CSS } from '../../src/extension/models/playground/style';
import type { Model, ModelVersion, ModelVersionDetails } from '../../src/protocol/models';
import type { ModelCardState, WebviewToHostMessage as CardToHost } from '../../src/protocol/webviews/model-card';
import type {
  HostToWebviewMessage as PlaygroundMessage,
  PredictionPlaygroundState,
  WebviewToHostMessage as PlaygroundToHost,
} from '../../src/protocol/webviews/prediction-playground';
import { launchChromium, openWebview, saveScreenshot, type WebviewPage } from './webview-harness';

function version(n: number, extra: Partial<ModelVersion> = {}): ModelVersion {
  return {
    id: `mv${n}`,
    modelId: 'm1',
    projectId: 'p1',
    name: 'iris-classifier',
    version: n,
    sha256: ['9f2c', 'b41e', '07d3', 'e5a8'][n % 4].repeat(16),
    size: 4_812 + 913 * n,
    fileName: 'model.pkl',
    sourcePath: `/home/ada/lab/.mllab/runs/20260301-10000${n}-a1b2c3/artifacts/model.pkl`,
    entryPoint: null,
    experimentId: `20260301-10000${n}-a1b2c3`,
    aliases: [],
    createdAt: `2026-03-0${n}T10:0${n}:00.000Z`,
    operator: 'ada',
    description: '',
    tags: [],
    path: `/home/ada/lab/.mllab/blobs/sha256/${n}`,
    ...extra,
  };
}

const MODEL: Model = {
  id: 'm1',
  projectId: 'p1',
  name: 'iris-classifier',
  description: 'Logistic regression on the iris data set',
  tags: ['sklearn'],
  createdAt: '2026-03-01T10:00:00.000Z',
  aliases: { production: 2, staging: 3 },
  versions: [1, 2, 3].map((n) => version(n, { aliases: n === 2 ? ['production'] : n === 3 ? ['staging'] : [] })),
};

const DETAILS: ModelVersionDetails = {
  ...version(2, {
    aliases: ['production'],
    description: 'Trained on iris:v3 with C=0.5. <script>alert(1)</script> stays text.',
    tags: ['sklearn', 'logistic-regression', 'best-accuracy'],
  }),
  lineage: {
    experimentId: '20260301-100002-a1b2c3',
    experimentName: 'train-iris',
    params: { C: 0.5, solver: 'lbfgs', max_iter: 200, test_size: 0.2, features: ['sepal', 'petal'] },
    metrics: [
      {
        key: 'accuracy',
        count: 20,
        last: 0.9666666667,
        lastStep: 19,
        min: 0.62,
        max: 0.9666666667,
        lastRaw: 0.9666666667,
      },
      { key: 'f1_macro', count: 20, last: 0.9658994, lastStep: 19, min: 0.55, max: 0.9658994, lastRaw: 0.9658994 },
      { key: 'val_loss', count: 20, last: null, lastStep: 19, min: 0.0912, max: 1.0986, lastRaw: 'NaN' },
    ],
    inputs: [
      { dataset: 'iris', version: 3 },
      { dataset: 'iris-extra', version: null },
    ],
  },
  services: [
    { name: 'iris-classifier-v2', status: 'healthy' },
    { name: 'iris-classifier-v2-canary', status: 'unhealthy' },
  ],
};

/** Waits until the body textarea holds `value` (posted messages arrive as tasks, after `send` returns). */
async function bodyIs(page: Page, value: string): Promise<void> {
  await page
    .waitForFunction((v) => document.querySelector<HTMLTextAreaElement>('#body')?.value === v, value, { timeout: 5000 })
    .catch(() => undefined);
  assert.strictEqual(await page.locator('#body').inputValue(), value);
}

const texts = (page: Page, selector: string) =>
  page.$$eval(selector, (nodes) => nodes.map((n) => (n as HTMLElement).innerText.trim()));

describe('model card webview in Chromium', function () {
  let browser: Browser;
  let view: WebviewPage;
  let page: Page;
  const show = buildCard({ version: DETAILS, model: MODEL });
  const posted = async () => (await view.posted()) as CardToHost[];

  before(async () => {
    browser = await launchChromium();
    view = await openWebview(browser, { script: 'model-card', css: CARD_CSS, viewport: { width: 1100, height: 1300 } });
    page = view.page;
    await view.send(show);
    await page.waitForSelector('h1');
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the version: title, alias badges, description as text, tags, details, lineage, services, versions', async () => {
    assert.strictEqual(await page.locator('h1').innerText(), 'iris-classifier v2');
    assert.deepStrictEqual(await texts(page, 'header .badge'), ['@production']);
    assert.strictEqual(
      await page.locator('.description').innerText(),
      'Trained on iris:v3 with C=0.5. <script>alert(1)</script> stays text.',
    );
    assert.deepStrictEqual(await texts(page, '.tag'), ['sklearn', 'logistic-regression', 'best-accuracy']);
    const details = await texts(page, '#details dt');
    assert.deepStrictEqual(details, [
      'File',
      'Size',
      'SHA-256',
      'Created',
      'Loaded as',
      'Registered from',
      'Stored at',
    ]);
    assert.ok((await texts(page, '#details dd')).includes('07d3'.repeat(16)));
    const lineage = await page.locator('#lineage').innerText();
    assert.match(lineage, /train-iris \(20260301-100002-a1b2c3\)/);
    assert.deepStrictEqual(await texts(page, '#lineage table[aria-label=Metrics] tbody tr:nth-child(3) td'), [
      'val_loss',
      'NaN',
      '0.0912',
      '1.099',
      '20',
    ]);
    assert.deepStrictEqual(await texts(page, '#lineage ul li'), ['iris:v3', 'iris-extra (latest at the time)']);
    assert.deepStrictEqual(await texts(page, '#services .status'), ['healthy', 'unhealthy']);
    assert.deepStrictEqual(await texts(page, '#versions button.version'), ['v3', 'v2', 'v1']);
    assert.strictEqual(await page.locator('#versions button[aria-current=true]').innerText(), 'v2');
    assert.deepStrictEqual(await texts(page, 'header vscode-button'), [
      'Deploy',
      'Set Alias…',
      'Prediction Playground',
      'Open Experiment',
      'Reveal File',
      'Copy Path',
    ]);
    assert.deepStrictEqual(view.errors, []);
    assert.deepStrictEqual(await view.violations(), [], 'no CSP violation');
    console.log(`      screenshot: ${await saveScreenshot(page, 'model-card')}`);
  });

  it('posts actions and version switches, by mouse and keyboard', async () => {
    await page.locator('header vscode-button[data-action=deploy]').click();
    await page.locator('header vscode-button[data-action=openExperiment]').focus();
    await page.keyboard.press('Enter');
    await page.locator('#versions button[data-version="3"]').focus();
    await page.keyboard.press('Enter');
    await page.locator('#versions button[data-version="2"]').click(); // the one shown: nothing to do
    const messages = (await posted()).filter((m) => m.type !== 'ready');
    assert.deepStrictEqual(messages, [
      { type: 'action', ref: 'iris-classifier:v2', action: 'deploy' },
      { type: 'action', ref: 'iris-classifier:v2', action: 'openExperiment' },
      { type: 'switchVersion', ref: 'iris-classifier:v2', version: 3 },
    ]);
    const state = (await page.evaluate(() => (window as unknown as { __state: ModelCardState }).__state)).show;
    assert.strictEqual(state.ref, 'iris-classifier:v2');
  });

  it('keeps the focus across a live update and shows a deleted state without actions', async () => {
    await page.locator('#versions button[data-version="1"]').focus();
    await view.send(buildCard({ version: { ...DETAILS, services: [] }, model: MODEL }));
    assert.strictEqual(await page.locator('#services .empty').innerText(), 'Not deployed.');
    assert.strictEqual(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.version), '1');
    await view.send(
      buildCard({
        version: { ...DETAILS, lineage: { ...DETAILS.lineage!, experimentName: null } },
        model: MODEL,
        deleted: 'iris-classifier:v2 was deleted. This is its last known record.',
      }),
    );
    assert.strictEqual(
      await page.locator('.banner[role=alert]').innerText(),
      'iris-classifier:v2 was deleted. This is its last known record.',
    );
    assert.strictEqual(await page.locator('header vscode-button').count(), 0);
    assert.match(await page.locator('#lineage').innerText(), /experiment was deleted/);
    console.log(`      screenshot: ${await saveScreenshot(page, 'model-card-deleted')}`);
  });

  it('renders the saved state at once when a hidden panel returns', async () => {
    // (the harness writes the state into an inline script, so it must not hold "</script>")
    const state: ModelCardState = { show: { ...show, description: 'Logistic regression, C=0.5' } };
    const again = await openWebview(browser, { script: 'model-card', css: CARD_CSS, state });
    assert.strictEqual(await again.page.locator('h1').innerText(), 'iris-classifier v2');
    await again.page.context().close();
  });
});

describe('prediction playground webview in Chromium', function () {
  let browser: Browser;
  let view: WebviewPage;
  let page: Page;
  const posted = async () => ((await view.posted()) as PlaygroundToHost[]).filter((m) => m.type !== 'ready');
  const send = (m: PlaygroundMessage) => view.send(m);
  const setSelect = (selector: string, value: string) =>
    page.evaluate(
      ([selector, value]) => {
        const s = document.querySelector(selector) as HTMLElement & { value: string };
        s.value = value;
        s.dispatchEvent(new Event('change'));
      },
      [selector, value],
    );

  before(async () => {
    browser = await launchChromium();
    view = await openWebview(browser, {
      script: 'prediction-playground',
      css: PLAYGROUND_CSS,
      viewport: { width: 1200, height: 1250 },
    });
    page = view.page;
  });

  after(async () => {
    await browser?.close();
  });

  it('lists model services, preselects two and asks for their /info; an example fills the body', async () => {
    await send({
      type: 'targets',
      targets: [
        {
          service: 'iris-classifier-v2',
          model: 'iris-classifier:v2',
          status: 'healthy',
          url: 'http://127.0.0.1:49160',
        },
        {
          service: 'iris-classifier-v3',
          model: 'iris-classifier:v3',
          status: 'healthy',
          url: 'http://127.0.0.1:49161',
        },
        { service: 'wine-v1', model: 'wine:v1', status: 'unhealthy', url: 'http://127.0.0.1:49170' },
      ],
      datasets: [
        { ref: 'iris:v3', label: 'iris:v3 · 4.4 KB' },
        { ref: 'wine:v1', label: 'wine:v1 · 10 KB' },
      ],
      selected: ['iris-classifier-v2', 'iris-classifier-v3'],
      note: '',
    });
    await page.waitForSelector('vscode-checkbox');
    assert.deepStrictEqual(await posted(), [
      { type: 'info', service: 'iris-classifier-v2' },
      { type: 'info', service: 'iris-classifier-v3' },
    ]);
    const checked = await page.$$eval('vscode-checkbox', (boxes) =>
      boxes.map((b) => [(b as HTMLElement).dataset.service, (b as unknown as { checked: boolean }).checked]),
    );
    assert.deepStrictEqual(checked, [
      ['iris-classifier-v2', true],
      ['iris-classifier-v3', true],
      ['wine-v1', false],
    ]);
    const example = compactJson({
      dataframe_split: {
        columns: ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)'],
        data: [[0, 0, 0, 0]],
      },
    });
    for (const service of ['iris-classifier-v2', 'iris-classifier-v3']) {
      await send({
        type: 'info',
        service,
        summary: `${service.replace('-v', ':v')} · sklearn.linear_model._logistic.LogisticRegression · 4 features`,
        example,
        featureNames: null,
        nFeatures: 4,
      });
    }
    await bodyIs(page, example);
    assert.match(await page.locator('.targets').innerText(), /LogisticRegression · 4 features/);
    // edited by the person, then the example back by the keyboard
    await page.locator('#body').fill('{"inputs": [[1, 2, 3, 4]]}');
    await page.locator('#example').focus();
    await page.keyboard.press('Enter');
    await bodyIs(page, example);
  });

  it('builds the body from CSV rows through the host', async () => {
    await setSelect('#dataset', 'iris:v3');
    await send({
      type: 'columns',
      dataset: 'iris:v3',
      columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species'],
      selected: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
      note: '5 columns',
    });
    await page.waitForFunction(() => document.querySelectorAll('#columns vscode-option').length === 5);
    await page.locator('#from').fill('48');
    await page.locator('#to').fill('52');
    await page.locator('#to').dispatchEvent('change');
    await setSelect('#format', 'dataframe_records');
    await page.locator('#use-rows').click();
    const last = (await posted()).slice(-2);
    assert.deepStrictEqual(last, [
      { type: 'columns', dataset: 'iris:v3', service: 'iris-classifier-v2' },
      {
        type: 'buildPayload',
        dataset: 'iris:v3',
        from: 48,
        to: 52,
        columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
        format: 'dataframe_records',
      },
    ]);
    const payload = compactJson({
      inputs: [
        [4.6, 3.2, 1.4, 0.2],
        [5.3, 3.7, 1.5, 0.2],
        [5.0, 3.3, 1.4, 0.2],
        [7.0, 3.2, 4.7, 1.4],
        [6.4, 3.2, 4.5, 1.5],
      ],
    });
    await send({ type: 'payload', payload, note: 'rows 48-52 of iris:v3, 4 columns, as inputs' });
    await bodyIs(page, payload);
    assert.strictEqual(
      await page.locator('p.note[role=status]').innerText(),
      'rows 48-52 of iris:v3, 4 columns, as inputs',
    );
  });

  it('sends to both services (Ctrl+Enter) and shows the answers side by side with status and latency', async () => {
    await page.locator('#body').focus();
    await page.keyboard.press('Control+Enter');
    const sent = (await posted()).slice(-1)[0] as Extract<PlaygroundToHost, { type: 'send' }>;
    assert.strictEqual(sent.type, 'send');
    assert.deepStrictEqual(sent.services, ['iris-classifier-v2', 'iris-classifier-v3']);
    assert.strictEqual(sent.route, '/predict');
    await send({
      type: 'results',
      requestId: sent.requestId,
      results: [
        {
          service: 'iris-classifier-v2',
          model: 'iris-classifier:v2',
          status: 200,
          ok: true,
          latencyMs: 3.4,
          body: compactJson({ predictions: [0, 0, 0, 1, 1] }),
          error: null,
        },
        {
          service: 'iris-classifier-v3',
          model: 'iris-classifier:v3',
          status: 400,
          ok: false,
          latencyMs: 1.9,
          body: compactJson({
            error: { status: 400, message: 'row 0 has 4 values, but the model expects 3 features per row' },
          }),
          error: '400: row 0 has 4 values, but the model expects 3 features per row',
        },
      ],
    });
    await page.waitForSelector('article.result');
    assert.strictEqual(await page.locator('section h2').innerText(), 'Answers (A/B)');
    assert.deepStrictEqual(await texts(page, 'article.result h3'), [
      'A: iris-classifier-v2 · iris-classifier:v2',
      'B: iris-classifier-v3 · iris-classifier:v3',
    ]);
    assert.deepStrictEqual(await texts(page, 'article.result .status-code'), ['HTTP 200', 'HTTP 400']);
    assert.deepStrictEqual(await texts(page, 'article.result .latency'), ['3.4 ms', '1.9 ms']);
    assert.deepStrictEqual(await texts(page, 'article.result .error[role=alert]'), [
      '400: row 0 has 4 values, but the model expects 3 features per row',
    ]);
    // the two answers sit side by side
    const boxes = await page.$$eval('article.result', (n) => n.map((e) => e.getBoundingClientRect().top));
    assert.strictEqual(boxes[0], boxes[1]);
    assert.deepStrictEqual(view.errors, []);
    assert.deepStrictEqual(await view.violations(), [], 'no CSP violation');
    console.log(`      screenshot: ${await saveScreenshot(page, 'prediction-playground')}`);
  });

  it('keeps choices and answers in its state; an answer to an older request is ignored; A/B holds two at most', async () => {
    await send({ type: 'results', requestId: 999, results: [] });
    assert.strictEqual(await page.locator('article.result').count(), 2);
    await page.locator('vscode-checkbox[data-service=wine-v1]').click();
    const state = await page.evaluate(() => (window as unknown as { __state: PredictionPlaygroundState }).__state);
    assert.deepStrictEqual(state.services, ['iris-classifier-v3', 'wine-v1']);
    assert.strictEqual(state.dataset, 'iris:v3');
    assert.strictEqual(state.format, 'dataframe_records');
    assert.deepStrictEqual([state.from, state.to], [48, 52]);
    assert.strictEqual(state.results.length, 2);
    assert.deepStrictEqual((await posted()).slice(-1), [{ type: 'info', service: 'wine-v1' }]);

    const again = await openWebview(browser, { script: 'prediction-playground', css: PLAYGROUND_CSS, state });
    assert.strictEqual(await again.page.locator('article.result').count(), 2);
    assert.strictEqual(await again.page.locator('#body').inputValue(), state.body);
    await again.page.context().close();
  });

  it('says when nothing is deployed', async () => {
    const empty = await openWebview(browser, { script: 'prediction-playground', css: PLAYGROUND_CSS });
    await empty.send({
      type: 'targets',
      targets: [],
      datasets: [],
      selected: [],
      note: 'No model service is deployed in this project: deploy a model version first (Models view, Deploy).',
    });
    await empty.page.waitForFunction(() => /No model service/.test(document.querySelector('fieldset')!.textContent!));
    await empty.page.locator('#send').click();
    assert.strictEqual(await empty.page.locator('#example + .note').innerText(), 'Choose a service first.');
    await empty.page.context().close();
  });
});

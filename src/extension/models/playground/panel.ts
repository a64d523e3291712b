import * as vscode from 'vscode';
import { readCsvHead } from '../../../common/csv/head';
import type { DatasetVersion } from '../../../protocol/datasets';
import type {
  HostToWebviewMessage,
  InfoMessage,
  PayloadMessage,
  PredictionResult,
  TargetsMessage,
  WebviewToHostMessage,
} from '../../../protocol/webviews/prediction-playground';
import type { BackendService } from '../../backend/backend-service';
import { WebviewPanelHost } from '../../common/webview/panel-host';
import {
  checkRange,
  compactJson,
  defaultColumns,
  encodeRows,
  examplePayload,
  selectColumns,
  summarizeInfo,
  type ModelServerInfo,
} from './encode';
import { request } from './http';
import { PLAYGROUND_CSS } from './style';
import { csvDatasets, modelTargets, predict, type ModelTarget } from './targets';

/** Rows of a CSV that one request may carry: the playground tries a model, it does not score files. */
export const MAX_ROWS = 1000;
/** How long GET /info may take. */
const INFO_TIMEOUT_MS = 5000;

export interface PlaygroundDeps {
  readonly backend: BackendService;
  readonly reportError: (message: string) => void;
}

/**
 * The prediction playground: one panel that sends a JSON body (typed, or built from rows of a CSV
 * dataset) to one or two deployed model services and shows each answer side by side. Every HTTP
 * call is made here, in the extension host, to 127.0.0.1 (the page's CSP forbids network access).
 */
export class PredictionPlaygroundPanel extends WebviewPanelHost<HostToWebviewMessage, WebviewToHostMessage> {
  private targets: ModelTarget[] = [];
  private datasets = new Map<string, DatasetVersion>();
  private note = '';
  /** services to preselect in the page, until a ready page got them */
  private pendingSelection: string[] = [];
  private readonly infos = new Map<string, ModelServerInfo>();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  /** the project whose services and datasets are offered; undefined = the active project */
  private project: string | undefined;
  private _lastResults: readonly PredictionResult[] = [];

  constructor(
    extensionUri: vscode.Uri,
    private readonly deps: PlaygroundDeps,
  ) {
    super(extensionUri, {
      viewType: 'mllab.predictionPlayground',
      title: 'Prediction Playground',
      script: 'prediction-playground',
      css: PLAYGROUND_CSS,
    });
    this._register({ dispose: () => clearTimeout(this.refreshTimer) });
  }

  /** The model services offered, for tests. */
  get offered(): readonly ModelTarget[] {
    return this.targets;
  }

  /** The answers of the last send, for tests. */
  get lastResults(): readonly PredictionResult[] {
    return this._lastResults;
  }

  /** Opens (or reveals) the playground with `select` (service names, at most two) preselected. */
  async show(select: readonly string[] = [], project?: string): Promise<void> {
    this.project = project;
    this.pendingSelection = select.slice(0, 2);
    await this.refresh();
    this.showPanel('Prediction Playground');
  }

  /** Reloads the services and datasets after a service event, at most once per burst. */
  refreshSoon(): void {
    if (this.isDisposed || !this.panel) {
      return;
    }
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refresh().catch(() => undefined); // the backend went away: a reconnect refreshes again
    }, 200);
  }

  async refresh(): Promise<void> {
    const client = await this.deps.backend.ready();
    const [services, datasets] = await Promise.all([
      client.listServices(this.project),
      client.listDatasets(this.project).catch(() => []),
    ]);
    if (this.isDisposed) {
      return;
    }
    this.targets = modelTargets(services);
    const versions = datasets.flatMap((d) => [...d.versions].reverse());
    this.datasets = new Map(versions.map((v) => [`${v.name}:v${v.version}`, v]));
    this.note =
      this.targets.length === 0
        ? 'No model service is deployed in this project: deploy a model version first (Models view, Deploy).'
        : '';
    this.postTargets();
  }

  /** Handles a message of the page (public so tests can drive the same path as the page). */
  async perform(message: WebviewToHostMessage): Promise<void> {
    switch (message.type) {
      case 'refresh':
        await this.refresh();
        return;
      case 'info':
        this.post(await this.info(message.service));
        return;
      case 'columns':
        this.post(await this.columns(message.dataset, message.service));
        return;
      case 'buildPayload':
        this.post(await this.buildPayload(message));
        return;
      case 'send': {
        const results = await this.send(message.services, message.route, message.body);
        this.post({ type: 'results', requestId: message.requestId, results });
        return;
      }
    }
  }

  /** Sends `body` to each of `services` at the same time. */
  async send(
    services: readonly string[],
    route: '/predict' | '/invocations',
    body: string,
  ): Promise<PredictionResult[]> {
    const chosen = services.slice(0, 2).map((name) => this.targets.find((t) => t.service === name));
    let problem: string | undefined;
    if (route !== '/predict' && route !== '/invocations') {
      throw new Error(`Unknown route ${String(route)}: use /predict or /invocations.`);
    }
    try {
      JSON.parse(body);
    } catch (e) {
      problem = `The body is not JSON: ${e instanceof Error ? e.message : String(e)}`;
    }
    const results = await Promise.all(
      chosen.map((target, i): Promise<PredictionResult> | PredictionResult => {
        if (!target) {
          return failed(services[i], '', 'the service is not deployed (any more)');
        }
        return problem ? failed(target.service, target.model, problem) : predict(target, route, body);
      }),
    );
    this._lastResults = results;
    return results;
  }

  protected replay(): HostToWebviewMessage[] {
    const message = this.targetsMessage();
    this.pendingSelection = []; // posted now: a page shown again later keeps the person's choice
    return [message];
  }

  protected onMessage(message: WebviewToHostMessage): void {
    this.perform(message).catch((e: unknown) =>
      this.deps.reportError(`ML Lab: ${e instanceof Error ? e.message : String(e)}`),
    );
  }

  private targetsMessage(): TargetsMessage {
    return {
      type: 'targets',
      targets: this.targets.map(({ service, model, status, url }) => ({ service, model, status, url })),
      datasets: csvDatasets([...this.datasets.values()]),
      selected: this.pendingSelection,
      note: this.note,
    };
  }

  private postTargets(): void {
    const message = this.targetsMessage();
    this.post(message);
    if (this.lastPosted === message) {
      this.pendingSelection = []; // the page has them; later updates keep the person's choice
    }
  }

  private async info(service: string): Promise<InfoMessage> {
    const target = this.targets.find((t) => t.service === service);
    const none = (summary: string): InfoMessage => ({
      type: 'info',
      service,
      summary,
      example: null,
      featureNames: null,
      nFeatures: null,
    });
    if (!target || target.hostPort === null) {
      return none(target ? 'the service publishes no port on 127.0.0.1' : 'the service is not deployed (any more)');
    }
    const answer = await request({ port: target.hostPort, method: 'GET', path: '/info', timeoutMs: INFO_TIMEOUT_MS });
    if (answer.error || answer.status !== 200) {
      const why = answer.error ?? `GET /info answered ${answer.status}`;
      return none(target.status === 'healthy' ? why : `the service is ${target.status}: ${why}`);
    }
    let info: ModelServerInfo;
    try {
      info = JSON.parse(answer.text) as ModelServerInfo;
    } catch {
      return none('GET /info did not answer JSON: is this a model server?');
    }
    this.infos.set(service, info);
    return {
      type: 'info',
      service,
      summary: summarizeInfo(info),
      example: examplePayload(info),
      featureNames: info.featureNames ? [...info.featureNames] : null,
      nFeatures: typeof info.nFeatures === 'number' ? info.nFeatures : null,
    };
  }

  private dataset(ref: string): DatasetVersion {
    const version = this.datasets.get(ref);
    if (!version) {
      throw new Error(`The dataset version ${ref} is not in this project (any more).`);
    }
    return version;
  }

  private async columns(ref: string, service: string | undefined) {
    const version = this.dataset(ref);
    const head = await readCsvHead(version.path, { maxRows: 0, fileName: version.fileName });
    const selected = defaultColumns(head.header, service ? this.infos.get(service) : undefined);
    return {
      type: 'columns' as const,
      dataset: ref,
      columns: head.header,
      selected,
      note: `${head.header.length} columns`,
    };
  }

  private async buildPayload(m: Extract<WebviewToHostMessage, { type: 'buildPayload' }>): Promise<PayloadMessage> {
    try {
      const { from, to } = checkRange(m.from, m.to, MAX_ROWS);
      if (m.columns.length === 0) {
        throw new Error('Choose at least one column.');
      }
      const version = this.dataset(m.dataset);
      const head = await readCsvHead(version.path, { maxRows: to, fileName: version.fileName });
      const rows = head.rows.slice(from - 1, to);
      if (rows.length === 0) {
        throw new Error(`${m.dataset} has only ${head.rows.length} rows.`);
      }
      const body = encodeRows(m.columns, selectColumns(head.header, rows, m.columns), m.format);
      const last = from + rows.length - 1;
      const short = last < to ? ` (the file ends at row ${last})` : '';
      return {
        type: 'payload',
        payload: compactJson(body),
        note: `rows ${from}-${last} of ${m.dataset}, ${m.columns.length} columns, as ${m.format}${short}`,
      };
    } catch (e) {
      return { type: 'payload', payload: null, note: e instanceof Error ? e.message : String(e) };
    }
  }
}

function failed(service: string, model: string, error: string): PredictionResult {
  return { service, model, status: null, ok: false, latencyMs: null, body: '', error };
}

import * as vscode from 'vscode';
import type { BackendEvent } from '../../../protocol/api';
import type { Experiment } from '../../../protocol/experiments';
import { describeRuns, runLabels, type LabelSource } from '../../../protocol/run-label';
import type {
  AppendMessage,
  ChartRun,
  ChartSeries,
  HostToWebviewMessage,
  InitMessage,
  SeriesMessage,
  WebviewToHostMessage,
} from '../../../protocol/webviews/metric-charts';
import type { BackendService } from '../../backend/backend-service';
import { toDisposable } from '../../common/lifecycle';
import { WebviewPanelHost } from '../../common/webview/panel-host';
import { seriesToCsv } from './csv';
import { LiveBatcher } from './live';
import { SeriesLoader, toChartSeries } from './loader';
import { CHARTS_CSS } from './style';

/** maxPoints the backend accepts at most */
const MAX_POINTS = 1_000_000;

export const maxPointsFor = (pixels: number) =>
  Math.min(MAX_POINTS, Math.max(2, Math.round(2 * (Number.isFinite(pixels) && pixels > 0 ? pixels : 1000))));

/** Where a save dialog put a file; replaced by tests. */
export type SaveDialog = (options: vscode.SaveDialogOptions) => Thenable<vscode.Uri | undefined>;

/**
 * The metric charts panel: one panel, showing the runs last asked for. Series are fetched
 * downsampled for the width the page reports, when its charts scroll into view; zooms re-query the
 * visible range; points of running runs are appended live.
 */
export class MetricChartsPanel extends WebviewPanelHost<HostToWebviewMessage, WebviewToHostMessage> {
  private runs: ChartRun[] = [];
  /** what the runs' labels are made of (name and params), by id */
  private sources = new Map<string, LabelSource>();
  private keys: string[] = [];
  private readonly loader: SeriesLoader;
  private readonly live: LiveBatcher;
  private _seriesPosted = 0;
  private _lastSeries: SeriesMessage | undefined;
  private _livePointsPosted = 0;
  private _drawnCharts: readonly { readonly key: string; readonly points: number }[] = [];
  saveDialog: SaveDialog = (options) => vscode.window.showSaveDialog(options);
  private readonly _onDidPaint = this._register(new vscode.EventEmitter<void>());
  /** the page painted its first chart with points (after a show, or a reload of a hidden panel) */
  readonly onDidPaint = this._onDidPaint.event;

  constructor(
    extensionUri: vscode.Uri,
    private readonly backend: BackendService,
  ) {
    super(extensionUri, {
      viewType: 'mllab.metricCharts',
      title: 'Metric Charts',
      script: 'metric-charts',
      css: CHARTS_CSS,
      stylesheets: ['uplot'],
    });
    this.loader = new SeriesLoader(async (runId, key, options) =>
      (await this.backend.ready()).getMetricSeries(runId, key, options),
    );
    this.live = this._register(new LiveBatcher((points) => this.postLive(points)));
    this._register(backend.onDidReceiveEvent((e) => this.onBackendEvent(e)));
    this._register(
      backend.onDidChangeState((s) => {
        if (s.kind === 'connected' && this.runs.length > 0) {
          this.loader.clear(); // a reconnect: points may have been missed meanwhile
          this.post(this.init());
        }
      }),
    );
    this._register(toDisposable(() => this.loader.clear()));
  }

  /** The runs shown, for tests. */
  get shownRuns(): readonly ChartRun[] {
    return this.runs;
  }

  /** How many series were posted to the page, for tests. */
  get seriesPosted(): number {
    return this._seriesPosted;
  }

  /** The last series message posted, for tests (other messages may follow it: live runs, status). */
  get lastSeries(): SeriesMessage | undefined {
    return this._lastSeries;
  }

  /** The charts the page last said it drew, with their points, for tests. */
  get drawnCharts(): readonly { readonly key: string; readonly points: number }[] {
    return this._drawnCharts;
  }

  /** How many live points were posted to the page, for tests. */
  get livePointsPosted(): number {
    return this._livePointsPosted;
  }

  /** Opens the panel (or reveals it) with these runs; their keys' series load as the charts appear. */
  show(experiments: readonly Experiment[]): void {
    this.sources = new Map(experiments.map((e) => [e.id, { id: e.id, name: e.name, params: e.params }]));
    const labels = runLabels([...this.sources.values()]);
    this.runs = experiments.map((e, i) => ({
      id: e.id,
      name: e.name,
      label: labels.get(e.id) ?? e.name,
      colour: i,
      status: e.status,
      startedAt: Date.parse(e.startedAt),
    }));
    this.keys = [...new Set(experiments.flatMap((e) => e.metrics.map((m) => m.key)))].sort();
    this.loader.clear();
    this.live.reset();
    this._drawnCharts = [];
    this.showPanel(`Metrics: ${describeRuns(experiments)}`);
    this.post(this.init());
  }

  protected replay(): HostToWebviewMessage[] {
    return [this.init(this.loader.cached())];
  }

  protected onMessage(message: WebviewToHostMessage): void {
    switch (message.type) {
      case 'load':
        void this.load(message.keys, message.pixels);
        break;
      case 'requestRange':
        void this.range(message);
        break;
      case 'exportCsv':
        void this.exportCsv(message.keys).catch((e: Error) =>
          vscode.window.showErrorMessage(`ML Lab: could not export the CSV: ${e.message}`),
        );
        break;
      case 'drawn':
        this._drawnCharts = message.charts;
        break;
      case 'painted':
        this._onDidPaint.fire();
        break;
      case 'exportPng':
        void this.exportPng(message.key, message.dataUrl).catch((e: Error) =>
          vscode.window.showErrorMessage(`ML Lab: could not export the PNG: ${e.message}`),
        );
        break;
    }
  }

  protected onPanelClosed(): void {
    this.runs = [];
    this.keys = [];
    this.loader.clear();
    this.live.reset();
  }

  private init(series: ChartSeries[] = []): InitMessage {
    return { type: 'init', runs: this.runs, keys: this.keys, series };
  }

  private postSeries(keys: readonly string[], series: ChartSeries[], range?: SeriesMessage['range']): void {
    this._seriesPosted += series.length;
    this._lastSeries = { type: 'series', keys, series, ...(range ? { range } : {}) };
    this.post(this._lastSeries);
  }

  private async load(keys: readonly string[], pixels: number): Promise<void> {
    const runs = this.runs;
    const series = await this.loader.load(
      runs.map((r) => r.id),
      keys,
      maxPointsFor(pixels),
    );
    if (runs === this.runs) {
      this.postSeries(keys, series);
    }
  }

  private async range(m: Extract<WebviewToHostMessage, { type: 'requestRange' }>): Promise<void> {
    const runs = this.runs;
    const known = new Set(runs.map((r) => r.id));
    const series = await this.loader.range(
      m.runIds.filter((id) => known.has(id)),
      m.key,
      m.from,
      m.to,
      maxPointsFor(m.pixels),
    );
    if (runs === this.runs) {
      this.postSeries([m.key], series, { key: m.key, from: m.from, to: m.to, requestId: m.requestId });
    }
  }

  private onBackendEvent(e: BackendEvent): void {
    if (this.runs.length === 0) {
      return;
    }
    if (e.type === 'metricPoints') {
      if (this.runs.some((r) => r.id === e.runId)) {
        this.live.add(e.runId, e.key, e.steps, e.values, e.times);
      }
    } else if (e.type === 'experimentUpdated') {
      const x = e.experiment;
      const i = this.runs.findIndex((r) => r.id === x.id);
      if (i >= 0 && (this.runs[i].status !== x.status || this.runs[i].name !== x.name)) {
        this.sources.set(x.id, { id: x.id, name: x.name, params: x.params });
        const labels = runLabels([...this.sources.values()]);
        this.runs = this.runs.map((r, j) => ({
          ...r,
          ...(j === i ? { status: x.status, name: x.name } : {}),
          label: labels.get(r.id) ?? r.label,
        }));
        this.post({ type: 'runs', runs: this.runs });
      }
    } else if (e.type === 'experimentDeleted') {
      if (this.runs.some((r) => r.id === e.id && r.status !== 'deleted')) {
        // kept in the charts, greyed, until the panel shows other runs: the person was looking at it
        this.runs = this.runs.map((r) => (r.id === e.id ? { ...r, status: 'deleted' } : r));
        this.post({ type: 'runs', runs: this.runs });
      }
    }
  }

  private postLive(points: AppendMessage['points']): void {
    const known = new Set(this.keys);
    const newKeys = [...new Set(points.map((p) => p.key).filter((k) => !known.has(k)))].sort();
    if (newKeys.length > 0) {
      this.keys = [...this.keys, ...newKeys].sort();
    }
    for (const p of points) {
      this.loader.append(p.runId, p.key, p.steps, p.times, p.values);
    }
    this._livePointsPosted += points.reduce((n, p) => n + p.steps.length, 0);
    this.post({ type: 'append', points, newKeys });
  }

  private async exportCsv(keys: readonly string[]): Promise<void> {
    const runs = this.runs;
    const chosen = keys.length > 0 ? keys : this.keys;
    const uri = await this.saveDialog({
      title: 'Export Metrics as CSV',
      filters: { CSV: ['csv'] },
      defaultUri: this.defaultUri(`${chosen.length === 1 ? chosen[0] : 'metrics'}.csv`),
    });
    if (!uri) {
      return;
    }
    const client = await this.backend.ready();
    const series: ChartSeries[] = [];
    for (const key of chosen) {
      for (const run of runs) {
        try {
          series.push(toChartSeries(run.id, await client.getMetricSeries(run.id, key)));
        } catch {
          // this run has no such key (or was deleted): nothing to write
        }
      }
    }
    await vscode.workspace.fs.writeFile(uri, Buffer.from(seriesToCsv(runs, series), 'utf8'));
    void vscode.window.showInformationMessage(`Exported ${series.length} series to ${uri.fsPath}`);
  }

  private async exportPng(key: string, dataUrl: string): Promise<void> {
    const match = /^data:image\/png;base64,([A-Za-z0-9+/=]+)$/.exec(dataUrl);
    if (!match) {
      throw new Error('the chart did not render as a PNG image');
    }
    const uri = await this.saveDialog({
      title: 'Export Chart as PNG',
      filters: { 'PNG image': ['png'] },
      defaultUri: this.defaultUri(`${key}.png`),
    });
    if (uri) {
      await vscode.workspace.fs.writeFile(uri, Buffer.from(match[1], 'base64'));
    }
  }

  private defaultUri(file: string): vscode.Uri | undefined {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    return folder && vscode.Uri.joinPath(folder, file.replace(/[^\w.-]+/g, '_'));
  }
}

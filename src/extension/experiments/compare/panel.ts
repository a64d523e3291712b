import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { deriveColumns, encodeRow, sameColumns } from '../../../common/compare/columns';
import type { Experiment } from '../../../protocol/experiments';
import type {
  ColumnDef,
  HostToWebviewMessage,
  TableMessage,
  WebviewToHostMessage,
  WireRow,
} from '../../../protocol/webviews/compare-table';
import { describeRuns } from '../../../protocol/run-label';
import type { BackendService } from '../../backend/backend-service';
import { Commands } from '../../common/commands';
import { WebviewPanelHost } from '../../common/webview/panel-host';
import type { ProjectsModel } from '../../projects/projects-model';
import type { ExperimentsModel } from '../experiments-model';
import { tableCsv, writeFileAtomic } from './export';
import { COMPARE_CSS } from './style';
import { TableRows } from './table-rows';

/** A set of runs the table is limited to (a sweep's trials), and how to show them first. */
export interface CompareScope {
  /** what the runs are, for the tab's title: `sweep lr-search` */
  readonly label: string;
  readonly includes: (e: Experiment) => boolean;
  readonly show?: TableMessage['show'];
}

/**
 * The compare table panel: every experiment of the active project as a row. The panel sends the
 * table on each `ready`: its columns and first rows, then the other rows in bounded chunks as the
 * page asks for them (table-rows.ts); later only the rows that changed (a running run's metrics) or
 * went away. Sorting, filtering and scrolling live in the webview and survive all of these.
 */
export class CompareTable extends WebviewPanelHost<HostToWebviewMessage, WebviewToHostMessage> {
  private columns: ColumnDef[] = [];
  /** the rows as last sent, by id, in the model's order (newest first) */
  private readonly rows = new TableRows();
  private projectId: string | undefined;
  /** a selection to apply with the next `table` */
  private pendingSelect: readonly string[] | undefined;
  /** the runs shown when not all of the project's */
  private scope: CompareScope | undefined;
  /** the scope's view to switch to with the next `table` (once: the person may switch back) */
  private pendingShow: TableMessage['show'];

  /** Asks where to save a CSV export; the integration tests replace it. */
  pickCsvTarget: (suggested: vscode.Uri) => Thenable<vscode.Uri | undefined> = (defaultUri) =>
    vscode.window.showSaveDialog({ defaultUri, filters: { CSV: ['csv'] }, title: 'Export Compare Table as CSV' });

  /** The last CSV file written, for tests. */
  lastExport: string | undefined;

  private readonly _onDidPaint = this._register(new vscode.EventEmitter<number>());
  /** the page painted its first table (with this many rows) since it loaded */
  readonly onDidPaint = this._onDidPaint.event;

  private readonly _onDidLoad = this._register(new vscode.EventEmitter<number>());
  /** every row of a table arrived in the page (this many) and was painted */
  readonly onDidLoad = this._onDidLoad.event;

  constructor(
    extensionUri: vscode.Uri,
    private readonly model: ExperimentsModel,
    private readonly projects: ProjectsModel,
    private readonly backend: BackendService,
  ) {
    super(extensionUri, {
      viewType: 'mllab.compareTable',
      title: 'Compare Experiments',
      script: 'compare-table',
      css: COMPARE_CSS,
    });
    this._register(model.onDidChange(() => this.modelChanged()));
  }

  /** The columns and rows as last sent, for tests. */
  get table(): { columns: readonly ColumnDef[]; rows: readonly WireRow[] } {
    return { columns: this.columns, rows: this.rows.wires };
  }

  /**
   * Opens (or reveals) the table; `select` preselects those experiments' rows. With a `scope` it
   * shows only those runs (until it is opened again without one).
   */
  show(select?: readonly string[], scope?: CompareScope): void {
    const open = this.panel !== undefined;
    const rescoped = scope !== undefined || this.scope !== undefined;
    this.scope = scope;
    this.pendingShow = scope?.show;
    this.showPanel(this.title());
    if (!open || rescoped) {
      this.rebuild();
      this.pendingSelect = select;
      if (open) {
        this.post(this.tableMessage());
      }
    } else if (select) {
      this.pendingSelect = select;
      this.post({ type: 'select', ids: select });
    }
  }

  protected replay(): HostToWebviewMessage[] {
    return [this.tableMessage()];
  }

  protected onMessage(message: WebviewToHostMessage): void {
    switch (message.type) {
      case 'openExperiment': {
        const experiment = this.model.items.find((e) => e.id === message.id);
        if (experiment) {
          void vscode.commands.executeCommand(Commands.showExperiment, experiment);
        }
        break;
      }
      case 'chart':
        // the charts command takes (clicked, selected) like a tree context menu; ids are accepted
        Promise.resolve(
          vscode.commands.executeCommand(Commands.showMetricCharts, message.ids[0], [...message.ids]),
        ).catch((e: unknown) =>
          this.post({ type: 'notice', level: 'error', text: `Could not open the charts: ${(e as Error).message}` }),
        );
        break;
      case 'moreRows': {
        const chunk = this.rows.more(message.table, message.from);
        if (chunk) {
          this.post(chunk);
        }
        break;
      }
      case 'painted':
        this._onDidPaint.fire(message.rows);
        break;
      case 'loaded':
        this._onDidLoad.fire(message.rows);
        break;
      case 'exportCsv':
        this.exportCsv(message.columns, message.ids).catch((e: unknown) =>
          this.post({ type: 'notice', level: 'error', text: `Export failed: ${(e as Error).message}` }),
        );
        break;
    }
  }

  protected onPanelClosed(): void {
    this.rows.clear();
    this.columns = [];
    this.pendingSelect = undefined;
    this.scope = undefined;
    this.pendingShow = undefined;
  }

  /** What the tab compares: `Compare: 12 runs of train` (the project's runs; the project is in the view). */
  private title(): string {
    if (this.scope) {
      return `Compare: ${this.scope.label}`;
    }
    const runs = this.model.items;
    return runs.length > 0 ? `Compare: ${describeRuns(runs)}` : 'Compare Experiments';
  }

  /** Derives the columns and rows from scratch. */
  /** The runs shown: the project's, or those of the scope. */
  private items(): readonly Experiment[] {
    const scope = this.scope;
    return scope ? this.model.items.filter((e) => scope.includes(e)) : this.model.items;
  }

  private rebuild(): void {
    const items = this.items();
    this.columns = deriveColumns(items);
    this.rows.reset(this.encode(items, this.columns));
    this.projectId = this.projects.activeProject?.id;
  }

  private encode(items: readonly Experiment[], columns: readonly ColumnDef[]): WireRow[] {
    return items.map((e) => encodeRow(e, columns));
  }

  /** The columns and the first rows; the page asks for the others (`moreRows`). */
  private tableMessage(): TableMessage {
    const select = this.pendingSelect;
    this.pendingSelect = undefined;
    const first = this.rows.start();
    const show = this.pendingShow;
    this.pendingShow = undefined;
    return {
      type: 'table',
      project: this.projects.activeProject?.name ?? null,
      columns: this.columns,
      ...first,
      ...(select ? { select } : {}),
      ...(show ? { show } : {}),
      ...(first.total === 0 ? { empty: this.emptyReason() } : {}),
    };
  }

  private emptyReason(): string {
    if (this.backend.state.kind !== 'connected') {
      return 'The ML Lab backend is not running: see the Projects view.';
    }
    if (!this.projects.activeProject) {
      return 'Choose or create a project first: experiments belong to the active project (ML Lab: Select Active Project).';
    }
    if (this.scope) {
      return `No runs of ${this.scope.label} yet: they are listed here as they start.`;
    }
    return 'No experiments yet — run a script with ML Lab: Run as Experiment, or `mllab run -- python train.py` in a terminal.';
  }

  /**
   * Sends what changed: the whole table when the columns or the project changed, else the changed
   * and deleted rows (but those still to come with a chunk of the table).
   */
  private modelChanged(): void {
    if (!this.panel) {
      return; // rebuilt when opened
    }
    this.panel.title = this.title();
    const items = this.items();
    const columns = deriveColumns(items);
    if (this.projectId !== this.projects.activeProject?.id || !sameColumns(columns, this.columns)) {
      this.rebuild();
      this.post(this.tableMessage());
      return;
    }
    const { changed, deleted } = this.rows.update(this.encode(items, columns));
    if (deleted.length > 0) {
      this.post({ type: 'deleteRows', ids: deleted });
    }
    if (changed.length > 0) {
      this.post({ type: 'rows', rows: changed });
    }
  }

  private async exportCsv(columnIds: readonly string[], rowIds: readonly string[]): Promise<void> {
    const csv = tableCsv(this.columns, this.rows.byId(), columnIds, rowIds);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir());
    const name = `${(this.projects.activeProject?.name ?? 'experiments').replace(/[^\w.-]+/g, '-')}-compare.csv`;
    const target = await this.pickCsvTarget(vscode.Uri.joinPath(folder, name));
    if (!target) {
      return;
    }
    await writeFileAtomic(target.fsPath, csv);
    this.lastExport = target.fsPath;
    this.post({
      type: 'notice',
      level: 'info',
      text: `Exported ${rowIds.length} row${rowIds.length === 1 ? '' : 's'} to ${path.basename(target.fsPath)}.`,
    });
  }
}

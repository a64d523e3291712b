import { RECORD_PAGE_CSS } from '../../common/webview/record-css';

/** Styles of the sweep page: the record page's, a state badge, the two charts side by side, the trials table's links. */
export const SWEEP_PAGE_CSS = `${RECORD_PAGE_CSS}
.state { padding: 1px 8px; border-radius: 10px; border: 1px solid var(--vscode-widget-border, currentColor); }
.state.running { color: var(--vscode-charts-blue); } .state.finished { color: var(--vscode-testing-iconPassed); }
.state.failed { color: var(--vscode-errorForeground); } .state.paused, .state.stopped { color: var(--vscode-descriptionForeground); }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
.chart { min-width: 320px; flex: 1 1 420px; }
.chart .caption { color: var(--vscode-descriptionForeground); margin: 2px 0 6px; }
tr.best td { font-weight: 600; }
.link { padding: 0; border: none; background: none; color: var(--vscode-textLink-foreground); cursor: pointer; }
.link:hover { text-decoration: underline; background: none; }
`;

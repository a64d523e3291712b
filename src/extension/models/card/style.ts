import { RECORD_PAGE_CSS } from '../../common/webview/record-css';

/** Styles of the model card, on top of the shared webview styles: a header with badges, sections, tables, lists. */
export const CARD_CSS = `${RECORD_PAGE_CSS}
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 0.9em; line-height: 1.6;
  color: var(--vscode-badge-foreground, var(--vscode-button-foreground));
  background: var(--vscode-badge-background, var(--vscode-button-background)); }
.tag { display: inline-block; padding: 0 6px; margin: 0 4px 2px 0; border-radius: 2px;
  border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, currentColor)); }
.description { margin: 6px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.status { display: inline-flex; align-items: center; gap: 4px; }
.status::before { content: '●'; }
.status.ok { color: var(--vscode-testing-iconPassed); }
.status.warn { color: var(--vscode-editorWarning-foreground, var(--vscode-charts-orange)); }
.status.bad { color: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); }
.status.idle { color: var(--vscode-descriptionForeground); }
button.version { padding: 1px 8px; }
button.version[aria-current="true"] { color: var(--vscode-button-foreground); background: var(--vscode-button-background); }
.detail { color: var(--vscode-descriptionForeground); }
`;

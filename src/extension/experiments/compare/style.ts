/** Styles of the compare table webview, after the shared ones (theme colours only). */
export const COMPARE_CSS = `
body { padding: 0; overflow: hidden; }
[hidden] { display: none !important; }
#root { height: 100%; display: flex; flex-direction: column; }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 8px; padding: 8px 12px 4px; }
.toolbar .filter { flex: 1 1 320px; min-width: 200px; }
.toolbar label.inline { display: inline-flex; align-items: center; gap: 4px; color: var(--vscode-descriptionForeground); }
.toolbar .date { width: 150px; }
.toolbar .spacer { flex: 1 1 auto; }
.toolbar .statuses { display: inline-flex; gap: 10px; margin-left: 8px; }
.status-line { display: flex; gap: 12px; padding: 2px 12px 6px; color: var(--vscode-descriptionForeground); min-height: 1.4em; }
.status-line .error { color: var(--vscode-errorForeground); }
.status-line .notice-error { color: var(--vscode-errorForeground); }
.main { position: relative; flex: 1 1 auto; min-height: 0; display: flex; }
.empty { margin: 24px 16px; color: var(--vscode-descriptionForeground); }
.grid { position: relative; flex: 1 1 auto; overflow: auto; outline: none; scroll-padding: 28px 0 0 248px; border-top: 1px solid var(--vscode-editorGroup-border, var(--vscode-panel-border)); }
.grid:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.grid-inner { position: relative; }
.ghead { position: sticky; top: 0; z-index: 3; height: 28px; background: var(--vscode-editor-background);
  border-bottom: 1px solid var(--vscode-editorGroup-border, var(--vscode-panel-border)); }
.grow { position: absolute; left: 0; top: 0; height: 24px; will-change: transform; user-select: none; }
.grow.odd { background: var(--vscode-list-hoverBackground, transparent); background: color-mix(in srgb, var(--vscode-list-hoverBackground) 35%, transparent); }
.grow:hover { background: var(--vscode-list-hoverBackground); }
.grow.selected { background: var(--vscode-list-inactiveSelectionBackground); }
.grow.active { outline: 1px solid var(--vscode-list-focusOutline, var(--vscode-focusBorder)); outline-offset: -1px; }
.grow.group { font-weight: 600; cursor: pointer; }
.pin { position: sticky; left: 0; z-index: 2; display: flex; width: max-content; align-items: center; height: 100%; background: var(--vscode-editor-background); }
.grow .pin, .grow.odd .pin { background: var(--vscode-editor-background); }
.grow.selected .pin { background: var(--vscode-list-inactiveSelectionBackground); }
.ghead .pin { height: 28px; }
.cell { position: absolute; top: 0; height: 100%; box-sizing: border-box; padding: 0 8px; line-height: 24px;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.pin .cell { position: static; flex: none; }
.cell.num { text-align: right; font-variant-numeric: tabular-nums; }
.cell.check { padding: 0 4px 0 8px; display: flex; align-items: center; }
.cell.check input { margin: 0; accent-color: var(--vscode-focusBorder); }
.cell.group-label { overflow: visible; }
.hcell { position: absolute; top: 0; height: 28px; box-sizing: border-box; border-right: 1px solid var(--vscode-editorGroup-border, transparent); }
.pin .hcell { position: static; flex: none; }
.hcell button { all: unset; box-sizing: border-box; width: 100%; height: 100%; padding: 0 8px; display: flex; align-items: center; gap: 4px;
  cursor: pointer; font-weight: 600; white-space: nowrap; overflow: hidden; }
.hcell button:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.hcell.num button { justify-content: flex-end; }
.hcell .label { overflow: hidden; text-overflow: ellipsis; }
.hcell .sort { color: var(--vscode-textLink-foreground); font-size: 0.85em; flex: none; }
.hcell.param .label::before { content: ''; }
.hcell.metric { color: var(--vscode-charts-blue, inherit); }
.st-completed { color: var(--vscode-testing-iconPassed, inherit); }
.st-failed { color: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); }
.st-running { color: var(--vscode-charts-blue, inherit); }
.st-interrupted { color: var(--vscode-testing-iconSkipped, var(--vscode-descriptionForeground)); }
.scroll-cue { position: absolute; z-index: 5; top: 3px; right: 16px; padding: 1px 8px; font-size: 0.9em; border-radius: 10px;
  color: var(--vscode-badge-foreground); background: var(--vscode-badge-background); border: none; cursor: pointer;
  box-shadow: -12px 0 12px 4px var(--vscode-editor-background); }
.scroll-cue:hover { background: var(--vscode-button-hoverBackground); color: var(--vscode-button-foreground); }
.grid.scrolled-x .pin { box-shadow: 4px 0 6px -3px var(--vscode-widget-shadow, rgba(0,0,0,0.4)); }
.missing { color: var(--vscode-disabledForeground, var(--vscode-descriptionForeground)); }
.chooser { position: absolute; z-index: 10; top: 4px; left: 12px; width: 340px; max-height: 70%; display: flex; flex-direction: column; gap: 6px;
  padding: 8px; background: var(--vscode-editorWidget-background); color: var(--vscode-editorWidget-foreground);
  border: 1px solid var(--vscode-editorWidget-border, var(--vscode-contrastBorder, transparent)); box-shadow: 0 2px 8px var(--vscode-widget-shadow); }
.chooser .list { overflow: auto; display: flex; flex-direction: column; gap: 2px; }
.chooser .actions { display: flex; gap: 6px; }
.parallel { flex: 1 1 auto; display: flex; flex-direction: column; min-width: 0; border-top: 1px solid var(--vscode-editorGroup-border, var(--vscode-panel-border)); }
.parallel .controls { display: flex; flex-wrap: wrap; gap: 6px 8px; align-items: center; padding: 6px 12px; }
.parallel .controls vscode-multi-select { min-width: 320px; }
.parallel .canvas-box { position: relative; flex: 1 1 auto; min-height: 0; }
.parallel canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
.parallel .legend { padding: 2px 12px 8px; color: var(--vscode-descriptionForeground); }
`;

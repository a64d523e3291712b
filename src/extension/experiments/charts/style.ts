/** Styles of the metric charts page (uPlot's own stylesheet is loaded from dist/webviews/uplot.css). */
export const CHARTS_CSS = `
body { padding: 0 12px 24px; }
.toolbar { position: sticky; top: 0; z-index: 3; display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px;
  padding: 10px 0 8px; background: var(--vscode-editor-background); border-bottom: 1px solid var(--vscode-panel-border, transparent); }
.toolbar vscode-textfield { width: 220px; }
.toolbar vscode-single-select { width: 150px; }
.slider-label { display: inline-flex; align-items: center; gap: 6px; }
.slider { width: 120px; accent-color: var(--vscode-button-background); }
.slider-value { min-width: 2.5em; }
.summary { margin-left: auto; }
.hint { padding-top: 6px; font-size: 0.9em; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 8px 0; max-height: 96px; overflow: auto; }
.legend-item { display: inline-flex; align-items: center; gap: 6px; white-space: nowrap; }
.legend-item.deleted { color: var(--vscode-descriptionForeground); text-decoration: line-through; }
.swatch { display: inline-block; width: 14px; height: 3px; border-radius: 1px; flex: none; }
.swatch.dashed { height: 2px; opacity: 0.8; }
.notes { padding: 6px 10px; margin: 4px 0 8px; border-left: 3px solid var(--vscode-editorWarning-foreground, #cca700);
  background: var(--vscode-textBlockQuote-background); }
.empty { padding: 32px 0; color: var(--vscode-descriptionForeground); font-size: 1.1em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.card { position: relative; border: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent));
  border-radius: 4px; padding: 6px 8px 8px; min-width: 0; background: var(--vscode-editor-background); }
.card[hidden] { display: none; }
.card-header { display: flex; align-items: center; gap: 6px; }
.card-title { flex: 1; margin: 0; font-size: 1em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
button.small { padding: 1px 8px; font-size: 0.9em; }
.plot { position: relative; height: 240px; min-width: 0; }
.placeholder { display: flex; align-items: center; justify-content: center; height: 100%; }
.notice { min-height: 1.2em; font-size: 0.9em; margin-top: 2px; }
.tooltip { position: absolute; z-index: 2; pointer-events: none; max-width: min(90vw, 800px);
  padding: 4px 8px; border: 1px solid var(--vscode-editorHoverWidget-border, var(--vscode-widget-border));
  background: var(--vscode-editorHoverWidget-background); color: var(--vscode-editorHoverWidget-foreground, inherit);
  font-size: 0.9em; box-shadow: 0 2px 8px var(--vscode-widget-shadow, transparent); }
.tooltip-rows.many { column-width: 190px; column-gap: 16px; width: min(85vw, 800px); }
.tooltip-x { font-weight: 600; margin-bottom: 2px; }
.tooltip-row { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
.tooltip-name { overflow: hidden; text-overflow: ellipsis; flex: 1; }
.tooltip-value { font-family: var(--vscode-editor-font-family); }
.tooltip-row.absent .tooltip-value, .tooltip-row.absent .tooltip-name { color: var(--vscode-descriptionForeground); font-style: italic; }
.u-select { background: var(--vscode-editor-selectionBackground, rgba(128,128,128,0.2)); }
`;

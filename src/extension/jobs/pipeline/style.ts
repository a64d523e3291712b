/**
 * Styles of the pipeline graph, on top of the shared webview styles. State colours come from the
 * theme's testing icons (passed, failed, skipped, queued), so every theme colours the graph as it
 * colours test results.
 */
export const PIPELINE_CSS = `
body { padding: 0; overflow: hidden; }
#root { display: flex; flex-direction: column; height: 100%; }
.toolbar { display: flex; align-items: center; flex-wrap: wrap; gap: 4px 6px; padding: 6px 12px;
  border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); }
button.tool { font: inherit; min-width: 28px; padding: 2px 8px; border-radius: 2px; cursor: pointer;
  border: 1px solid var(--vscode-button-border, transparent);
  color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
button.tool:hover { background: var(--vscode-button-secondaryHoverBackground); }
button.tool:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
.status { margin: 0 8px; white-space: nowrap; }
.legend { display: flex; flex-wrap: wrap; gap: 2px 12px; list-style: none; margin: 0 0 0 auto; padding: 0; }
.legend li { display: inline-flex; align-items: center; gap: 4px; }
.legend li span:last-child { color: var(--vscode-descriptionForeground); }
.stage { position: relative; flex: 1; min-height: 0; }
svg.graph { display: block; width: 100%; height: 100%; cursor: grab; user-select: none; touch-action: none; }
svg.graph.dragging { cursor: grabbing; }
svg.graph.hidden { visibility: hidden; }
svg.graph:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
.notice { position: absolute; inset: 0; display: flex; flex-direction: column; align-items: center;
  justify-content: center; text-align: center; padding: 24px; }
.notice[hidden] { display: none; }
.notice .title { font-size: 1.2em; margin: 0 0 6px; }
.notice p { margin: 0; max-width: 60ch; }

.state-succeeded { --state: var(--vscode-testing-iconPassed, #73c991); }
.state-failed { --state: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); }
.state-running { --state: var(--vscode-charts-blue, var(--vscode-textLink-foreground)); }
.state-queued { --state: var(--vscode-testing-iconQueued, var(--vscode-charts-yellow, #cca700)); }
.state-skipped { --state: var(--vscode-testing-iconSkipped, var(--vscode-descriptionForeground)); }
.state-stopped { --state: var(--vscode-testing-iconSkipped, var(--vscode-descriptionForeground)); }
.state-unknown { --state: var(--vscode-descriptionForeground); }
.state-never { --state: var(--vscode-disabledForeground, var(--vscode-descriptionForeground)); }
.icon { color: var(--state); font-weight: 700; width: 1.1em; text-align: center; flex: none; }

.node .box { fill: var(--vscode-editorWidget-background, var(--vscode-editor-background));
  stroke: var(--state); stroke-width: 1.5; }
.node.state-never .box, .node.state-skipped .box { stroke-dasharray: 5 3; }
.node .stripe { fill: var(--state); }
.node:focus-within .box { stroke: var(--vscode-focusBorder); stroke-width: 2.5; }
.card { box-sizing: border-box; width: 100%; height: 100%; padding: 6px 8px 6px 12px; display: flex;
  flex-direction: column; gap: 2px; outline: none; border-radius: 6px; cursor: default; }
.card .head { display: flex; align-items: center; gap: 6px; font-weight: 600; min-width: 0; }
.card .name, .card .line { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.card .line { color: var(--vscode-descriptionForeground); font-size: 0.92em; min-height: 1.2em; }
.card .actions { display: flex; gap: 4px; margin-top: auto; }
.card button.action { font: inherit; font-size: 0.9em; line-height: 1.5; padding: 0 6px; border-radius: 2px; cursor: pointer;
  border: 1px solid var(--vscode-button-border, transparent);
  color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
.card button.action:hover { background: var(--vscode-button-secondaryHoverBackground); }
.card button.action:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }

.edge { fill: none; stroke: var(--vscode-descriptionForeground); stroke-width: 1.5; opacity: 0.75; }
.edge.from-failed, .edge.from-stopped, .edge.from-unknown { stroke-dasharray: 4 3; }
.edge.back { stroke-dasharray: 2 4; }
.edge.hot { stroke: var(--vscode-focusBorder); stroke-width: 2.5; opacity: 1; }
.arrowhead { fill: var(--vscode-descriptionForeground); }
`;

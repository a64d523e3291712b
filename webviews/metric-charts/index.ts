/**
 * The metric charts webview: one chart per metric key, every selected run overlaid. Charts are
 * created only while their card is on screen (1,000 keys stay fast) and their series are asked for
 * when they first scroll into view, downsampled to about two points per pixel by the backend; a zoom
 * asks for the visible range at full detail. Controls and their state (x axis, smoothing, log scale,
 * key filter) survive the panel being hidden through getState/setState.
 */
import type { HostToWebviewMessage } from '../../src/protocol/webviews/metric-charts';
import { createControls } from './controls';
import { onMessage } from './messages';
import {
  applyFilter,
  grid,
  mountPage,
  rebuildVisibleCharts,
  renderOnScreenNow,
  showLoading,
  showRuns,
} from './rendering';
import { cards, model, saveState, shownKeys, vscode, zooms } from './store';
import { readTheme, watchTheme } from '../common/chart-theme';

// ---- controls ------------------------------------------------------------------------------------

let smoothingFrame = 0;
const { toolbar, summary } = createControls(model.state, {
  filter: (text) => {
    saveState({ filter: text });
    applyFilter();
    renderOnScreenNow();
  },
  xMode: (mode) => {
    if (mode !== model.state.xMode) {
      saveState({ xMode: mode });
      zooms.clear(); // a zoom's x range means nothing on another axis
      rebuildVisibleCharts();
    }
  },
  smoothing: (weight) => {
    saveState({ smoothing: weight });
    cancelAnimationFrame(smoothingFrame);
    smoothingFrame = requestAnimationFrame(rebuildVisibleCharts);
  },
  logScale: (on) => {
    saveState({ logScale: on });
    rebuildVisibleCharts();
  },
  exportCsv: () => vscode.postMessage({ type: 'exportCsv', keys: shownKeys() }),
});

mountPage(toolbar, summary);

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => onMessage(event.data));

// ---- size and theme ------------------------------------------------------------------------------

let resizeFrame = 0;
new ResizeObserver(() => {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => {
    for (const card of cards.values()) {
      card.view?.setWidth(card.plot.clientWidth);
    }
  });
}).observe(grid);

watchTheme(() => {
  model.theme = readTheme();
  showRuns();
  rebuildVisibleCharts();
});

showLoading();
vscode.postMessage({ type: 'ready' });

/**
 * The toolbar of the metric charts: key filter, x axis, smoothing, log scale and CSV export. Native
 * looking controls from @vscode-elements/elements (Lit components: their styles are constructable
 * stylesheets, which the page's CSP allows without 'unsafe-inline'); the smoothing slider is a
 * themed <input type=range>, as the library has no slider.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { MetricChartsState, XAxisMode } from '../../src/protocol/webviews/metric-charts';
import { el } from '../common/dom';

export interface ControlEvents {
  filter(text: string): void;
  xMode(mode: XAxisMode): void;
  smoothing(weight: number): void;
  logScale(on: boolean): void;
  exportCsv(): void;
}

export interface Controls {
  readonly toolbar: HTMLElement;
  /** "12 of 40 metrics · 3 runs" */
  readonly summary: HTMLElement;
}

const X_MODES: readonly (readonly [XAxisMode, string])[] = [
  ['step', 'Step'],
  ['wall', 'Wall time'],
  ['relative', 'Relative time'],
];

export function createControls(state: MetricChartsState, on: ControlEvents): Controls {
  const filterBox = Object.assign(document.createElement('vscode-textfield'), {
    placeholder: 'Filter metrics',
    value: state.filter,
  });
  filterBox.setAttribute('aria-label', 'Filter metric keys');
  filterBox.addEventListener('input', () => on.filter(filterBox.value));

  const xSelect = document.createElement('vscode-single-select');
  xSelect.setAttribute('aria-label', 'X axis');
  for (const [value, label] of X_MODES) {
    const option = document.createElement('vscode-option');
    option.value = value;
    option.textContent = label;
    option.selected = state.xMode === value;
    xSelect.append(option);
  }
  xSelect.addEventListener('change', () => on.xMode(xSelect.value as XAxisMode));

  const slider = Object.assign(el('input', 'slider'), {
    type: 'range',
    min: '0',
    max: '0.99',
    step: '0.01',
    value: String(state.smoothing),
  });
  slider.setAttribute('aria-label', 'Smoothing');
  const sliderValue = el('span', 'mono slider-value');
  const showSmoothing = (w: number) => (sliderValue.textContent = w > 0 ? w.toFixed(2) : 'off');
  showSmoothing(state.smoothing);
  slider.addEventListener('input', () => {
    showSmoothing(Number(slider.value));
    on.smoothing(Number(slider.value));
  });
  const smoothingLabel = el('label', 'slider-label', 'Smoothing');
  smoothingLabel.append(slider, sliderValue);

  const logBox = document.createElement('vscode-checkbox');
  logBox.label = 'Log scale';
  logBox.checked = state.logScale;
  logBox.addEventListener('change', () => on.logScale(logBox.checked));

  const csvButton = document.createElement('vscode-button');
  csvButton.textContent = 'Export CSV';
  csvButton.setAttribute('secondary', '');
  csvButton.title = 'Every point of the metrics shown (all that match the filter), as CSV';
  csvButton.addEventListener('click', () => on.exportCsv());

  const summary = el('span', 'muted summary');
  const toolbar = el('div', 'toolbar');
  toolbar.append(filterBox, el('span', 'muted', 'X axis'), xSelect, smoothingLabel, logBox, csvButton, summary);
  return { toolbar, summary };
}

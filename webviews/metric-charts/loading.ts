/** Asking the host for series: the keys that came into view, batched per burst of scrolling. */
import { cards, requested, vscode } from './store';

const root = document.getElementById('root')!;

/** The width of a chart's plot, for the number of points to ask for (about two per pixel). */
export function plotWidth(): number {
  for (const card of cards.values()) {
    if (!card.root.hidden && card.plot.clientWidth > 0) {
      return card.plot.clientWidth;
    }
  }
  return Math.max(300, (root.clientWidth || window.innerWidth) - 40);
}

let pendingLoad: string[] = [];
let loadTimer: ReturnType<typeof setTimeout> | undefined;

/** Asks for the series of keys that came into view, in one message per burst of scrolling. */
export function requestKey(key: string): void {
  if (requested.has(key)) {
    return;
  }
  requested.add(key);
  pendingLoad.push(key);
  loadTimer ??= setTimeout(() => {
    loadTimer = undefined;
    const batch = pendingLoad;
    pendingLoad = [];
    vscode.postMessage({ type: 'load', keys: batch, pixels: plotWidth() });
  }, 16);
}

/**
 * The pipeline graph webview: the project's jobs as boxes in columns (a job sits right of every job
 * it runs after), their last state, schedule and dependencies, with pan and zoom. Every value is set
 * with textContent, never as HTML.
 */
import {
  PIPELINE_NODE_STATES,
  type GraphMessage,
  type HostToWebviewMessage,
  type PipelineGraphState,
  type WebviewToHostMessage,
} from '../../src/protocol/webviews/pipeline-graph';
import { el } from '../common/dom';
import { vscodeApi } from '../common/vscode-api';
import { NODE_H, NODE_W } from './geometry';
import { arrowDefs, renderGraph, STATE_LOOK, svgEl, type RenderedGraph } from './graph';
import { PanZoom, type ViewTransform } from './view';

const vscode = vscodeApi<WebviewToHostMessage, PipelineGraphState>();
const post = (m: WebviewToHostMessage) => vscode.postMessage(m);
const root = document.getElementById('root')!;
const saved = vscode.getState();
let focused = saved?.focused;
let shown: GraphMessage | undefined;
let rendered: RenderedGraph | undefined;

function saveState(view: ViewTransform): void {
  vscode.setState({ scale: view.scale, x: view.x, y: view.y, moved: view.moved, focused });
}

function toolButton(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', 'tool', label);
  b.type = 'button';
  b.title = title;
  b.setAttribute('aria-label', title);
  b.addEventListener('click', onClick);
  return b;
}

function legend(): HTMLElement {
  const list = el('ul', 'legend');
  list.setAttribute('aria-label', 'States');
  for (const state of PIPELINE_NODE_STATES) {
    const item = el('li', `state-${state}`);
    const icon = el('span', 'icon', STATE_LOOK[state].icon);
    icon.setAttribute('aria-hidden', 'true');
    item.append(icon, el('span', undefined, STATE_LOOK[state].label));
    list.append(item);
  }
  return list;
}

// the page's frame: a toolbar with zoom, fit, refresh and the legend; the stage; an empty notice
const toolbar = el('div', 'toolbar');
const status = el('span', 'status muted');
const stage = el('div', 'stage');
const svg = svgEl('svg', 'graph');
svg.setAttribute('tabindex', '0');
svg.setAttribute('role', 'group'); // not img: that would hide the boxes and their buttons from screen readers
svg.setAttribute('aria-roledescription', 'pipeline graph');
svg.setAttribute(
  'aria-label',
  'Pipeline graph: Tab moves through the jobs, arrow keys pan, + and - zoom, 0 fits the graph to the view',
);
const layer = svgEl('g', 'viewport');
svg.append(arrowDefs(), layer);
const notice = el('div', 'notice');
notice.hidden = true;
stage.append(svg, notice);

const panZoom = new PanZoom(svg, layer, saved ?? { scale: 1, x: 0, y: 0, moved: false }, saveState);
toolbar.append(
  toolButton('−', 'Zoom out', () => panZoom.zoom(1 / 1.25)),
  toolButton('+', 'Zoom in', () => panZoom.zoom(1.25)),
  toolButton('Fit', 'Fit the graph to the view (reset zoom and pan)', () => panZoom.fit()),
  toolButton('↻', 'Refresh', () => post({ type: 'refresh' })),
  status,
  legend(),
);
root.append(toolbar, stage);

function showNotice(title: string, text: string): void {
  notice.replaceChildren(el('p', 'title', title), el('p', 'muted', text));
  notice.hidden = false;
  svg.classList.add('hidden');
  layer.replaceChildren();
  rendered = undefined;
}

function show(graph: GraphMessage): void {
  shown = graph;
  status.textContent = `${graph.nodes.length} ${graph.nodes.length === 1 ? 'job' : 'jobs'}, ${graph.edges.length} ${graph.edges.length === 1 ? 'dependency' : 'dependencies'} · ${graph.updated}`;
  if (graph.nodes.length === 0) {
    showNotice(
      'No jobs yet…',
      'Create a job in the Jobs view. Jobs that run after other jobs appear here as a pipeline, with their last state and schedule.',
    );
    return;
  }
  const hadFocus = !!document.activeElement?.closest('.card');
  notice.hidden = true;
  svg.classList.remove('hidden');
  rendered = renderGraph(layer, graph, post);
  for (const [name, c] of rendered.cards) {
    c.addEventListener('focusin', () => {
      focused = name;
      saveState(panZoom.current);
      const n = graph.nodes.find((x) => x.name === name)!;
      const at = rendered!.geometry.slot(n);
      panZoom.reveal(at.x, at.y, NODE_W, NODE_H);
    });
    c.addEventListener('keydown', (e) => onCardKey(e, name));
  }
  panZoom.setContent(rendered.geometry.width, rendered.geometry.height);
  if (hadFocus && focused) {
    rendered.cards.get(focused)?.focus({ preventScroll: true });
  }
}

/** Arrow keys on a box move to a neighbour: right = a downstream job, left = an upstream one, up/down in the column. */
function onCardKey(e: KeyboardEvent, name: string): void {
  if (!shown || !rendered || e.target !== rendered.cards.get(name)) {
    return;
  }
  const n = shown.nodes.find((x) => x.name === name)!;
  let target: string | undefined;
  if (e.key === 'ArrowRight') {
    target = n.downstreams[0];
  } else if (e.key === 'ArrowLeft') {
    target = n.upstreams[0];
  } else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
    const column = shown.nodes.filter((x) => x.layer === n.layer).sort((a, b) => a.order - b.order);
    const i = column.indexOf(n) + (e.key === 'ArrowUp' ? -1 : 1);
    target = column[i]?.name;
  } else {
    return;
  }
  e.preventDefault();
  e.stopPropagation();
  if (target) {
    rendered.cards.get(target)?.focus({ preventScroll: true });
  }
}

// keys of the whole page: + - 0 zoom and fit; arrow keys pan while the graph itself has focus
document.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement;
  if (e.ctrlKey || e.metaKey || e.altKey || t.tagName === 'INPUT') {
    return;
  }
  const step = 40;
  const pans: Record<string, [number, number]> = {
    ArrowLeft: [step, 0],
    ArrowRight: [-step, 0],
    ArrowUp: [0, step],
    ArrowDown: [0, -step],
  };
  if (e.key === '+' || e.key === '=') {
    panZoom.zoom(1.25);
  } else if (e.key === '-') {
    panZoom.zoom(1 / 1.25);
  } else if (e.key === '0') {
    panZoom.fit();
  } else if (t === (svg as unknown as HTMLElement) && pans[e.key]) {
    panZoom.pan(...pans[e.key]);
  } else {
    return;
  }
  e.preventDefault();
});

window.addEventListener('message', (event: MessageEvent<HostToWebviewMessage>) => {
  const m = event.data;
  if (m.type === 'graph') {
    show(m);
  } else if (m.type === 'unavailable') {
    shown = undefined;
    status.textContent = '';
    showNotice('The pipeline cannot be shown', m.message);
  }
});

post({ type: 'ready' });

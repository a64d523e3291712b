/**
 * The SVG of a pipeline: edges (curves with arrowheads) under the job boxes. A box is a rounded
 * rectangle in its state's colour holding an HTML card (foreignObject): the job's name, its last run,
 * its schedule and the buttons Logs, Run and Re-run from here. All text is set with textContent.
 */
import type {
  GraphMessage,
  PipelineGraphNode,
  PipelineNodeState,
  WebviewToHostMessage,
} from '../../src/protocol/webviews/pipeline-graph';
import { el } from '../common/dom';
import { edgePath, geometryOf, NODE_H, NODE_W, type Geometry } from './geometry';

const SVG = 'http://www.w3.org/2000/svg';

export function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, cls?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  if (cls) {
    node.setAttribute('class', cls);
  }
  return node;
}

/** The icon and words of each state (the colour comes from the stylesheet's .state-<name>). */
export const STATE_LOOK: Record<PipelineNodeState, { icon: string; label: string }> = {
  succeeded: { icon: '✓', label: 'succeeded' },
  failed: { icon: '✕', label: 'failed' },
  running: { icon: '●', label: 'running' },
  queued: { icon: '◷', label: 'queued' },
  skipped: { icon: '↷', label: 'skipped' },
  stopped: { icon: '■', label: 'stopped' },
  unknown: { icon: '?', label: 'unknown' },
  never: { icon: '○', label: 'never run' },
};

type Action = Exclude<WebviewToHostMessage['type'], 'ready' | 'refresh'>;

const BUTTONS: readonly { action: Action; label: string; title: (job: string) => string }[] = [
  { action: 'showLogs', label: 'Logs', title: (j) => `Show the logs of the last run of ${j}` },
  { action: 'runJob', label: 'Run', title: (j) => `Run ${j} now` },
  { action: 'rerunFrom', label: 'Re-run from here', title: (j) => `Re-run ${j} and every job that runs after it` },
];

/** The full details of a job, for its tooltip. */
function details(n: PipelineGraphNode): string {
  const lines = [n.name, `Last run: ${n.stateLabel}`];
  if (n.triggerLabel) {
    lines.push(`Trigger: ${n.triggerLabel}`);
  }
  if (n.started) {
    lines.push(`Started: ${n.started}${n.ended ? ` · ended: ${n.ended}` : ''}${n.duration ? ` (${n.duration})` : ''}`);
  }
  if (n.reason) {
    lines.push(`Reason: ${n.reason}`);
  }
  if (n.schedule) {
    const s = n.schedule;
    lines.push(
      `Schedule: ${s.cron} (${s.timeZone}) · ${s.description}${s.enabled ? '' : ' · disabled'}${s.nextRun ? ` · next ${s.nextRun}` : ''}`,
    );
  }
  lines.push(`Runs after: ${n.upstreams.length > 0 ? n.upstreams.join(', ') : 'no other job'}`);
  if (n.downstreams.length > 0) {
    lines.push(`Then runs: ${n.downstreams.join(', ')}`);
  }
  return lines.join('\n');
}

function card(n: PipelineGraphNode, post: (m: WebviewToHostMessage) => void): HTMLElement {
  const look = STATE_LOOK[n.state];
  const node = el('div', 'card');
  node.tabIndex = 0;
  node.dataset.job = n.name;
  node.setAttribute('role', 'group');
  node.setAttribute(
    'aria-label',
    `${n.name}: ${n.stateLabel}${n.note ? `, ${n.note}` : ''}${n.schedule ? `, scheduled ${n.schedule.line.slice(2)}` : ''}. Enter shows the logs.`,
  );
  node.title = details(n);
  const head = el('div', 'head');
  const icon = el('span', 'icon', look.icon);
  icon.setAttribute('aria-hidden', 'true');
  head.append(icon, el('span', 'name', n.name));
  const run = el('div', 'line run', n.runLine);
  const schedule = el('div', n.schedule ? 'line schedule' : 'line note', n.schedule ? n.schedule.line : n.note);
  const actions = el('div', 'actions');
  for (const b of BUTTONS) {
    const button = el('button', 'action', b.label);
    button.type = 'button';
    button.title = b.title(n.name);
    button.dataset.action = b.action;
    button.addEventListener('click', () => post({ type: b.action, job: n.name }));
    actions.append(button);
  }
  node.append(head, run, schedule, actions);
  node.addEventListener('keydown', (e) => {
    if (e.target === node && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      post({ type: 'showLogs', job: n.name });
    }
  });
  return node;
}

export interface RenderedGraph {
  readonly geometry: Geometry;
  /** the card of each job, by name */
  readonly cards: ReadonlyMap<string, HTMLElement>;
}

/** Replaces the group's content with the graph. */
export function renderGraph(
  group: SVGGElement,
  graph: GraphMessage,
  post: (m: WebviewToHostMessage) => void,
): RenderedGraph {
  const g = geometryOf(graph);
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const edges = svgEl('g', 'edges');
  for (const e of graph.edges) {
    const from = byName.get(e.from);
    const to = byName.get(e.to);
    if (!from || !to) {
      continue;
    }
    const path = svgEl('path', `edge from-${from.state}${e.back ? ' back' : ''}`);
    path.setAttribute('d', edgePath(e, from, to, g));
    path.setAttribute('marker-end', 'url(#arrow)');
    path.dataset.from = e.from;
    path.dataset.to = e.to;
    const title = svgEl('title');
    title.textContent = `${e.from} → ${e.to}`;
    path.append(title);
    edges.append(path);
  }
  const nodes = svgEl('g', 'nodes');
  const cards = new Map<string, HTMLElement>();
  // Tab follows the columns, top to bottom
  const ordered = [...graph.nodes].sort((a, b) => a.layer - b.layer || a.order - b.order);
  for (const n of ordered) {
    const at = g.slot(n);
    const box = svgEl('g', `node state-${n.state}`);
    box.setAttribute('transform', `translate(${at.x} ${at.y})`);
    box.dataset.job = n.name;
    const rect = svgEl('rect', 'box');
    rect.setAttribute('width', String(NODE_W));
    rect.setAttribute('height', String(NODE_H));
    rect.setAttribute('rx', '6');
    const stripe = svgEl('rect', 'stripe');
    stripe.setAttribute('width', '4');
    stripe.setAttribute('height', String(NODE_H - 12));
    stripe.setAttribute('x', '0');
    stripe.setAttribute('y', '6');
    stripe.setAttribute('rx', '2');
    const fo = svgEl('foreignObject');
    fo.setAttribute('width', String(NODE_W));
    fo.setAttribute('height', String(NODE_H));
    const c = card(n, post);
    c.addEventListener('focusin', () => highlight(edges, n.name, true));
    c.addEventListener('focusout', () => highlight(edges, n.name, false));
    fo.append(c);
    box.append(rect, stripe, fo);
    nodes.append(box);
    cards.set(n.name, c);
  }
  group.replaceChildren(edges, nodes);
  return { geometry: g, cards };
}

/** Emphasises the edges of the focused job. */
function highlight(edges: SVGGElement, job: string, on: boolean): void {
  edges.querySelectorAll<SVGPathElement>('path.edge').forEach((p) => {
    if (p.dataset.from === job || p.dataset.to === job) {
      p.classList.toggle('hot', on);
    }
  });
}

/** The arrowhead every edge ends with. */
export function arrowDefs(): SVGDefsElement {
  const defs = svgEl('defs');
  const marker = svgEl('marker');
  marker.id = 'arrow';
  marker.setAttribute('viewBox', '0 0 10 10');
  marker.setAttribute('refX', '9');
  marker.setAttribute('refY', '5');
  marker.setAttribute('markerWidth', '6');
  marker.setAttribute('markerHeight', '6');
  marker.setAttribute('orient', 'auto');
  const head = svgEl('path', 'arrowhead');
  head.setAttribute('d', 'M 0 0 L 10 5 L 0 10 z');
  marker.append(head);
  defs.append(marker);
  return defs;
}

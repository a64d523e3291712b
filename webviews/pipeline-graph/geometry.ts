/**
 * Pixels of the pipeline graph: the host gives layers and slots, this places the boxes (layers as
 * columns, left to right, each column centred vertically) and draws edges as horizontal cubic curves
 * that run straight through the passages of the layers they cross.
 */
import type { GraphMessage, GraphSlot, PipelineGraphEdge } from '../../src/protocol/webviews/pipeline-graph';

export const NODE_W = 248;
export const NODE_H = 96;
const GAP_X = 88;
const GAP_Y = 26;
const PAD = 24;

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Geometry {
  readonly width: number;
  readonly height: number;
  /** top-left corner of a slot's box */
  slot(s: GraphSlot): Point;
}

export function geometryOf(graph: GraphMessage): Geometry {
  const tallest = Math.max(1, ...graph.layerSizes);
  const columns = Math.max(1, graph.layerSizes.length);
  return {
    width: PAD * 2 + columns * (NODE_W + GAP_X) - GAP_X,
    height: PAD * 2 + tallest * (NODE_H + GAP_Y) - GAP_Y,
    slot: (s) => {
      const size = graph.layerSizes[s.layer] ?? 1;
      const offset = ((tallest - size) * (NODE_H + GAP_Y)) / 2;
      return { x: PAD + s.layer * (NODE_W + GAP_X), y: PAD + offset + s.order * (NODE_H + GAP_Y) };
    },
  };
}

const round = (n: number) => Math.round(n * 10) / 10;

/** A curve between two points that leaves and arrives horizontally. */
function curve(p: Point, q: Point): string {
  const dx = Math.max(24, Math.abs(q.x - p.x) / 2);
  return `C ${round(p.x + dx)} ${round(p.y)} ${round(q.x - dx)} ${round(q.y)} ${round(q.x)} ${round(q.y)}`;
}

/** The SVG path of an edge, from the right side of its upstream box to the left side of its downstream one. */
export function edgePath(edge: PipelineGraphEdge, from: GraphSlot, to: GraphSlot, g: Geometry): string {
  const a = g.slot(from);
  const b = g.slot(to);
  const start = { x: a.x + NODE_W, y: a.y + NODE_H / 2 };
  const end = { x: b.x, y: b.y + NODE_H / 2 };
  const parts = [`M ${round(start.x)} ${round(start.y)}`];
  let at = start;
  for (const via of edge.back ? [] : edge.via) {
    const s = g.slot(via);
    const left = { x: s.x, y: s.y + NODE_H / 2 };
    parts.push(curve(at, left), `L ${round(s.x + NODE_W)} ${round(left.y)}`);
    at = { x: s.x + NODE_W, y: left.y };
  }
  parts.push(curve(at, end));
  return parts.join(' ');
}

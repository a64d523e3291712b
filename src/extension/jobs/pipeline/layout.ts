/**
 * Layered layout of a pipeline (the first steps of Sugiyama's method): each job's layer is the
 * longest path from a source, an edge that spans several layers passes through an empty slot in each
 * layer between, and the order within the layers is improved with barycenter sweeps to reduce edge
 * crossings. Written by hand because it is small and the graph libraries that do it (dagre, elk)
 * also compute pixels, which the webview does for its own node sizes.
 *
 * The backend refuses cycles, but the layout must end on any input: edges that close a cycle are
 * set aside while layering (and returned as `back` edges), unknown names and self-edges are ignored.
 */

export interface LayoutEdge {
  readonly from: string;
  readonly to: string;
}

export interface Slot {
  readonly layer: number;
  readonly order: number;
}

export interface RoutedEdge extends LayoutEdge {
  /** the slots of the passages through the layers between its ends, left to right */
  readonly via: readonly Slot[];
  /** true when the edge points against the layers (only when the input had a cycle) */
  readonly back: boolean;
}

export interface Layout {
  /** each layer's entries, top to bottom: node names, and passages of long edges (see isPassage) */
  readonly layers: readonly (readonly string[])[];
  readonly slots: ReadonlyMap<string, Slot>;
  readonly edges: readonly RoutedEdge[];
  /** crossings between adjacent layers in the final order */
  readonly crossings: number;
}

/** Names of passages start with a character no job name contains. */
const PASSAGE = '\u0000';

export function isPassage(entry: string): boolean {
  return entry.startsWith(PASSAGE);
}

/**
 * Longest-path layers (Kahn's topological order). When nodes remain with unprocessed predecessors
 * (a cycle), the first remaining one in input order is taken anyway and its remaining in-edges
 * become back edges, so every iteration removes one node: the loop ends after `nodes.length` steps.
 */
export function assignLayers(
  nodes: readonly string[],
  edges: readonly LayoutEdge[],
): { layer: Map<string, number>; back: Set<LayoutEdge> } {
  const known = new Set(nodes);
  const incoming = new Map<string, LayoutEdge[]>(nodes.map((n) => [n, []]));
  const outgoing = new Map<string, LayoutEdge[]>(nodes.map((n) => [n, []]));
  for (const e of edges) {
    if (known.has(e.from) && known.has(e.to) && e.from !== e.to) {
      incoming.get(e.to)!.push(e);
      outgoing.get(e.from)!.push(e);
    }
  }
  const pending = new Map(nodes.map((n) => [n, incoming.get(n)!.length]));
  const done = new Set<string>();
  const layer = new Map<string, number>();
  const back = new Set<LayoutEdge>();
  const queue = nodes.filter((n) => pending.get(n) === 0);
  while (done.size < known.size) {
    let next = queue.shift();
    if (next === undefined) {
      next = nodes.find((n) => !done.has(n))!; // a cycle: break it here
      incoming
        .get(next)!
        .filter((e) => !done.has(e.from))
        .forEach((e) => back.add(e));
    }
    if (done.has(next)) {
      continue; // duplicate names in the input
    }
    done.add(next);
    const preds = incoming.get(next)!.filter((e) => !back.has(e));
    layer.set(next, preds.length === 0 ? 0 : Math.max(...preds.map((e) => layer.get(e.from)! + 1)));
    for (const e of outgoing.get(next)!) {
      if (done.has(e.to)) {
        continue;
      }
      const left = pending.get(e.to)! - 1;
      pending.set(e.to, left);
      if (left === 0) {
        queue.push(e.to);
      }
    }
  }
  return { layer, back };
}

/** Crossings between two adjacent layers: pairs of segments whose ends are in opposite orders. */
function crossingsBetween(upper: Map<string, number>, lower: Map<string, number>, segments: [string, string][]) {
  const pairs = segments
    .filter(([a, b]) => upper.has(a) && lower.has(b))
    .map(([a, b]) => [upper.get(a)!, lower.get(b)!] as const);
  let count = 0;
  for (let i = 0; i < pairs.length; i++) {
    for (let j = i + 1; j < pairs.length; j++) {
      if ((pairs[i][0] - pairs[j][0]) * (pairs[i][1] - pairs[j][1]) < 0) {
        count++;
      }
    }
  }
  return count;
}

/** Total crossings of an ordering, given the segments (between adjacent layers) of all edges. */
export function countCrossings(layers: readonly (readonly string[])[], segments: [string, string][]): number {
  const index = layers.map((l) => new Map(l.map((n, i) => [n, i])));
  let total = 0;
  for (let i = 0; i + 1 < layers.length; i++) {
    total += crossingsBetween(index[i], index[i + 1], segments);
  }
  return total;
}

/**
 * Reorders `layer` by the mean position of each entry's neighbours in the fixed layer; entries
 * without neighbours there keep their position (a stable sort on their current index).
 */
function barycenterOrder(layer: string[], fixed: readonly string[], neighbours: Map<string, string[]>): string[] {
  const pos = new Map(fixed.map((n, i) => [n, i]));
  const keyed = layer.map((n, i) => {
    const ps = (neighbours.get(n) ?? []).map((m) => pos.get(m)).filter((p): p is number => p !== undefined);
    return { n, key: ps.length > 0 ? ps.reduce((a, b) => a + b, 0) / ps.length : i, i };
  });
  keyed.sort((a, b) => a.key - b.key || a.i - b.i);
  return keyed.map((k) => k.n);
}

/** Lays out the graph; `sweeps` down-and-up passes of barycenter ordering, the best ordering wins. */
export function layoutPipeline(nodes: readonly string[], edges: readonly LayoutEdge[], sweeps = 4): Layout {
  const unique = [...new Set(nodes)];
  const known = new Set(unique);
  const seen = new Set<string>();
  const kept = edges.filter((e) => {
    const key = `${e.from}\u0001${e.to}`;
    const keep = known.has(e.from) && known.has(e.to) && e.from !== e.to && !seen.has(key);
    seen.add(key);
    return keep;
  });
  const { layer, back } = assignLayers(unique, kept);
  const depth = unique.length === 0 ? 0 : Math.max(...unique.map((n) => layer.get(n)!)) + 1;
  const layers: string[][] = Array.from({ length: depth }, () => []);
  unique.forEach((n) => layers[layer.get(n)!].push(n));

  // forward edges become chains of segments through one passage per layer crossed
  const chains = kept.map((e) => {
    const from = layer.get(e.from)!;
    const to = layer.get(e.to)!;
    const chain = [e.from];
    if (!back.has(e) && to > from) {
      for (let l = from + 1; l < to; l++) {
        const passage = `${PASSAGE}${e.from}\u0001${e.to}\u0001${l}`;
        layers[l].push(passage);
        chain.push(passage);
      }
    }
    chain.push(e.to);
    return { edge: e, chain, back: back.has(e) || to <= from };
  });
  const segments: [string, string][] = chains
    .filter((c) => !c.back)
    .flatMap((c) => c.chain.slice(1).map((n, i): [string, string] => [c.chain[i], n]));
  const preds = new Map<string, string[]>();
  const succs = new Map<string, string[]>();
  for (const [a, b] of segments) {
    (preds.get(b) ?? preds.set(b, []).get(b)!).push(a);
    (succs.get(a) ?? succs.set(a, []).get(a)!).push(b);
  }

  let best = layers.map((l) => [...l]);
  let bestCrossings = countCrossings(best, segments);
  let current = best;
  for (let s = 0; s < sweeps && bestCrossings > 0; s++) {
    current = current.map((l) => [...l]);
    for (let i = 1; i < current.length; i++) {
      current[i] = barycenterOrder(current[i], current[i - 1], preds);
    }
    for (let i = current.length - 2; i >= 0; i--) {
      current[i] = barycenterOrder(current[i], current[i + 1], succs);
    }
    const c = countCrossings(current, segments);
    if (c < bestCrossings) {
      best = current;
      bestCrossings = c;
    }
  }

  const slots = new Map<string, Slot>();
  best.forEach((l, li) => l.forEach((n, order) => slots.set(n, { layer: li, order })));
  return {
    layers: best,
    slots,
    edges: chains.map((c) => ({
      from: c.edge.from,
      to: c.edge.to,
      via: c.chain.slice(1, -1).map((p) => slots.get(p)!),
      back: c.back,
    })),
    crossings: bestCrossings,
  };
}

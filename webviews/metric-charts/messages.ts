/** What the host posts: the runs and keys, series (whole or a zoomed range), live points, new runs. */
import type { ChartSeries, HostToWebviewMessage } from '../../src/protocol/webviews/metric-charts';
import { mergeRange, type RunPoints } from './data';
import { buildGrid, rebuildVisibleCharts, renderCard, showRuns } from './rendering';
import { answered, model, overview, requested, toPoints, zooms } from './store';

function addSeries(series: readonly ChartSeries[]): void {
  for (const s of series) {
    let byRun = overview.get(s.key);
    if (!byRun) {
      byRun = new Map();
      overview.set(s.key, byRun);
    }
    byRun.set(s.runId, toPoints(s));
  }
}

function onInit(m: Extract<HostToWebviewMessage, { type: 'init' }>): void {
  model.runs = [...m.runs];
  model.keys = [...m.keys];
  overview.clear();
  zooms.clear();
  requested.clear();
  answered.clear();
  addSeries(m.series);
  for (const s of m.series) {
    requested.add(s.key);
    answered.add(s.key);
  }
  showRuns();
  buildGrid();
}

function onSeries(m: Extract<HostToWebviewMessage, { type: 'series' }>): void {
  if (m.range) {
    const zoom = zooms.get(m.range.key);
    if (!zoom || zoom.requestId !== m.range.requestId) {
      return; // another zoom (or a reset) came after it
    }
    const base = overview.get(m.range.key) ?? new Map<string, RunPoints>();
    const merged = new Map(base);
    for (const s of m.series) {
      merged.set(s.runId, mergeRange(base.get(s.runId), toPoints(s), m.range.from, m.range.to));
    }
    zoom.points = merged;
    renderCard(m.range.key, false);
    return;
  }
  addSeries(m.series);
  for (const key of m.keys) {
    answered.add(key);
    renderCard(key, false);
  }
}

function concat(a: ArrayLike<number> | undefined, b: Float64Array): Float64Array {
  const out = new Float64Array((a?.length ?? 0) + b.length);
  if (a) {
    out.set(a);
  }
  out.set(b, a?.length ?? 0);
  return out;
}

function onAppend(m: Extract<HostToWebviewMessage, { type: 'append' }>): void {
  if (m.newKeys.length > 0) {
    model.keys = [...new Set([...model.keys, ...m.newKeys])].sort();
    buildGrid();
  }
  const touched = new Set<string>();
  for (const p of m.points) {
    const byRun = overview.get(p.key);
    if (!byRun && !answered.has(p.key)) {
      continue; // not loaded yet: it is fetched whole when it comes into view
    }
    const map = byRun ?? new Map<string, RunPoints>();
    overview.set(p.key, map);
    const old = map.get(p.runId);
    map.set(p.runId, {
      steps: concat(old?.steps, p.steps),
      times: concat(old?.times, p.times),
      values: concat(old?.values, p.values),
      total: (old?.total ?? 0) + p.steps.length,
    });
    touched.add(p.key);
  }
  for (const key of touched) {
    if (!zooms.has(key)) {
      renderCard(key, true);
    }
  }
}

export function onMessage(m: HostToWebviewMessage): void {
  switch (m.type) {
    case 'init':
      onInit(m);
      break;
    case 'series':
      onSeries(m);
      break;
    case 'append':
      onAppend(m);
      break;
    case 'runs':
      model.runs = [...m.runs];
      showRuns();
      rebuildVisibleCharts();
      break;
  }
}

/**
 * What a run's row in the Experiments view says (no vscode here, so it is unit-tested): what tells it
 * apart from its neighbours and its status first, then its key metrics, then when it ran; the
 * tooltip holds every value in full.
 */
import type { Experiment, MetricSummary } from '../../protocol/experiments';
import { formatDuration, formatFull, formatValue } from '../../protocol/number-format';
import { runLabels } from '../../protocol/run-label';

export type Grouping = 'name' | 'status';

/** Metrics shown on a row; the tooltip has all of them. */
export const ROW_METRICS = 3;

/** `loss 0.09349`: the last value in the one number format. */
export function formatMetric(m: MetricSummary): string {
  return `${m.key} ${formatValue(m.lastRaw)}`;
}

/** A date as short as still tells runs apart: `Jan 2, 03:04` (the year only when not this one). */
/** The formatters of shortDate, made once: `toLocaleString` with options makes one per call (~70 us). */
const dateFormats = new Map<boolean, Intl.DateTimeFormat>();

export function shortDate(iso: string, now = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return iso;
  }
  const withYear = d.getFullYear() !== now.getFullYear();
  let format = dateFormats.get(withYear);
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, {
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      ...(withYear ? { year: 'numeric' } : {}),
    });
    dateFormats.set(withYear, format);
  }
  return format.format(d);
}

export interface RunRowText {
  readonly label: string;
  readonly description: string;
}

/**
 * The label and description of each run (by id) of a list shown together: under a group of runs of
 * one name the label leaves the name out (the group says it) and a run alone in its group is named by
 * its start time; grouped by status the label is the whole run label.
 */
export function runRows(runs: readonly Experiment[], grouping: Grouping, now = new Date()): Map<string, RunRowText> {
  const labels = runLabels(runs);
  const out = new Map<string, RunRowText>();
  for (const run of runs) {
    let label = labels.get(run.id) ?? run.name;
    if (grouping === 'name') {
      label = label.startsWith(run.name) ? label.slice(run.name.length).trim() : label;
      if (label.length === 0) {
        label = shortDate(run.startedAt, now);
      }
    }
    const when = grouping === 'name' && label === shortDate(run.startedAt, now) ? '' : shortDate(run.startedAt, now);
    const description = [
      run.status,
      ...run.metrics.slice(0, ROW_METRICS).map(formatMetric),
      formatDuration(run.durationMs),
      when,
    ]
      .filter((s) => s.length > 0)
      .join(' · ');
    out.set(run.id, { label, description });
  }
  return out;
}

/** The tooltip's metric lines: every value in full. */
export function metricTooltipLine(m: MetricSummary): string {
  const full = (v: number | string | null) => (v === null ? '-' : typeof v === 'number' ? formatFull(v) : v);
  return `${m.key}: ${full(m.lastRaw)} · ${full(m.min)} · ${full(m.max)} · ${m.count}`;
}

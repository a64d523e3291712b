import { RUN_LIMITS } from '../../protocol/limits';
import { applyEvent, loggedModel } from './apply-event';
import { type MetricFields, scanMetricLine } from './line-scanner';
import { PointBuffer } from './metric-files';
import { rawOf } from './repository';
import { type ApplyLog, type Pending, type RunState, shown } from './run-state';
import { warn } from './run-warnings';

/** Corrupt lines and skipped points are logged one by one up to this many per pass, then counted. */
const MAX_WARNINGS_PER_PASS = 5;

/** What applying lines needs from outside: the log, and the metric files a new key gets. */
export interface ApplyHooks {
  readonly log: ApplyLog;
  /** a metric key got index `index`: a points file left there by a pass that never committed is emptied */
  readonly newKey: (runId: string, index: number) => void;
}

/**
 * Applies complete lines of events.jsonl (`text`, read at byte `offset`) to the run's state: metric
 * points into per-key point buffers (returned, by key) and key summaries, other events into the
 * record. `f` is scratch space reused from line to line (metric lines are the hot path).
 */
export function applyLines(
  state: RunState,
  text: string,
  offset: number,
  f: MetricFields,
  hooks: ApplyHooks,
): Map<string, Pending> {
  const { record, keys } = state;
  const log = hooks.log;
  const batch = new Map<string, Pending>();
  const warnings = { corrupt: 0, skipped: 0 };
  let start = 0;
  const length = text.length;
  while (start < length) {
    const nl = text.indexOf('\n', start);
    const lineEnd = nl < 0 ? length : nl;
    const end = lineEnd > start && text.charCodeAt(lineEnd - 1) === 13 ? lineEnd - 1 : lineEnd;
    let metric = scanMetricLine(text, start, end, f);
    if (!metric) {
      const line = text.slice(start, end);
      if (end - start >= RUN_LIMITS.lineBytes) {
        // a line over the limit that came whole within a chunk: skipped like one that did not
        record.corruptLines++;
        warn(
          state,
          `skipped a line of events.jsonl of ${end - start} characters at byte ${offset + Buffer.byteLength(text.slice(0, start))}: lines are limited to ${RUN_LIMITS.lineBytes} bytes`,
          log,
        );
      } else if (line.trim() !== '') {
        let event: unknown;
        try {
          event = JSON.parse(line);
        } catch {
          event = undefined;
        }
        const kind = applyEvent(state, event, f, log);
        if (kind === 'model') {
          state.models.push(
            loggedModel(record, event, `${record.id}@${offset + Buffer.byteLength(text.slice(0, start))}`),
          );
        }
        if (kind === 'metric') {
          metric = true;
        } else if (kind === 'corrupt') {
          record.corruptLines++;
          if (++warnings.corrupt <= MAX_WARNINGS_PER_PASS) {
            log.warn(
              `experiments: run ${record.id}: skipped a corrupt line of events.jsonl at byte ${offset + Buffer.byteLength(text.slice(0, start))}: ${line.slice(0, 120)}`,
            );
          }
        }
      }
    }
    if (metric) {
      if (!f.numeric || !f.stepValid || f.key === '') {
        record.skippedPoints++;
        if (++warnings.skipped <= MAX_WARNINGS_PER_PASS) {
          log.warn(
            `experiments: run ${record.id}: skipped a metric point of "${f.key}" whose ${f.numeric ? 'step' : 'value'} is not a number`,
          );
        }
      } else {
        let p = batch.get(f.key);
        if (!p) {
          let ks = keys.get(f.key);
          if (!ks && f.key.length > RUN_LIMITS.keyChars) {
            record.skippedPoints++;
            warn(
              state,
              `skipped the points of the metric ${shown(f.key)}: keys are limited to ${RUN_LIMITS.keyChars} characters`,
              log,
            );
            start = lineEnd + 1;
            continue;
          }
          if (!ks) {
            ks = { index: keys.size, count: 0, last: null, lastRaw: 0, lastStep: 0, min: null, max: null };
            keys.set(f.key, ks);
            hooks.newKey(record.id, ks.index);
          }
          p = { key: f.key, state: ks, points: new PointBuffer() };
          batch.set(f.key, p);
        }
        const ks = p.state;
        const step = f.step ?? (ks.count === 0 ? 0 : ks.lastStep + 1);
        const v = f.value;
        ks.count++;
        ks.lastStep = step;
        if (v - v === 0) {
          // finite
          ks.last = v;
          ks.lastRaw = v;
          if (ks.min === null || v < ks.min) {
            ks.min = v;
          }
          if (ks.max === null || v > ks.max) {
            ks.max = v;
          }
        } else {
          ks.lastRaw = rawOf(v);
        }
        p.points.push(step, Number.isNaN(f.time) ? Date.now() : f.time, v);
      }
    }
    start = lineEnd + 1;
  }
  const extra = (n: number, what: string) =>
    n > MAX_WARNINGS_PER_PASS &&
    log.warn(`experiments: run ${record.id}: ... and ${n - MAX_WARNINGS_PER_PASS} more ${what}`);
  extra(warnings.corrupt, 'corrupt lines');
  extra(warnings.skipped, 'non-numeric metric points');
  return batch;
}

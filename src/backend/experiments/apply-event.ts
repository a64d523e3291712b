import type { RunStatus } from '../../protocol/experiments';
import { cutText, RUN_LIMITS } from '../../protocol/limits';
import { type MetricFields, metricValue } from './line-scanner';
import type { RunRecord } from './repository';
import { type ApplyLog, jsonChars, type LoggedModel, type RunState, shown, STATUSES } from './run-state';
import { bounded, fits, keyFits, pathFits, warn } from './run-warnings';

/** What a parsed line was: a metric point (in the fields), a model to register, anything else, or junk. */
export type AppliedKind = 'metric' | 'model' | 'applied' | 'corrupt';

/**
 * Applies a parsed line that is not a fast-path metric to the run's state; `metric` fills `f` for
 * the caller. Every value is bounded (RUN_LIMITS): too long keys and paths are refused, too long
 * values cut, each with a warning in the run ('applied': nothing else to do).
 */
export function applyEvent(state: RunState, e: unknown, f: MetricFields, log: ApplyLog): AppliedKind {
  if (!e || typeof e !== 'object' || Array.isArray(e)) {
    return 'corrupt';
  }
  const ev = e as Record<string, unknown>;
  const logged = state.record.logged;
  const str = (v: unknown): v is string => typeof v === 'string';
  switch (ev.k) {
    case 'm': {
      if (!str(ev.key)) {
        return 'corrupt';
      }
      const v = metricValue(ev.v);
      f.key = ev.key;
      f.numeric = v !== undefined;
      f.value = v ?? NaN;
      f.step = typeof ev.s === 'number' ? ev.s : null;
      f.stepValid = ev.s === null || ev.s === undefined || (typeof ev.s === 'number' && Number.isFinite(ev.s));
      f.time = typeof ev.t === 'number' ? ev.t : NaN;
      return 'metric';
    }
    case 'param': {
      if (!str(ev.key)) {
        return 'corrupt';
      }
      if (!keyFits(state, log, 'param', ev.key)) {
        return 'applied';
      }
      const v = bounded(state, log, `the value of the param ${shown(ev.key)}`, ev.v, RUN_LIMITS.paramValueChars);
      const old = Object.prototype.hasOwnProperty.call(logged.params, ev.key) ? logged.params[ev.key] : undefined;
      const key = ev.key;
      const size = (x: unknown) => (x === undefined ? 0 : key.length + 4 + jsonChars(x));
      if (fits(state, log, `the param ${shown(ev.key)}`, size(v), size(old))) {
        logged.params[ev.key] = v;
      }
      return 'applied';
    }
    case 'tag': {
      if (!str(ev.key)) {
        return 'corrupt';
      }
      if (!keyFits(state, log, 'tag', ev.key)) {
        return 'applied';
      }
      if (ev.v === null) {
        // a deleted tag (MLflow's delete-tag): a tag of run.json stays, as the run's owner wrote it
        delete logged.tags[ev.key];
        return 'applied';
      }
      const v = String(
        bounded(state, log, `the value of the tag ${shown(ev.key)}`, String(ev.v), RUN_LIMITS.tagValueChars),
      );
      const old = Object.prototype.hasOwnProperty.call(logged.tags, ev.key) ? logged.tags[ev.key] : undefined;
      const key = ev.key;
      const size = (x: string | undefined) => (x === undefined ? 0 : key.length + 6 + x.length);
      if (fits(state, log, `the tag ${shown(ev.key)}`, size(v), size(old))) {
        logged.tags[ev.key] = v;
      }
      return 'applied';
    }
    case 'artifact': {
      if (!str(ev.path)) {
        return 'corrupt';
      }
      const source = str(ev.source) ? cutText(ev.source, RUN_LIMITS.pathChars) : '';
      if (
        pathFits(state, log, 'artifact', ev.path) &&
        fits(state, log, `the artifact ${shown(ev.path)}`, ev.path.length + source.length + 24)
      ) {
        logged.artifacts.push({ path: ev.path, source });
      }
      return 'applied';
    }
    case 'input': {
      if (!str(ev.dataset)) {
        return 'corrupt';
      }
      if (ev.dataset.length > RUN_LIMITS.nameChars) {
        warn(
          state,
          `refused the input ${shown(ev.dataset)}: dataset names are limited to ${RUN_LIMITS.nameChars} characters`,
          log,
        );
      } else if (fits(state, log, `the input ${shown(ev.dataset)}`, ev.dataset.length + 40)) {
        logged.inputs.push({ dataset: ev.dataset, version: typeof ev.version === 'number' ? ev.version : null });
      }
      return 'applied';
    }
    case 'output':
      if (!str(ev.path)) {
        return 'corrupt';
      }
      if (
        pathFits(state, log, 'output', ev.path) &&
        fits(state, log, `the output ${shown(ev.path)}`, ev.path.length + 3)
      ) {
        logged.outputs.push(ev.path);
      }
      return 'applied';
    case 'result': {
      const v = bounded(state, log, 'the result', ev.v ?? null, RUN_LIMITS.textChars);
      if (fits(state, log, 'the result', jsonChars(v), jsonChars(logged.result))) {
        logged.result = v;
      }
      return 'applied';
    }
    case 'model':
      // registered by the caller (IngestDeps.onModel); the file is an artifact, listed by its own event
      if (!str(ev.name) || !str(ev.path)) {
        return 'corrupt';
      }
      if (ev.name.length > RUN_LIMITS.nameChars) {
        warn(
          state,
          `refused the model ${shown(ev.name)}: names are limited to ${RUN_LIMITS.nameChars} characters`,
          log,
        );
        return 'applied';
      }
      return pathFits(state, log, 'model file', ev.path) ? 'model' : 'applied';
    case 'warning':
      // a client's warning about what it was asked to log (a value it cut, ...)
      if (str(ev.message)) {
        warn(state, cutText(ev.message, RUN_LIMITS.textChars), log);
      }
      return 'applied';
    case 'status':
      if (!str(ev.status) || !STATUSES.has(ev.status)) {
        return 'corrupt';
      }
      logged.final = {
        status: ev.status as RunStatus,
        exitCode: typeof ev.exitCode === 'number' ? ev.exitCode : null,
        t: typeof ev.t === 'number' ? ev.t : Date.now(),
      };
      return 'applied';
    default:
      // a kind from a newer client: not an error, nothing to keep
      return str(ev.k) ? 'applied' : 'corrupt';
  }
}

/** The model to register for a `model` event that applyEvent accepted; `key` says which line it was. */
export function loggedModel(record: RunRecord, event: unknown, key: string): LoggedModel {
  const e = event as {
    name: string;
    path: string;
    entryPoint?: unknown;
    description?: unknown;
    tags?: unknown;
  };
  const tags = Array.isArray(e.tags) ? e.tags.filter((t): t is string => typeof t === 'string') : [];
  return {
    runId: record.id,
    projectId: record.projectId,
    runDir: record.dir,
    name: e.name,
    path: e.path,
    entryPoint: typeof e.entryPoint === 'string' ? cutText(e.entryPoint, RUN_LIMITS.nameChars) : null,
    description: typeof e.description === 'string' ? cutText(e.description, RUN_LIMITS.textChars) : '',
    tags: tags.slice(0, RUN_LIMITS.listItems).map((t) => cutText(t, RUN_LIMITS.nameChars)),
    key,
  };
}
